/**
 * `onnx-train train <artifacts folder> --data … [options]`: the training loop of src/runtime/trainer.ts for a
 * user's artifacts — an original onnxruntime-training folder (augmented first, into `<output-dir>/artifacts`, with
 * the transformers-style optimizer options) or an already augmented one — on data from .npy / .safetensors / .json
 * files, with a progress bar, periodic evaluation, a checkpoint, an inference export, a loss/lr plot and
 * metrics.json. `--resume <checkpoint>` continues exactly: step, parameters, optimizer state, learning rate and
 * the position in the (seeded) data order all come back, so N steps in one go equal N/2 + resume + N/2.
 *
 * Also exports {@link runTrainingJob}, which `onnx-train demo` (npm start) runs on MNIST.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxTrainError } from '../../errors.js';
import { getScheduler, valueAt, SCHEDULER_TYPES, type ScheduleSpec } from '../../ops/schedules/index.js';
import { NodeEngine } from '../../runtime/adapters/node.js';
import type { ExecutionProvider, HostTensor } from '../../runtime/engine.js';
import { EXECUTION_PROVIDERS } from '../../runtime/engines.js';
import { TrainingSession, loadArtifactsFolder } from '../../runtime/node.js';
import { BatchSampler, batchFeeds, datasetFromArrays, readDataFile, sequentialBatches, type InputSpec, type LoadedArray, type TensorDataset } from '../../runtime/data/tabular.js';
import { countCorrect, evaluate, train, type EvalLog, type EvalMetrics, type TrainLog } from '../../runtime/trainer.js';
import { isAugmentedFolder } from '../../transforms/artifacts.js';
import { HF_OPTIMIZERS, type AugmentOptions } from '../../transforms/augment.js';
import type { Manifest } from '../../transforms/manifest.js';
import { OPTIMIZER_TYPES } from '../../ops/optim/spec.js';
import { webgpuEnvFix } from '../../runtime/adapters/webgpu-env.js';
import { glibcVersion, mallocTuningFix } from '../../runtime/process-env.js';
import { defineCommand, processIO, type CliContext, type CliIO } from '../command.js';
import { isReexec } from '../reexec.js';
import { renderTrainingPlot } from '../plot.js';
import { ProgressBar, formatDuration } from '../progress.js';
import { augmentFolder, parseKeyValues } from './augment.js';
import { exportFolder } from './export.js';

/** Checkpoint property: index of the next training micro-batch (so a resumed run continues the data order). */
export const DATA_CURSOR_PROPERTY = 'trainer.next_micro_batch';

/** transformers-style optimizer/schedule options; applied by augment (original artifacts) or on the host. */
export interface HfTrainOptions {
  readonly optim?: string;
  readonly learningRate?: number;
  readonly weightDecay?: number;
  readonly adamBeta1?: number;
  readonly adamBeta2?: number;
  readonly adamEpsilon?: number;
  readonly lrSchedulerType?: string;
  readonly warmupSteps?: number;
  readonly warmupRatio?: number;
  readonly maxGradNorm?: number;
  readonly optimArgs?: Readonly<Record<string, unknown>>;
}

/** Everything a training run needs (the CLI flags, parsed). */
export interface TrainJob {
  /** Original ORT artifacts folder or augmented folder. */
  readonly artifacts: string;
  readonly outputDir: string;
  readonly hf: HfTrainOptions;
  /** Total optimizer updates (max_steps); default from `epochs`. */
  readonly steps?: number;
  /** Stop after this step (checkpoint saved) without changing `steps` (the schedule's length): train in sessions. */
  readonly stopAt?: number;
  /** num_train_epochs, used when `steps` is absent (default 3, as transformers). */
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly evalBatchSize?: number;
  readonly gradientAccumulationSteps?: number;
  readonly evalEvery?: number;
  readonly saveEvery?: number;
  readonly train: readonly LoadedArray[];
  readonly evalData?: readonly LoadedArray[];
  /** Name of the evaluation split in messages ("eval", "test"). */
  readonly evalName?: string;
  readonly resume?: string;
  readonly ep: ExecutionProvider;
  readonly threads?: number;
  readonly seed: number;
  readonly title?: string;
  /** Also run the exported inference model on the eval data and report its accuracy. */
  readonly checkExport?: boolean;
}

