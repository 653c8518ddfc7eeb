/**
 * A small Hugging Face Trainer–style loop over a TrainingSession: `max_steps` optimizer updates, each from
 * `gradient_accumulation_steps` micro-batches, evaluation every `eval_steps`, a logging callback per update.
 *
 * - k = 1: one fused `trainStep` per update (forward + backward + clipping + optimizer + schedule in one graph run).
 * - k > 1: `runTrainStep` on each of the k micro-batches, then `runOptimizerStep` and `lazyResetGrad`. The session
 *   must be created with `gradientAccumulation: 'mean'` (transformers Trainer semantics: for a mean-reduced loss the
 *   update equals the update on the k micro-batches concatenated); with 'sum' the gradient is k times larger.
 *   Gradient clipping (`max_grad_norm`) is part of the optimizer graph, so it sees the accumulated gradient, as in
 *   transformers (clip after accumulation, before `optimizer.step()`).
 * - The logged loss of an update is the mean of its micro-batch losses (transformers logs the same quantity).
 * - Steps count from the session's `step`, so a session restored from a checkpoint continues where it stopped;
 *   `steps` is the total (transformers `max_steps`), not the number still to run. Micro-batch `i` of the whole
 *   run is `batches(i)`: with an indexable source a resumed run sees exactly the batches of an uninterrupted one.
 */
import { OnnxTrainError } from '../errors.js';
import type { HostTensor } from './engine.js';
import type { Feeds } from './training-session.js';

export type { Feeds };

