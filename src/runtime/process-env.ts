/**
 * Process-level settings that make onnxruntime-node train faster on Linux, and that only work from process start.
 *
 * onnxruntime-node hands every output back in a freshly allocated buffer — even an output written in place into a
 * pre-allocated or input tensor passed in `fetches` is copied into a new one (measured with onnxruntime-node 1.30:
 * the returned tensor is never the one passed in). glibc serves blocks above its mmap threshold (at most 32 MiB
 * by default, dynamically raised below that) with mmap and returns them to the OS on free, so a training step whose
 * outputs include large parameters and optimizer moments page-faults all of them in afresh every step; on
 * virtualised machines where a page fault is expensive that dominates the step (bench: the AdamW step on 1e7
 * params went from ~50x to ~6x the memory-bandwidth bound). glibc reads these variables once, at start-up, so a
 * running process cannot change them: the CLI restarts itself with them set (src/cli/reexec.ts), library users
 * set them when they start node.
 */
import { OnnxTrainError } from '../errors.js';

/** The glibc malloc variables and the values onnx-train uses (4 GiB: freed blocks stay in the process). */
export const MALLOC_TUNING: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '4294967296',
  MALLOC_TRIM_THRESHOLD_: '4294967296',
};

/** `default` keeps glibc's defaults (the CLI then does not restart for them); `tuned` (or unset) applies them. */
export const MALLOC_OPT_OUT = 'ONNX_TRAIN_MALLOC';

/** The glibc version of this process, or undefined (not Linux, or musl). */
export function glibcVersion(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}

/**
 * The variables to add for {@link MALLOC_TUNING}, or undefined when nothing is to be done: not glibc (`glibc` null), the user set
 * either variable (their choice wins), or opted out with ONNX_TRAIN_MALLOC=default.
 */
export function mallocTuningFix(env: NodeJS.ProcessEnv = process.env, glibc: string | null = glibcVersion() ?? null): Record<string, string> | undefined {
  if (!glibc) return undefined;
  const choice = env[MALLOC_OPT_OUT];
  if (choice !== undefined && choice !== '' && choice !== 'default' && choice !== 'tuned') {
    throw new OnnxTrainError('BAD_ARGUMENT', `${MALLOC_OPT_OUT}="${choice}" is not a known setting`, `set ${MALLOC_OPT_OUT}=tuned (the default) or ${MALLOC_OPT_OUT}=default (keep glibc's malloc defaults)`);
  }
  if (choice === 'default') return undefined;
  if (Object.keys(MALLOC_TUNING).some((k) => env[k] !== undefined)) return undefined;
  return { ...MALLOC_TUNING };
}