export interface TrainSummary {
  readonly steps: number;
  readonly runSteps: number;
  readonly trainSeconds: number;
  readonly wallSeconds: number;
  readonly samplesPerSecond: number;
  readonly firstLoss: number | undefined;
  readonly finalLoss: number | undefined;
  readonly eval: EvalMetrics | undefined;
  readonly exportAccuracy: number | undefined;
  readonly optimizer: string;
  readonly schedule: string;
  readonly ep: ExecutionProvider;
  readonly files: { readonly artifacts: string; readonly checkpoint: string; readonly model: string; readonly plot: string; readonly metrics: string };
}

interface HistoryFile {
  history: { step: number; loss: number; lr: number }[];
  evals: EvalLog[];
}

/** Runs a whole job: augment (when needed), train with a progress bar, evaluate, save, export, plot. */
export async function runTrainingJob(job: TrainJob, io: CliIO, opts: { tty?: boolean; quiet?: boolean } = {}): Promise<TrainSummary> {
  const wall0 = performance.now();
  const k = job.gradientAccumulationSteps ?? 1;
  const out = path.resolve(job.outputDir);
  fs.mkdirSync(out, { recursive: true });
  const files = {
    artifacts: path.join(out, 'artifacts'),
    checkpoint: path.join(out, 'checkpoint'),
    model: path.join(out, 'model.onnx'),
    plot: path.join(out, 'plot.svg'),
    metrics: path.join(out, 'metrics.json'),
  };
  const note = (m: string) => { if (!opts.quiet) io.err(`${m}\n`); };

  // --- steps (the schedule needs them before augmenting)
  const trainCount = job.train[0]?.tensor.dims[0];
  if (!trainCount) throw new OnnxTrainError('BAD_ARGUMENT', 'no training data', 'pass --data <file>');
  let batchSize = job.batchSize;
  const steps = job.steps ?? (() => {
    const bs = batchSize ?? 32;
    const perEpoch = Math.max(1, Math.floor(trainCount / bs));
    return Math.max(1, Math.ceil(((job.epochs ?? 3) * perEpoch) / k));
  })();
  const warmupSteps = job.hf.warmupSteps ?? (job.hf.warmupRatio !== undefined ? Math.ceil(steps * job.hf.warmupRatio) : undefined);

  // --- artifacts: augment an original folder; an augmented one is used as it is
  let folder: string;
  const augmented = isAugmentedFolder(path.resolve(job.artifacts));
  if (augmented) {
    const baked = (['optim', 'weightDecay', 'adamBeta1', 'adamBeta2', 'adamEpsilon', 'maxGradNorm', 'optimArgs'] as const).filter((x) => job.hf[x] !== undefined);
    if (baked.length) {
      throw new OnnxTrainError('BAD_ARGUMENT', `${job.artifacts} is already augmented, so its optimizer is fixed; ${baked.map(flagOf).join(', ')} cannot change it`,
        'pass the original onnxruntime-training artifacts folder (it is augmented with these options), or re-run "onnx-train augment"');
    }
    folder = path.resolve(job.artifacts);
  } else {
    const t0 = performance.now();
    const r = await augmentFolder(job.artifacts, {
      out: files.artifacts,
      overwrite: true,
      seed: job.seed,
      optimizer: job.hf.optim as AugmentOptions['optimizer'],
      learningRate: job.hf.learningRate,
      weightDecay: job.hf.weightDecay,
      adamBeta1: job.hf.adamBeta1,
      adamBeta2: job.hf.adamBeta2,
      adamEpsilon: job.hf.adamEpsilon,
      lrSchedulerType: job.hf.lrSchedulerType,
      warmupSteps: job.hf.lrSchedulerType ? warmupSteps : undefined,
      numTrainingSteps: job.hf.lrSchedulerType ? steps : undefined,
      maxGradNorm: job.hf.maxGradNorm,
      optimArgs: job.hf.optimArgs,
      onWarning: (m) => note(`note: ${m}`),
    });
    folder = r.folder;
    note(`augmented ${rel(path.resolve(job.artifacts))} -> ${rel(folder)} (${String(r.manifest.optimizer.spec.type)}${r.manifest.optimizer.schedule ? ` + ${String(r.manifest.optimizer.schedule.type)} schedule` : ''}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  // --- session (from the resume checkpoint when given)
  const bundle = await loadArtifactsFolder(folder, job.resume ? path.resolve(job.resume) : undefined);
  const session = await TrainingSession.fromBundleNode(bundle, {
    executionProviders: [job.ep], intraOpNumThreads: job.threads, gradientAccumulation: 'mean',
  });
  try {
    const m = session.manifest;
    const start = Number(session.step);
    const until = Math.min(steps, job.stopAt ?? steps);
    if (job.resume && start >= until) {
      throw new OnnxTrainError('BAD_ARGUMENT', `the checkpoint is at step ${start}, which is not before ${job.stopAt !== undefined && until === job.stopAt ? `--stop-at ${until}` : `--steps ${steps}`}`, 'pass a larger --steps to train further', job.resume);
    }

    // --- learning rate: in-graph schedule, host-side schedule, or a constant
    const { lrAt, scheduleName } = setUpLearningRate(session, m, job, steps, warmupSteps, augmented, note);

    // --- data
    const inputs: InputSpec[] = m.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.shape }));
    const trainDs = datasetFromArrays(job.train, inputs, 'training data');
    const staticBatch = typeof m.inputs[0]?.shape[0] === 'number' ? (m.inputs[0].shape[0] as number) : undefined;
    if (staticBatch !== undefined && batchSize !== undefined && batchSize !== staticBatch) {
      throw new OnnxTrainError('BAD_ARGUMENT', `the model's batch dimension is fixed at ${staticBatch}, --batch-size is ${batchSize}`, `pass --batch-size ${staticBatch} (or re-export the model with a dynamic batch axis)`);
    }
    batchSize ??= staticBatch ?? 32;
    const sampler = new BatchSampler(trainDs.count, batchSize, { seed: job.seed });
    const evalDs = job.evalData?.length ? datasetFromArrays(job.evalData, inputs, `${job.evalName ?? 'eval'} data`) : undefined;
    if (job.evalEvery && !evalDs) throw new OnnxTrainError('BAD_ARGUMENT', '--eval-every needs evaluation data', 'pass --eval-data <file> (and --eval-labels)');
    const evalBatch = staticBatch ?? job.evalBatchSize ?? Math.max(batchSize, 256);
    const runEval = async (): Promise<EvalMetrics> => {
      const batches = staticBatch !== undefined ? fixedBatches(evalDs!, staticBatch) : sequentialBatches(evalDs!, evalBatch);
      return evaluate(session, batches);
    };

    // --- history of earlier runs (resume), so the plot and metrics cover the whole training
    const earlier = job.resume ? readHistory(path.join(path.dirname(path.resolve(job.resume)), 'metrics.json'), start) : { history: [], evals: [] };
    const cursor = session.properties[DATA_CURSOR_PROPERTY];
    const firstMicroBatch = cursor !== undefined ? Number(cursor) : start * k;

    note(`training ${rel(folder)} on ${job.ep}: ${until - start} step(s)${start ? ` (resuming at ${start} of ${steps})` : ''}${until < steps ? ` (stopping at ${until} of ${steps})` : ''}, batch ${batchSize}${k > 1 ? ` × ${k} accumulated` : ''}, ${trainDs.count} samples (${sampler.batchesPerEpoch} batches per epoch), optimizer ${String(m.optimizer.spec.type)}, lr ${scheduleName}`);
    const tty = opts.tty ?? (io === processIO && !!process.stderr.isTTY);
    const bar = new ProgressBar({ write: (t) => { if (!opts.quiet) io.err(t); }, tty, startStep: start });
    const fmtEval = (e: EvalLog) => `${job.evalName ?? 'eval'} at step ${e.step}: loss ${e.metrics.loss.toFixed(4)}${e.metrics.accuracy !== undefined ? `, accuracy ${pct(e.metrics.accuracy)}` : ''}`;
    const saveCheckpoint = async (nextMicroBatch: number) => {
      session.properties[DATA_CURSOR_PROPERTY] = BigInt(nextMicroBatch);
      await session.saveCheckpoint(files.checkpoint);
    };
    const result = await train({
      session,
      trainBatches: (i) => batchFeeds(trainDs, sampler, i),
      steps: until,
      gradientAccumulationSteps: k,
      evalEvery: job.evalEvery,
      evalFn: evalDs ? runEval : undefined,
      lrAt,
      firstMicroBatch,
      onLog: async (l: TrainLog) => {
        bar.update({ step: l.step, total: until, loss: l.loss, lr: l.lr, samplesPerSecond: l.samplesPerSecond, etaSeconds: l.etaSeconds });
        if (job.saveEvery && l.step % job.saveEvery === 0 && l.runStep < l.runSteps) await saveCheckpoint(firstMicroBatch + l.runStep * k);
      },
      onEval: (e) => bar.note(fmtEval(e)),
    });
    bar.done();
    const evals = [...earlier.evals, ...result.evals];
    let final: EvalMetrics | undefined;
    if (evalDs) {
      const lastEval = result.evals[result.evals.length - 1];
      final = lastEval && lastEval.step === result.step ? lastEval.metrics : await runEval();
      if (!lastEval || lastEval.step !== result.step) evals.push({ step: result.step, metrics: final });
    }

    // --- outputs
    await saveCheckpoint(result.nextMicroBatch);
    const exported = await exportFolder(folder, files.model, { checkpoint: files.checkpoint });
    let exportAccuracy: number | undefined;
    if (job.checkExport && evalDs) exportAccuracy = await inferenceAccuracy(files.model, evalDs, exported.outputs);
    const history = [...earlier.history, ...result.history.map((h) => ({ step: h.step, loss: h.loss, lr: h.lr }))];
    writeTextAtomic(files.plot, renderTrainingPlot(history, evals.map((e) => ({ step: e.step, loss: e.metrics.loss, accuracy: e.metrics.accuracy })),
      { title: job.title ?? `${path.basename(path.resolve(job.artifacts))}: ${String(m.optimizer.spec.type)}, ${scheduleName}`, evalLabel: `${job.evalName ?? 'eval'} loss` }));
    const summary: TrainSummary = {
      steps: result.step,
      runSteps: result.runSteps,
      trainSeconds: result.trainSeconds,
      wallSeconds: (performance.now() - wall0) / 1000,
      samplesPerSecond: result.trainSeconds > 0 ? result.samples / result.trainSeconds : 0,
      firstLoss: history[0]?.loss,
      finalLoss: meanTail(history.map((h) => h.loss), Math.max(1, Math.min(20, Math.ceil(history.length / 20)))),
      eval: final,
      exportAccuracy,
      optimizer: String(m.optimizer.spec.type),
      schedule: scheduleName,
      ep: job.ep,
      files: { ...files, artifacts: folder },
    };
    const { files: written, ...numbers } = summary;
    const metrics = {
      summary: numbers,
      config: {
        artifacts: path.resolve(job.artifacts), steps, batchSize, gradientAccumulationSteps: k, seed: job.seed, ep: job.ep,
        optimizer: m.optimizer.spec, schedule: m.optimizer.schedule, maxGradNorm: m.optimizer.maxGradNorm, resumedFrom: job.resume ? path.resolve(job.resume) : null,
      },
      files: written,
      history,
      evals,
    };
    writeTextAtomic(files.metrics, `${JSON.stringify(metrics, null, 2)}\n`);
    return summary;
  } finally {
    await session.release();
  }
}

