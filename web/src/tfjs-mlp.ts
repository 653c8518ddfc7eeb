/**
 * The peer for the benchmark: the same MLP (784 -> 500 ReLU -> 10, softmax cross-entropy, mean over the batch),
 * the same initial weights (the fixture's checkpoint), the same batches and Adam hyper-parameters (lr 1e-3,
 * β 0.9/0.999, ε 1e-6, no weight decay), trained with TensorFlow.js on its webgpu or wasm backend. Like the
 * onnx-train loop, each step reads its loss back to the host.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { HostTensor } from '../../src/runtime/engine.js';
import { batchAt, PIXELS, type Mnist } from './mnist.js';
import type { TrainResult } from './train.js';

export type TfBackend = 'webgpu' | 'wasm';

let loaded: Promise<typeof TF> | undefined;

/** TensorFlow.js core + gradients + the backend, initialised (loaded on first use: it is only for the benchmark). */
export async function loadTf(backend: TfBackend, assetBase: string): Promise<typeof TF> {
  loaded ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    return tf;
  })();
  const tf = await loaded;
  if (backend === 'webgpu') {
    await import('@tensorflow/tfjs-backend-webgpu');
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(`${assetBase}tfjs/`);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js backend "${backend}" failed to initialise`);
  await tf.ready();
  return tf;
}

/** fc1.weight [500, 784], fc1.bias, fc2.weight [10, 500], fc2.bias: PyTorch layout, as in the checkpoint. */
export interface MlpWeights {
  readonly 'fc1.weight': HostTensor;
  readonly 'fc1.bias': HostTensor;
  readonly 'fc2.weight': HostTensor;
  readonly 'fc2.bias': HostTensor;
}

export async function trainTf(tf: typeof TF, init: MlpWeights, data: Mnist, o: { steps: number; batch: number; lr?: number }): Promise<TrainResult> {
  const f32 = (t: HostTensor) => t.data as Float32Array;
  // Dense layout: kernels [in, out] (the transpose of torch's Linear weight).
  const w1 = tf.variable(tf.transpose(tf.tensor2d(f32(init['fc1.weight']), [500, PIXELS])));
  const b1 = tf.variable(tf.tensor1d(f32(init['fc1.bias'])));
  const w2 = tf.variable(tf.transpose(tf.tensor2d(f32(init['fc2.weight']), [10, 500])));
  const b2 = tf.variable(tf.tensor1d(f32(init['fc2.bias'])));
  const opt = tf.train.adam(o.lr ?? 1e-3, 0.9, 0.999, 1e-6);
  const losses: number[] = [];
  const warmup = Math.min(5, Math.max(0, o.steps - 1));
  const t0 = performance.now();
  let tWarm = t0;
  try {
    for (let k = 0; k < o.steps; k++) {
      const b = batchAt(data.train, k, o.batch);
      const x = tf.tensor2d(b.images, [o.batch, PIXELS]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(b.labels, Number), 'int32'), 10));
      const loss = opt.minimize(() => {
        const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
        const logits = tf.add(tf.matMul(h, w2), b2);
        return tf.losses.softmaxCrossEntropy(y, logits) as TF.Scalar;
      }, true, [w1, b1, w2, b2])!;
      losses.push((await loss.data())[0]);
      tf.dispose([x, y, loss]);
      if (k + 1 === warmup) tWarm = performance.now();
    }
  } finally {
    opt.dispose();
    tf.dispose([w1, b1, w2, b2]);
  }
  const t1 = performance.now();
  const timed = o.steps - warmup;
  return { losses, steps: o.steps, ms: t1 - t0, warmup, samplesPerSec: timed > 0 ? (timed * o.batch * 1000) / (t1 - tWarm) : 0 };
}
