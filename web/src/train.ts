/**
 * The training loop and evaluation the page, the tests and the benchmark share. Each step is one fused
 * `TrainingSession.trainStep` (forward + backward + AdamW in one graph run); only the loss is fetched.
 */
import type { HostTensor } from '../../src/runtime/engine.js';
import type { TrainingSession } from '../../src/runtime/training-session.js';
import { batchAt, PIXELS, type Mnist, type Split } from './mnist.js';

export interface StepInfo {
  readonly step: number;
  readonly loss: number;
  /** Wall time since the loop started, ms. */
  readonly elapsedMs: number;
}

export interface TrainOptions {
  readonly steps: number;
  readonly batch: number;
  /** Called after every step (keep it cheap). */
  readonly onStep?: (s: StepInfo) => void;
  /** Polled before every step; true stops the loop. */
  readonly shouldStop?: () => boolean;
  /** First batch index (continue where a previous call stopped). */
  readonly startBatch?: number;
}

export interface TrainResult {
  readonly losses: number[];
  readonly steps: number;
  readonly ms: number;
  /** Samples per second over the steps after the first `warmup` (shader/kernel compilation excluded). */
  readonly samplesPerSec: number;
  readonly warmup: number;
}

export function feedsFor(session: TrainingSession, images: Float32Array, labels: BigInt64Array): Record<string, HostTensor> {
  const [x, y] = session.manifest.inputs;
  const n = labels.length;
  return {
    [x.name]: { type: 'float32', dims: [n, PIXELS], data: images },
    [y.name]: { type: 'int64', dims: [n], data: labels },
  };
}

export async function train(session: TrainingSession, data: Mnist, o: TrainOptions): Promise<TrainResult> {
  const lossName = session.manifest.lossOutput;
  const losses: number[] = [];
  const warmup = Math.min(5, Math.max(0, o.steps - 1));
  const t0 = performance.now();
  let tWarm = t0;
  let k = 0;
  for (; k < o.steps; k++) {
    if (o.shouldStop?.()) break;
    const b = batchAt(data.train, (o.startBatch ?? 0) + k, o.batch);
    const out = await session.trainStep(feedsFor(session, b.images, b.labels), [lossName]);
    const loss = Number(out[lossName].data[0]);
    losses.push(loss);
    if (k + 1 === warmup) tWarm = performance.now();
    o.onStep?.({ step: k + 1, loss, elapsedMs: performance.now() - t0 });
  }
  const t1 = performance.now();
  const timed = k - warmup;
  return { losses, steps: k, ms: t1 - t0, warmup, samplesPerSec: timed > 0 ? (timed * o.batch * 1000) / (t1 - tWarm) : 0 };
}

export interface EvalResult {
  readonly accuracy: number;
  readonly loss: number;
  readonly count: number;
}

/** Accuracy and mean loss on a split with the current parameters (eval model, chunks of `chunk`). */
export async function evaluate(session: TrainingSession, split: Split, chunk = 500, limit = split.count): Promise<EvalResult> {
  const logitsName = session.manifest.userOutputs[0];
  const lossName = session.manifest.lossOutput;
  let correct = 0;
  let lossSum = 0;
  let n = 0;
  for (let s = 0; s < limit; s += chunk) {
    const m = Math.min(chunk, limit - s);
    const images = split.images.subarray(s * PIXELS, (s + m) * PIXELS);
    const labels = split.labels.subarray(s, s + m);
    const out = await session.runEvalStep(feedsFor(session, images, labels), [lossName, logitsName]);
    const logits = out[logitsName].data as Float32Array;
    const classes = logits.length / m;
    for (let i = 0; i < m; i++) if (argmax(logits, i * classes, classes) === Number(labels[i])) correct++;
    lossSum += Number(out[lossName].data[0]) * m;
    n += m;
  }
  return { accuracy: correct / n, loss: lossSum / n, count: n };
}

/** Class probabilities for one 28x28 image. */
export async function predict(session: TrainingSession, image: Float32Array): Promise<number[]> {
  const logitsName = session.manifest.userOutputs[0];
  const out = await session.runEvalStep(feedsFor(session, image, BigInt64Array.of(0n)), [logitsName]);
  return softmax(Array.from(out[logitsName].data as Float32Array));
}

export function argmax(a: ArrayLike<number>, off = 0, n = a.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[off + i] > a[off + best]) best = i;
  return best;
}

export function softmax(x: number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