function setUpLearningRate(session: TrainingSession, m: Manifest, job: TrainJob, steps: number, warmupSteps: number | undefined, augmented: boolean, note: (s: string) => void): { lrAt: (completed: number) => number; scheduleName: string } {
  const inGraph = m.optimizer.schedule as unknown as ScheduleSpec | null;
  if (inGraph) {
    if (augmented && (job.hf.lrSchedulerType !== undefined || job.hf.learningRate !== undefined || warmupSteps !== undefined)) {
      throw new OnnxTrainError('BAD_ARGUMENT', `the folder's learning-rate schedule (${String(inGraph.type)}) is part of its graphs`, 'drop --learning-rate/--lr-scheduler-type/--warmup-*, or augment the original artifacts again');
    }
    const T = (inGraph as { num_training_steps?: number }).num_training_steps;
    if (T !== undefined && T !== steps) note(`note: the in-graph ${String(inGraph.type)} schedule spans ${T} steps; training runs to step ${steps}`);
    return { lrAt: (s) => valueAt(inGraph, s), scheduleName: scheduleLabel(inGraph) };
  }
  if (m.optimizer.lrInput === null) return { lrAt: () => session.getLearningRate(), scheduleName: 'none (the optimizer has no learning rate)' };
  // The lr is an input: a schedule given on the command line runs on the host (an augmented folder without one).
  const base = job.hf.learningRate ?? m.optimizer.lr;
  if (job.hf.lrSchedulerType !== undefined) {
    const spec = getScheduler(job.hf.lrSchedulerType, { baseLr: base, numWarmupSteps: warmupSteps ?? 0, numTrainingSteps: steps, onWarning: (w) => note(`note: ${w}`) });
    if (spec.type === 'reduce_lr_on_plateau') {
      throw new OnnxTrainError('BAD_ARGUMENT', 'reduce_lr_on_plateau is not supported by the train command', 'use the runtime API (ReduceLROnPlateau in src/runtime/host) or another schedule');
    }
    session.setSchedule((s) => valueAt(spec, Number(s)));
    return { lrAt: (s) => valueAt(spec, s), scheduleName: `${scheduleLabel(spec)} (host)` };
  }
  if (job.hf.learningRate !== undefined) session.setLearningRate(job.hf.learningRate);
  return { lrAt: () => session.getLearningRate(), scheduleName: `constant ${session.getLearningRate().toExponential(2)}` };
}

