/**
 * What every MNIST train-step implementation shares, so that they differ only in the runtime: the real
 * mnist-mlp-web artifacts lowered by onnx-train (in memory, exactly as TrainingSession.create does it), the
 * initial weights from their checkpoint, the optimizer hyper-parameters the lowering read from the original
 * AdamWOptimizer node, and a fixed ring of real MNIST batches (batch k of every implementation is the same data).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { augmentInMemory, type ArtifactsBundle } from '../../src/runtime/node.js';
import { batchAt, loadMnist } from '../../src/runtime/data/mnist.js';
import { stateFromCheckpoint } from '../../src/runtime/state.js';
import type { HostTensor } from '../../src/runtime/engine.js';
import { REPO_ROOT } from './common.js';

export const MNIST_DIR = path.join(REPO_ROOT, 'fixtures', 'mnist-mlp-web');
export const PIXELS = 784;
export const HIDDEN = 500;
export const CLASSES = 10;
/** Distinct batches cycled through (enough to defeat caching effects, few enough to prepare up front). */
export const RING = 64;

export const mnistPaths = {
  checkpointState: path.join(MNIST_DIR, 'checkpoint'),
  trainModel: path.join(MNIST_DIR, 'training_model.onnx'),
  evalModel: path.join(MNIST_DIR, 'eval_model.onnx'),
  optimizerModel: path.join(MNIST_DIR, 'optimizer_model.onnx'),
};

/** The lowered bundle (train_step.onnx included), built once per process. */
let bundle: Promise<ArtifactsBundle> | undefined;
export function loweredMnist(): Promise<ArtifactsBundle> {
  bundle ??= (async () => {
    const rd = (f: string) => new Uint8Array(fs.readFileSync(f));
    return augmentInMemory({
      training: rd(mnistPaths.trainModel), eval: rd(mnistPaths.evalModel), optimizer: rd(mnistPaths.optimizerModel),
      checkpoint: await readCheckpoint(mnistPaths.checkpointState),
    });
  })();
  return bundle;
}

export interface MlpWeights {
  /** [500, 784] (torch Linear layout: out x in). */
  readonly fc1w: Float32Array;
  readonly fc1b: Float32Array;
  /** [10, 500]. */
  readonly fc2w: Float32Array;
  readonly fc2b: Float32Array;
}

/** The checkpoint's parameters (fresh copies). */
export async function initialWeights(): Promise<MlpWeights> {
  const b = await loweredMnist();
  const st = stateFromCheckpoint(b.manifest, b.checkpoint);
  const get = (n: string) => (st.params.get(n)!.data as Float32Array).slice();
  return { fc1w: get('fc1.weight'), fc1b: get('fc1.bias'), fc2w: get('fc2.weight'), fc2b: get('fc2.bias') };
}

export interface AdamHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

/** The optimizer the lowering took from optimizer_model.onnx (ORT AdamW, adam_mode 1 = transformers AdamW). */
export async function adamHyper(): Promise<AdamHyper> {
  const b = await loweredMnist();
  const o = b.manifest.optimizer;
  const spec = o.spec as { type: string; alpha: number; beta: number; epsilon: number; weight_decay: number; adam_mode: number; correct_bias: number };
  if (spec.type !== 'ort_adamw' || spec.adam_mode !== 1 || spec.correct_bias !== 1) throw new Error(`unexpected optimizer in the lowered mnist artifacts: ${JSON.stringify(spec)}`);
  return { lr: o.lr, beta1: spec.alpha, beta2: spec.beta, eps: spec.epsilon, weightDecay: spec.weight_decay };
}

export interface Batch {
  readonly images: Float32Array;
  readonly labels: BigInt64Array;
  readonly images4: HostTensor;
  readonly labels4: HostTensor;
}

/** Batches 0..RING-1 of the training split (the same for every implementation). */
export function batchRing(batch: number): Batch[] {
  const m = loadMnist();
  return Array.from({ length: RING }, (_, k) => {
    const b = batchAt(m.train, k, batch);
    return {
      ...b,
      images4: { type: 'float32', dims: [batch, PIXELS], data: b.images },
      labels4: { type: 'int64', dims: [batch], data: b.labels },
    };
  });
}