/** The part of TrainingSession the loop uses (any object with these members will do, e.g. a test double). */
export interface TrainerSession {
  readonly step: bigint;
  readonly manifest: { readonly lossOutput: string };
  trainStep(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, HostTensor>>;
  runTrainStep(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, HostTensor>>;
  runOptimizerStep(): Promise<void>;
  lazyResetGrad(): Promise<void>;
  getLearningRate(): number;
  readonly skippedUpdates?: number;
}

/** Where micro-batches come from: a function of the global micro-batch index (resumable), or an iterator. */
export type BatchSource =
  | ((microBatch: number) => Feeds | Promise<Feeds>)
  | Iterator<Feeds> | AsyncIterator<Feeds> | Iterable<Feeds> | AsyncIterable<Feeds>;

/** One optimizer update, as passed to `onLog`. */
export interface TrainLog {
  /** Completed updates after this one (the session's step). */
  readonly step: number;
  /** Mean loss over the update's micro-batches. */
  readonly loss: number;
  /** Learning rate this update used. */
  readonly lr: number;
  /** Samples per second over this run so far (training time only, evaluation excluded). */
  readonly samplesPerSecond: number;
  /** Estimated seconds to `steps`, from the mean time per update so far. */
  readonly etaSeconds: number;
  /** Training seconds so far in this run. */
  readonly elapsedSeconds: number;
  /** Updates done in this run (1-based). */
  readonly runStep: number;
  /** Updates this run will do. */
  readonly runSteps: number;
  /** The target step (`steps`). */
  readonly maxSteps: number;
}

/** Metrics an evaluation returns (e.g. `{loss, accuracy}`). */
export type EvalMetrics = Readonly<Record<string, number>>;

export interface EvalLog {
  readonly step: number;
  readonly metrics: EvalMetrics;
}

export interface TrainOptions {
  readonly session: TrainerSession;
  /** Micro-batches (see {@link BatchSource}). */
  readonly trainBatches: BatchSource;
  /** Total optimizer updates (transformers `max_steps`); the run does `steps − session.step` of them. */
  readonly steps: number;
  /** transformers `gradient_accumulation_steps` (default 1). */
  readonly gradientAccumulationSteps?: number;
  /** Evaluate every N completed updates (transformers `eval_steps`; 0/undefined = never during training). */
  readonly evalEvery?: number;
  /** Evaluation; called with the completed step count. */
  readonly evalFn?: (step: number) => Promise<EvalMetrics> | EvalMetrics;
  /** Called after every update (awaited when it returns a promise, e.g. to save a checkpoint). */
  readonly onLog?: (log: TrainLog) => void | Promise<void>;
  /** Called after every evaluation. */
  readonly onEval?: (log: EvalLog) => void;
  /**
   * The learning rate of the update that follows `completedSteps` updates, for logging. Default: the session's
   * `getLearningRate()`. Pass the schedule's `valueAt` when the schedule runs in-graph (the host does not see it).
   */
  readonly lrAt?: (completedSteps: number) => number;
  /** Samples in a micro-batch (default: dim 0 of the first feed). */
  readonly samplesOf?: (feeds: Feeds) => number;
  /** Index of the first micro-batch of this run (default `session.step × k`). */
  readonly firstMicroBatch?: number;
  /** Stops after the current update when aborted. */
  readonly signal?: AbortSignal;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

export interface TrainResult {
  /** The session's step at the end. */
  readonly step: number;
  /** Updates attempted in this run. */
  readonly runSteps: number;
  readonly history: readonly TrainLog[];
  readonly evals: readonly EvalLog[];
  /** Training seconds (evaluation excluded). */
  readonly trainSeconds: number;
  readonly samples: number;
  /** Index of the next micro-batch (where a resumed run should start). */
  readonly nextMicroBatch: number;
  /** Updates skipped for NaN/Inf (nonFinite: 'skip'). */
  readonly skippedUpdates: number;
  readonly aborted: boolean;
}

/** Runs the loop (see the module doc). */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const s = o.session;
  const k = o.gradientAccumulationSteps ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new OnnxTrainError('BAD_ARGUMENT', `gradient_accumulation_steps must be a positive integer (got ${k})`);
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new OnnxTrainError('BAD_ARGUMENT', `steps must be a non-negative integer (got ${o.steps})`);
  const evalEvery = o.evalEvery ?? 0;
  if (!Number.isInteger(evalEvery) || evalEvery < 0) throw new OnnxTrainError('BAD_ARGUMENT', `eval_steps must be a non-negative integer (got ${evalEvery})`);
  if (evalEvery > 0 && !o.evalFn) throw new OnnxTrainError('BAD_ARGUMENT', 'evalEvery is set but there is no evalFn', 'pass evalFn (or evaluation data on the command line)');

  const now = o.now ?? (() => performance.now());
  const start = Number(s.step);
  const runSteps = Math.max(0, o.steps - start);
  const next = batchReader(o.trainBatches, o.firstMicroBatch ?? start * k);
  const lossName = s.manifest.lossOutput;
  const samplesOf = o.samplesOf ?? defaultSamples;
  const lrAt = o.lrAt ?? (() => s.getLearningRate());
  const skipped0 = s.skippedUpdates ?? 0;

  const history: TrainLog[] = [];
  const evals: EvalLog[] = [];
  let trainMs = 0;
  let samples = 0;
  let aborted = false;
  for (let r = 0; r < runSteps; r++) {
    if (o.signal?.aborted) { aborted = true; break; }
    const t0 = now();
    const lr = lrAt(Number(s.step));
    let lossSum = 0;
    if (k === 1) {
      const feeds = await next.read();
      samples += samplesOf(feeds);
      const out = await s.trainStep(feeds, [lossName]);
      lossSum = scalar(out[lossName], lossName);
    } else {
      for (let j = 0; j < k; j++) {
        const feeds = await next.read();
        samples += samplesOf(feeds);
        const out = await s.runTrainStep(feeds, [lossName]);
        lossSum += scalar(out[lossName], lossName);
      }
      await s.runOptimizerStep();
      await s.lazyResetGrad();
    }
    trainMs += now() - t0;
    const done = r + 1;
    const secs = trainMs / 1000;
    const log: TrainLog = {
      step: Number(s.step),
      loss: lossSum / k,
      lr,
      samplesPerSecond: secs > 0 ? samples / secs : 0,
      etaSeconds: (secs / done) * (runSteps - done),
      elapsedSeconds: secs,
      runStep: done,
      runSteps,
      maxSteps: o.steps,
    };
    history.push(log);
    await o.onLog?.(log);
    if (evalEvery > 0 && log.step % evalEvery === 0 && o.evalFn) {
      const e: EvalLog = { step: log.step, metrics: await o.evalFn(log.step) };
      evals.push(e);
      o.onEval?.(e);
    }
  }
  return {
    step: Number(s.step),
    runSteps: history.length,
    history,
    evals,
    trainSeconds: trainMs / 1000,
    samples,
    nextMicroBatch: next.position,
    skippedUpdates: (s.skippedUpdates ?? 0) - skipped0,
    aborted,
  };
}

function defaultSamples(feeds: Feeds): number {
  const first = Object.values(feeds)[0];
  return first && first.dims.length > 0 ? first.dims[0] : 1;
}

function scalar(t: HostTensor | undefined, name: string): number {
  if (!t || t.data.length === 0) throw new OnnxTrainError('RUNTIME', `the training step returned no loss "${name}"`);
  const v = t.data[0];
  return typeof v === 'bigint' ? Number(v) : v;
}

interface Reader {
  read(): Promise<Feeds>;
  readonly position: number;
}

function batchReader(src: BatchSource, first: number): Reader {
  let pos = first;
  if (typeof src === 'function') {
    return {
      async read() { return src(pos++); },
      get position() { return pos; },
    };
  }
  const it: Iterator<Feeds> | AsyncIterator<Feeds> =
    Symbol.asyncIterator in (src as object) ? (src as AsyncIterable<Feeds>)[Symbol.asyncIterator]()
      : Symbol.iterator in (src as object) ? (src as Iterable<Feeds>)[Symbol.iterator]()
        : (src as Iterator<Feeds>);
  return {
    async read() {
      const r = await it.next();
      if (r.done) throw new OnnxTrainError('BAD_ARGUMENT', `the training batches ran out after ${pos - first} micro-batch(es)`, 'pass more batches, fewer steps, or a function of the batch index (which never runs out)');
      pos++;
      return r.value;
    },
    get position() { return pos; },
  };
}

// ----------------------------------------------------------------------------------------- evaluation

/** What {@link evaluate} needs of a session. */
export interface EvalSession {
  readonly manifest: { readonly lossOutput: string; readonly evalOutputs: readonly string[] };
  runEvalStep(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, HostTensor>>;
}

export interface EvaluateOptions {
  /**
   * Classification accuracy: the logits output (argmax over the last axis) and the label input (int class
   * indices). Default: detected — an eval output other than the loss whose shape is [batch, classes] and an
   * integer input of shape [batch]; no accuracy when there is none.
   */
  readonly accuracy?: { readonly logits: string; readonly labels: string } | false;
}

/**
 * Mean eval loss over `batches` (weighted by batch size, so a smaller last batch counts for what it holds) and,
 * for a classifier, top-1 accuracy. Returns `{loss, accuracy?, samples}`.
 */
export async function evaluate(session: EvalSession, batches: Iterable<Feeds> | AsyncIterable<Feeds>, opts: EvaluateOptions = {}): Promise<EvalMetrics> {
  const lossName = session.manifest.lossOutput;
  let lossSum = 0;
  let n = 0;
  let correct = 0;
  let counted = 0;
  let acc = opts.accuracy;
  for await (const feeds of batches as AsyncIterable<Feeds>) {
    const b = defaultSamples(feeds);
    const outs = await session.runEvalStep(feeds);
    lossSum += scalar(outs[lossName], lossName) * b;
    n += b;
    if (acc === undefined) acc = detectAccuracy(session.manifest, feeds, outs) ?? false;
    if (acc) {
      const logits = outs[acc.logits];
      const labels = feeds[acc.labels];
      if (!logits || !labels) throw new OnnxTrainError('BAD_ARGUMENT', `accuracy needs output "${acc.logits}" and input "${acc.labels}"`);
      correct += countCorrect(logits, labels);
      counted += labels.data.length;
    }
  }
  if (n === 0) throw new OnnxTrainError('BAD_ARGUMENT', 'evaluation got no batches', 'pass evaluation data');
  return acc ? { loss: lossSum / n, accuracy: correct / counted, samples: n } : { loss: lossSum / n, samples: n };
}

function detectAccuracy(m: EvalSession['manifest'], feeds: Feeds, outs: Record<string, HostTensor>): { logits: string; labels: string } | undefined {
  const b = defaultSamples(feeds);
  const labels = Object.entries(feeds).find(([, t]) => (t.type === 'int64' || t.type === 'int32') && t.dims.length === 1 && t.dims[0] === b)?.[0];
  const logits = m.evalOutputs.find((o) => o !== m.lossOutput && outs[o] && outs[o].dims.length === 2 && outs[o].dims[0] === b && outs[o].dims[1] > 1 && outs[o].type === 'float32');
  return labels && logits ? { logits, labels } : undefined;
}

/** Top-1 hits of logits [n, c] against integer labels [n]. */
export function countCorrect(logits: HostTensor, labels: HostTensor): number {
  const n = labels.data.length;
  const c = logits.data.length / n;
  if (!Number.isInteger(c)) throw new OnnxTrainError('SHAPE_MISMATCH', `logits [${logits.dims}] do not match labels [${labels.dims}]`);
  const x = logits.data as Float32Array;
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (x[i * c + j] > x[i * c + best]) best = j;
    if (best === Number(labels.data[i])) hits++;
  }
  return hits;
}
