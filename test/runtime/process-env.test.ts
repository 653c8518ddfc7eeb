import test from 'ava';
import * as path from 'node:path';
import { runtimeEnvFix, restartForRuntime } from '../../src/cli/commands/train.js';
import type { CliContext } from '../../src/cli/command.js';
import { OnnxTrainError } from '../../src/errors.js';
import { MALLOC_TUNING, glibcVersion, mallocTuningFix } from '../../src/runtime/process-env.js';
import { REPO, runNode } from '../cli/helpers.js';

const GLIBC = '2.36';

test('malloc tuning › glibc, nothing set › both thresholds', (t) => {
  t.deepEqual(mallocTuningFix({}, GLIBC), { ...MALLOC_TUNING });
  t.deepEqual(Object.keys(MALLOC_TUNING).sort(), ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']);
  t.deepEqual(mallocTuningFix({ ONNX_TRAIN_MALLOC: 'tuned' }, GLIBC), { ...MALLOC_TUNING });
});

test('malloc tuning › the user\'s own setting, opt-out, or no glibc › nothing to add', (t) => {
  t.is(mallocTuningFix({ MALLOC_MMAP_THRESHOLD_: '131072' }, GLIBC), undefined);
  t.is(mallocTuningFix({ MALLOC_TRIM_THRESHOLD_: '0' }, GLIBC), undefined);
  t.is(mallocTuningFix({ ONNX_TRAIN_MALLOC: 'default' }, GLIBC), undefined);
  t.is(mallocTuningFix({}, null), undefined);
});

test('malloc tuning › unknown ONNX_TRAIN_MALLOC value › BAD_ARGUMENT naming the valid ones', (t) => {
  const e = t.throws(() => mallocTuningFix({ ONNX_TRAIN_MALLOC: 'fast' }, GLIBC), { instanceOf: OnnxTrainError });
  t.is(e?.code, 'BAD_ARGUMENT');
  t.regex(e!.message, /ONNX_TRAIN_MALLOC="fast"/);
  t.regex(e!.message, /tuned.*default/);
});

test('runtime env › onnxruntime-node EPs get the malloc tuning, wasm does not', (t) => {
  for (const ep of ['cpu', 'cuda']) t.deepEqual(runtimeEnvFix(ep, {}, GLIBC), { ...MALLOC_TUNING }, ep);
  t.is(runtimeEnvFix('wasm', {}, GLIBC), undefined);
  t.is(runtimeEnvFix('cpu', { ONNX_TRAIN_MALLOC: 'default' }, GLIBC), undefined);
  // webgpu: whatever the Vulkan fix needs from process start, plus the tuning.
  t.like(runtimeEnvFix('webgpu', { VK_ICD_FILENAMES: '/x.json' }, GLIBC), { ...MALLOC_TUNING });
});

test('runtime env › the CLI restarts once with the variables, and not when nothing is needed', async (t) => {
  const seen: Record<string, string>[] = [];
  const ctx: CliContext = { argv: ['train'], reexec: async (env) => { seen.push({ ...env }); return 7; } };
  const want = runtimeEnvFix('cpu');
  const code = await restartForRuntime('cpu', ctx);
  if (want) {
    t.is(code, 7);
    t.deepEqual(seen, [want]);
  } else {
    t.is(code, undefined);
    t.deepEqual(seen, []);
  }
  t.is(await restartForRuntime('cpu', { argv: ['train'] }), undefined, 'no way to restart: go on in-process');
});

const FIXTURE = path.join(REPO, 'test', 'runtime', 'fixtures', 'output-faults.ts');

test('malloc tuning › stops onnxruntime-node output buffers being faulted in afresh on every run', async (t) => {
  if (!glibcVersion()) {
    t.log('not a glibc process: the tuning does not apply here');
    t.pass();
    return;
  }
  const clean = { MALLOC_MMAP_THRESHOLD_: undefined, MALLOC_TRIM_THRESHOLD_: undefined, ONNX_TRAIN_MALLOC: undefined };
  const run = async (env: NodeJS.ProcessEnv) => {
    const r = await runNode(FIXTURE, [], env);
    t.is(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { perRun: number[]; faultsPerRun: number; pagesPerOutput: number; y: number; wantY: number; tuned: boolean };
  };
  const plain = await run(clean);
  const tuned = await run({ ...clean, ...MALLOC_TUNING });
  t.log(`faults per run: glibc defaults ${plain.faultsPerRun}, tuned ${tuned.faultsPerRun} (output = ${plain.pagesPerOutput} pages)`);
  t.false(plain.tuned);
  t.true(tuned.tuned);
  t.is(plain.y, plain.wantY);
  t.is(tuned.y, tuned.wantY);
  // With glibc's defaults the 64 MiB output comes back in a fresh mmap'd buffer every run: every page faults.
  const afresh = (r: typeof plain) => r.perRun.filter((f) => f >= 0.9 * r.pagesPerOutput).length;
  t.is(afresh(plain), plain.perRun.length, `glibc defaults: faults per run ${plain.perRun.join(', ')}`);
  // Tuned, freed buffers stay in the process and are reused. (The heap may still grow by a buffer once or twice
  // while V8 has not yet collected earlier outputs; never every run.)
  t.true(afresh(tuned) <= 2, `tuned: faults per run ${tuned.perRun.join(', ')}`);
  t.true(tuned.faultsPerRun <= 0.25 * plain.pagesPerOutput, `tuned: mean ${tuned.faultsPerRun} faults per run`);
});