function scheduleLabel(s: ScheduleSpec): string {
  const r = s as unknown as Record<string, unknown>;
  const lr = typeof r.base_lr === 'number' ? r.base_lr : typeof r.init_lr === 'number' ? r.init_lr : typeof r.initial_learning_rate === 'number' ? r.initial_learning_rate : undefined;
  const w = typeof r.num_warmup_steps === 'number' && r.num_warmup_steps > 0 ? `, warmup ${r.num_warmup_steps}` : '';
  return `${String(s.type)}${lr !== undefined ? ` ${lr.toExponential(2)}` : ''}${w}`;
}

/** Writes through a temp file + rename, so a crash never leaves a half-written file. */
function writeTextAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function* fixedBatches(ds: TensorDataset, b: number): Generator<Record<string, HostTensor>> {
  for (let s = 0; s + b <= ds.count; s += b) yield ds.slice(s, s + b);
}

/** Top-1 accuracy of the exported model on `ds` (its first output as logits, the int label input as labels). */
async function inferenceAccuracy(model: string, ds: TensorDataset, outputs: readonly string[]): Promise<number | undefined> {
  const s = await new NodeEngine('cpu').load(new Uint8Array(fs.readFileSync(model)));
  try {
    const labelName = [...ds.tensors.entries()].find(([n, t]) => (t.type === 'int64' || t.type === 'int32') && t.dims.length === 1 && !s.inputNames.includes(n))?.[0];
    if (!labelName || outputs.length === 0) return undefined;
    let hits = 0;
    for (const b of sequentialBatches(ds, 512)) {
      const feeds: Record<string, HostTensor> = {};
      for (const n of s.inputNames) feeds[n] = b[n];
      const o = await s.run(feeds, [outputs[0]]);
      const logits = o[outputs[0]];
      if (logits.dims.length !== 2) return undefined;
      hits += countCorrect(logits, b[labelName]);
    }
    return hits / ds.count;
  } finally {
    await s.release();
  }
}

