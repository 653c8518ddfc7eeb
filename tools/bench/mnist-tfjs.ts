/**
 * The 784-500-10 MLP in TensorFlow.js (wasm backend): same initial weights (the mnist-mlp-web checkpoint,
 * transposed once into tfjs's [in, out] kernel layout), same batches, softmax cross-entropy (mean), Adam with the
 * lowered artifacts' hyper-parameters (tf.train.adam = transformers AdamW without weight decay; the artifacts'
 * weight_decay is 0 — checked).
 *
 * - idiomatic: `optimizer.minimize(lossFn, true)` — tfjs autodiff.
 * - tuned: the gradients written out. tfjs-wasm's matMul with a transposed operand, which autodiff uses for the
 *   weight gradients (x^T dy), is far slower than a plain one; an explicit `tf.transpose` first avoids it.
 *   The update is still `optimizer.applyGradients` (tfjs's own Adam kernels).
 *
 * Both read the loss back every step (`dataSync`), as the ORT implementations return it.
 */
import type { Batch, MlpWeights, AdamHyper } from './mnist-setup.js';
import { CLASSES, HIDDEN, PIXELS } from './mnist-setup.js';

export interface TfjsStep {
  /** One training step on `b`; returns the loss. */
  step(b: Batch): number;
  readonly backend: string;
}

function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

export async function tfjsMlp(kind: 'idiomatic' | 'tuned', w: MlpWeights, h: AdamHyper, batch: number): Promise<TfjsStep> {
  if (h.weightDecay !== 0) throw new Error(`tf.train.adam has no weight decay; the artifacts use ${h.weightDecay}`);
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not initialise');
  await tf.ready();
  const W1 = tf.variable(tf.tensor2d(transpose(w.fc1w, HIDDEN, PIXELS), [PIXELS, HIDDEN]), true, 'W1');
  const b1 = tf.variable(tf.tensor1d(w.fc1b), true, 'b1');
  const W2 = tf.variable(tf.tensor2d(transpose(w.fc2w, CLASSES, HIDDEN), [HIDDEN, CLASSES]), true, 'W2');
  const b2 = tf.variable(tf.tensor1d(w.fc2b), true, 'b2');
  const opt = tf.train.adam(h.lr, h.beta1, h.beta2, h.eps);
  const inputs = (b: Batch) => {
    const x = tf.tensor2d(b.images, [batch, PIXELS]);
    const y = tf.oneHot(tf.tensor1d(Int32Array.from(b.labels, Number), 'int32'), CLASSES);
    return { x, y };
  };

  if (kind === 'idiomatic') {
    return {
      backend: tf.getBackend(),
      step(b) {
        const lossT = tf.tidy(() => {
          const { x, y } = inputs(b);
          return opt.minimize(() => {
            const logits = tf.relu(x.matMul(W1).add(b1)).matMul(W2).add(b2);
            return tf.losses.softmaxCrossEntropy(y, logits) as import('@tensorflow/tfjs').Scalar;
          }, true)!;
        });
        const loss = lossT.dataSync()[0];
        lossT.dispose();
        return loss;
      },
    };
  }

  return {
    backend: tf.getBackend(),
    step(b) {
      const lossT = tf.tidy(() => {
        const { x, y } = inputs(b);
        const z1 = x.matMul(W1).add(b1);
        const a1 = tf.relu(z1);
        const logits = a1.matMul(W2).add(b2);
        const logp = tf.logSoftmax(logits);
        const loss = tf.neg(tf.sum(tf.mul(y, logp))).div(batch);
        const dlogits = tf.sub(tf.exp(logp), y).div(batch); // [B, 10]
        const dW2 = tf.transpose(a1).matMul(dlogits); // [500, 10]
        const db2 = tf.sum(dlogits, 0);
        const da1 = dlogits.matMul(tf.transpose(W2)); // [B, 500]
        const dz1 = tf.mul(da1, tf.step(z1));
        const dW1 = tf.transpose(x).matMul(dz1); // [784, 500]
        const db1 = tf.sum(dz1, 0);
        opt.applyGradients({ W1: dW1, b1: db1, W2: dW2, b2: db2 } as never);
        return loss;
      });
      const loss = lossT.dataSync()[0];
      lossT.dispose();
      return loss;
    },
  };
}