function readHistory(file: string, upTo: number): HistoryFile {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<HistoryFile>;
    return {
      history: (j.history ?? []).filter((h) => h.step <= upTo),
      evals: (j.evals ?? []).filter((e) => e.step <= upTo),
    };
  } catch {
    return { history: [], evals: [] };
  }
}

function meanTail(xs: readonly number[], n: number): number | undefined {
  if (!xs.length) return undefined;
  const t = xs.slice(-n);
  return t.reduce((a, b) => a + b, 0) / t.length;
}

function flagOf(k: string): string {
  return `--${k === 'optim' ? 'optim' : k.replace(/[A-Z0-9]/g, (c) => `-${c.toLowerCase()}`).replace(/-(\d)/, '$1')}`;
}

export const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/** Path relative to the working directory when inside it. */
export function rel(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
}

/** The "where everything went" lines printed at the end of `train` and `demo`. */
export function formatSummary(s: TrainSummary, evalName = 'eval'): string {
  const lines = [
    `trained to step ${s.steps} (${s.runSteps} step(s) in ${formatDuration(s.trainSeconds)}, ${Math.round(s.samplesPerSecond)} samples/s on ${s.ep}); loss ${s.firstLoss?.toFixed(4) ?? '?'} -> ${s.finalLoss?.toFixed(4) ?? '?'}`,
  ];
  if (s.eval) lines.push(`${evalName} loss ${s.eval.loss.toFixed(4)}${s.eval.accuracy !== undefined ? `, ${evalName} accuracy ${pct(s.eval.accuracy)}` : ''} (${s.eval.samples} samples)`);
  const rows: [string, string][] = [
    ['augmented artifacts', rel(s.files.artifacts)],
    ['checkpoint', rel(s.files.checkpoint)],
    ['inference model', `${rel(s.files.model)}${s.exportAccuracy !== undefined ? `  (accuracy ${pct(s.exportAccuracy)} on the ${evalName} set)` : ''}`],
    ['loss/lr plot', rel(s.files.plot)],
    ['metrics', rel(s.files.metrics)],
  ];
  lines.push('outputs:', ...rows.map(([a, b]) => `  ${a.padEnd(20)} ${b}`));
  return `${lines.join('\n')}\n`;
}

/**
 * The environment a training run on `ep` wants from process start, or undefined when this process already has it:
 * - `--ep webgpu` on Linux without a GPU driver runs on SwiftShader, which needs LD_LIBRARY_PATH (see
 *   runtime/adapters/webgpu-env.ts);
 * - onnxruntime-node EPs on glibc get the malloc thresholds of runtime/process-env.ts (every step's outputs come
 *   back in fresh buffers; with glibc's defaults large ones are page-faulted in afresh each step).
 */
export function runtimeEnvFix(ep: string, env: NodeJS.ProcessEnv = process.env, glibc: string | null = glibcVersion() ?? null): Record<string, string> | undefined {
  const add: Record<string, string> = {};
  if (ep === 'webgpu') {
    const fix = webgpuEnvFix(env);
    if (fix?.needsRestart) Object.assign(add, fix.env);
  }
  if (ep !== 'wasm') Object.assign(add, mallocTuningFix(env, glibc) ?? {});
  return Object.keys(add).length ? add : undefined;
}

/**
 * Restarts the command with {@link runtimeEnvFix}'s variables when it has any (once: a restarted process never
 * restarts again). Returns the restarted run's exit code, or undefined to go on in this process.
 */
export async function restartForRuntime(ep: string, ctx: CliContext): Promise<number | undefined> {
  if (isReexec() || !ctx.reexec) return undefined;
  const env = runtimeEnvFix(ep);
  return env ? ctx.reexec(env) : undefined;
}

// ----------------------------------------------------------------------------------------- flags

/** Parses a numeric flag; undefined when absent. */
export function num(flag: string, v: string | undefined, o: { int?: boolean; min?: number; max?: number; command?: string } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (o.int && !Number.isInteger(n)) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
    const range = o.min !== undefined && o.max !== undefined ? ` in [${o.min}, ${o.max}]` : o.min !== undefined ? ` ≥ ${o.min}` : '';
    throw new OnnxTrainError('BAD_ARGUMENT', `--${flag} needs ${o.int ? 'an integer' : 'a number'}${range} (got "${v}")`, `run "onnx-train ${o.command ?? 'train'} --help" for usage`);
  }
  return n;
}

export const OPTIM_CHOICES = [...new Set([...HF_OPTIMIZERS, ...OPTIMIZER_TYPES])];
export const SCHEDULE_CHOICES = SCHEDULER_TYPES.filter((s) => s !== 'reduce_lr_on_plateau');

/** Flags shared by `train` and `demo` (HF TrainingArguments names). */
export const HF_FLAGS = {
  optim: { type: 'string', description: 'optimizer (transformers TrainingArguments.optim names; adamw = transformers AdamW)', choices: OPTIM_CHOICES },
  'learning-rate': { type: 'string', description: 'base learning rate', placeholder: 'lr' },
  'lr-scheduler-type': { type: 'string', description: 'learning-rate schedule (transformers SchedulerType)', choices: SCHEDULE_CHOICES },
  'warmup-steps': { type: 'string', description: 'linear warmup steps (overrides --warmup-ratio)', placeholder: 'n' },
  'warmup-ratio': { type: 'string', description: 'warmup as a fraction of the steps (ceil(ratio × steps))', placeholder: 'r' },
  'weight-decay': { type: 'string', description: 'weight decay', placeholder: 'wd' },
  'adam-beta1': { type: 'string', description: 'Adam β1', placeholder: 'b1' },
  'adam-beta2': { type: 'string', description: 'Adam β2', placeholder: 'b2' },
  'adam-epsilon': { type: 'string', description: 'Adam ε', placeholder: 'eps' },
  'max-grad-norm': { type: 'string', description: 'clip gradients by global norm (in-graph; default: no clipping)', placeholder: 'norm' },
  'optim-args': { type: 'string[]', description: 'extra optimizer arguments key=value (transformers optim_args)', placeholder: 'k=v' },
  'gradient-accumulation-steps': { type: 'string', description: 'micro-batches per update (mean of their gradients, as transformers)', placeholder: 'k', default: '1' },
  steps: { type: 'string', description: 'total optimizer updates (transformers max_steps)', placeholder: 'n' },
  'batch-size': { type: 'string', description: 'samples per micro-batch', placeholder: 'n' },
  'eval-every': { type: 'string', description: 'evaluate every N steps (transformers eval_steps; 0 = only at the end)', placeholder: 'n' },
  ep: { type: 'string', description: 'execution provider', choices: EXECUTION_PROVIDERS, default: 'cpu' },
  threads: { type: 'string', description: 'intra-op threads (default: ONNX Runtime\'s choice)', placeholder: 'n' },
  seed: { type: 'string', description: 'seed of the data order (and of the init when there is no checkpoint)', placeholder: 'n', default: '42' },
  'output-dir': { type: 'string', description: 'where the artifacts, checkpoint, model, plot and metrics go', placeholder: 'dir' },
  json: { type: 'boolean', description: 'print the summary as JSON' },
  quiet: { type: 'boolean', description: 'no progress output' },
} as const;

type HfFlagValues = { [K in keyof typeof HF_FLAGS]: (typeof HF_FLAGS)[K] extends { type: 'boolean' } ? boolean : (typeof HF_FLAGS)[K] extends { type: 'string[]' } ? string[] : (typeof HF_FLAGS)[K] extends { default: string } ? string : string | undefined };

/** The HF options from parsed flags. */
export function hfOptionsOf(f: HfFlagValues, command: string): HfTrainOptions {
  return {
    optim: f.optim,
    learningRate: num('learning-rate', f['learning-rate'], { min: 0, command }),
    lrSchedulerType: f['lr-scheduler-type'],
    warmupSteps: num('warmup-steps', f['warmup-steps'], { int: true, min: 0, command }),
    warmupRatio: num('warmup-ratio', f['warmup-ratio'], { min: 0, max: 1, command }),
    weightDecay: num('weight-decay', f['weight-decay'], { min: 0, command }),
    adamBeta1: num('adam-beta1', f['adam-beta1'], { min: 0, max: 1, command }),
    adamBeta2: num('adam-beta2', f['adam-beta2'], { min: 0, max: 1, command }),
    adamEpsilon: num('adam-epsilon', f['adam-epsilon'], { min: 0, command }),
    maxGradNorm: num('max-grad-norm', f['max-grad-norm'], { min: 0, command }),
    optimArgs: parseKeyValues('optim-args', f['optim-args']),
  };
}

export default defineCommand({
  name: 'train',
  summary: 'train an artifacts folder (original ORT or augmented) on .npy/.safetensors/.json data',
  positionals: { usage: '<artifacts folder>', min: 1, max: 1 },
  flags: {
    data: { type: 'string[]', description: 'training data: .npy / .safetensors / .json; [input=]file (repeatable)', placeholder: 'file' },
    labels: { type: 'string', description: 'training labels (.npy / .json), fills the input after --data', placeholder: 'file' },
    'eval-data': { type: 'string[]', description: 'evaluation data (same forms as --data)', placeholder: 'file' },
    'eval-labels': { type: 'string', description: 'evaluation labels', placeholder: 'file' },
    'eval-batch-size': { type: 'string', description: 'evaluation batch size (default max(batch size, 256))', placeholder: 'n' },
    resume: { type: 'string', description: 'continue from this checkpoint (step, optimizer state, lr and data position)', placeholder: 'ckpt' },
    'num-train-epochs': { type: 'string', description: 'epochs, when --steps is not given (default 3)', placeholder: 'n' },
    'save-steps': { type: 'string', description: 'also save the checkpoint every N steps', placeholder: 'n' },
    'stop-at': { type: 'string', description: 'stop after this step without changing the schedule (resume later with --resume)', placeholder: 'step' },
    ...HF_FLAGS,
  },
  details: [
    'Data: the first axis of every array counts samples. Unnamed arrays (.npy, a bare JSON array) fill the model',
    'inputs in order (--data, then --labels); .safetensors and JSON objects name them after the inputs.',
    'An original onnxruntime-training folder is augmented into <output-dir>/artifacts with the optimizer options',
    '(the schedule runs in-graph); an augmented folder keeps its optimizer, and a schedule given here runs on the host.',
    'Outputs in --output-dir (default out/train): checkpoint, model.onnx (inference export), plot.svg, metrics.json.',
    '--resume <output-dir>/checkpoint with the same options continues exactly where the run stopped.',
  ].join('\n'),
  async run(args, io, ctx) {
    const f = args.flags;
    const restarted = await restartForRuntime(f.ep, ctx);
    if (restarted !== undefined) return restarted;
    if (!f.data.length) throw new OnnxTrainError('BAD_ARGUMENT', 'missing --data <file>', 'run "onnx-train train --help" for usage');
    const read = (specs: readonly string[], labels: string | undefined) => [...specs, ...(labels ? [labels] : [])].flatMap(readDataFile);
    const job: TrainJob = {
      artifacts: args.positionals[0]!,
      outputDir: f['output-dir'] ?? path.join('out', 'train'),
      hf: hfOptionsOf(f, 'train'),
      steps: num('steps', f.steps, { int: true, min: 1 }),
      epochs: num('num-train-epochs', f['num-train-epochs'], { min: 0 }),
      batchSize: num('batch-size', f['batch-size'], { int: true, min: 1 }),
      evalBatchSize: num('eval-batch-size', f['eval-batch-size'], { int: true, min: 1 }),
      gradientAccumulationSteps: num('gradient-accumulation-steps', f['gradient-accumulation-steps'], { int: true, min: 1 }),
      evalEvery: num('eval-every', f['eval-every'], { int: true, min: 0 }),
      saveEvery: num('save-steps', f['save-steps'], { int: true, min: 1 }),
      stopAt: num('stop-at', f['stop-at'], { int: true, min: 1 }),
      train: read(f.data, f.labels),
      evalData: f['eval-data'].length ? read(f['eval-data'], f['eval-labels']) : undefined,
      resume: f.resume,
      ep: f.ep as ExecutionProvider,
      threads: num('threads', f.threads, { int: true, min: 1 }),
      seed: num('seed', f.seed, { int: true, min: 0 })!,
      checkExport: true,
    };
    if (f['eval-labels'] && !f['eval-data'].length) throw new OnnxTrainError('BAD_ARGUMENT', '--eval-labels without --eval-data', 'pass --eval-data <file> too');
    const s = await runTrainingJob(job, io, { quiet: f.quiet });
    io.out(f.json ? `${JSON.stringify(s)}\n` : formatSummary(s));
    return 0;
  },
});
