/**
 * tools/web/webgpu-compat.ts against the augmented MNIST set it rewrites: the rewritten graphs compute what the
 * originals compute (onnxruntime-node CPU, real digits, the fixture's weights), use no op the WebGPU EP lacks, and
 * keep their interface but for the narrowed inputs. Plus the adapter's placement-log parser on ORT's real lines.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { encodeModel } from '../../src/onnx/io.js';
import type { Model } from '../../src/ir/graph.js';
import { parsePlacement } from '../../src/runtime/adapters/web-gpu-state.js';
import { batchAt, loadMnist } from '../../src/runtime/data/mnist.js';
import { readOrtArtifacts } from '../../src/transforms/artifacts.js';
import { buildAugmented, type AugmentedSet } from '../../src/transforms/augment.js';
import { FIXTURE } from '../../tools/web/prepare.js';
import { webgpuCompatPass } from '../../src/transforms/webgpu-compat.js';

let set: AugmentedSet;

test.before(async () => {
  set = await buildAugmented(readOrtArtifacts(FIXTURE), {}, { readCheckpoint: (f) => readCheckpoint(f) });
});

const session = (m: Model) => ort.InferenceSession.create(encodeModel(m.toProto()));

/** Feeds of train_step.onnx for batch k after `step` updates: the fixture's weights, zero moments. */
function stepFeeds(s: AugmentedSet, k: number, step: number, narrow: boolean): Record<string, ort.Tensor> {
  const { train } = loadMnist();
  const b = batchAt(train, k, 64);
  const f: Record<string, ort.Tensor> = {
    input: new ort.Tensor('float32', b.images, [64, 784]),
    labels: narrow ? new ort.Tensor('int32', Int32Array.from(b.labels, Number), [64]) : new ort.Tensor('int64', b.labels, [64]),
  };
  for (const p of s.checkpoint.trainable) f[p.name] = new ort.Tensor('float32', new Float32Array(p.data.slice().buffer), p.dims);
  for (const st of s.manifest.optimizer.state) f[st.input] = new ort.Tensor('float32', new Float32Array(st.shape.reduce((a, d) => a * d, 1)).fill(0.001), st.shape);
  const ts = s.manifest.trainStep!;
  f[ts.stepInput] = narrow ? new ort.Tensor('float32', Float32Array.of(step), [1]) : new ort.Tensor('int64', BigInt64Array.of(BigInt(step)), [1]);
  if (ts.lrInput) f[ts.lrInput] = new ort.Tensor('float32', Float32Array.of(1e-3), [1]);
  return f;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1e-6, Math.abs(a[i])));
  return m;
}

test('webgpu-compat › train_step › same loss, parameters and moments as the original (steps 1 and 1000)', async (t) => {
  const orig = await session(set.trainStep!);
  const compat = await session(webgpuCompatPass(set.trainStep!, 'train_step.onnx').model);
  try {
    for (const step of [1, 1000]) {
      const a = await orig.run(stepFeeds(set, 3, step, false));
      const b = await compat.run(stepFeeds(set, 3, step, true));
      t.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), 'same outputs');
      const la = (a[set.manifest.lossOutput].data as Float32Array)[0];
      const lb = (b[set.manifest.lossOutput].data as Float32Array)[0];
      t.true(Math.abs(la - lb) <= 1e-5 * Math.abs(la), `loss ${la} vs ${lb}`);
      for (const name of [...Object.values(set.manifest.trainStep!.paramOutputs), ...Object.values(set.manifest.trainStep!.stateOutputs)]) {
        // float32 bias correction (1 − β^t) instead of float64: relative differences stay far below 1e-4.
        const d = maxRelDiff(a[name].data as Float32Array, b[name].data as Float32Array);
        t.true(d < 1e-4, `step ${step}: ${name} max relative difference ${d}`);
      }
    }
  } finally {
    await orig.release();
    await compat.release();
  }
});

test('webgpu-compat › eval › same loss and logits as the original', async (t) => {
  const { test: digits } = loadMnist();
  const feeds = (narrow: boolean) => {
    const f: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', digits.images.slice(0, 100 * 784), [100, 784]),
      labels: narrow ? new ort.Tensor('int32', Int32Array.from(digits.labels.slice(0, 100), Number), [100]) : new ort.Tensor('int64', digits.labels.slice(0, 100), [100]),
    };
    for (const p of set.checkpoint.trainable) f[p.name] = new ort.Tensor('float32', new Float32Array(p.data.slice().buffer), p.dims);
    return f;
  };
  const a = await (await session(set.eval)).run(feeds(false));
  const b = await (await session(webgpuCompatPass(set.eval, 'eval_model.onnx').model)).run(feeds(true));
  for (const k of Object.keys(a)) t.true(maxRelDiff(a[k].data as Float32Array, b[k].data as Float32Array) < 1e-5, k);
});

test('webgpu-compat › every model › no op the WebGPU EP lacks, no 64-bit value, interface kept but narrowed inputs', (t) => {
  const models = { training: set.training, eval: set.eval, optimizer: set.optimizer, trainStep: set.trainStep! };
  for (const [name, m] of Object.entries(models)) {
    const r = webgpuCompatPass(m, name);
    const g = r.model.graph;
    const ops = new Set(g.nodes.map((n) => n.opType));
    for (const op of ['SoftmaxCrossEntropyLoss', 'LogSoftmax', 'Size']) t.false(ops.has(op), `${name}: no ${op}`);
    const types = [...g.inputs, ...g.outputs].map((v) => v.type?.tensor_type?.elem_type);
    t.false(types.includes(7) || types.includes(11), `${name}: no int64/float64 input or output`);
    t.false(g.nodes.some((n) => n.opType === 'Cast' && [7, 11].includes(n.attrInt('to') ?? 0)), `${name}: no Cast to int64/float64`);
    t.deepEqual(g.inputs.map((i) => i.name), m.graph.inputs.map((i) => i.name), `${name}: same inputs, same order`);
    t.deepEqual(g.outputs.map((o) => o.name), m.graph.outputs.map((o) => o.name), `${name}: same outputs`);
    for (const [input, [from, to]] of Object.entries(r.report.narrowedInputs)) {
      t.is(from, 7);
      t.is(to, input === 'labels' ? 6 : 1, `${name}: ${input} becomes ${input === 'labels' ? 'int32' : 'float32'}`);
    }
  }
});

test('web-gpu-state › parsePlacement › reads ORT\'s placement report, all-on-one-EP and split', (t) => {
  const pre = '2026-11-25 16:46:43.29 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]';
  t.deepEqual(parsePlacement([`${pre} Node placements`, `${pre}  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 83`]),
    [{ ep: 'WebGpuExecutionProvider', count: 83, nodes: [] }]);
  t.deepEqual(parsePlacement([
    `${pre} Node placements`,
    `${pre}  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 2`,
    `${pre}   LogSoftmax ()`,
    `${pre}   Unsqueeze (u1)`,
    `${pre}  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 15`,
    `${pre}   Gemm (/fc1/Gemm)`,
  ]), [
    { ep: 'CPUExecutionProvider', count: 2, nodes: ['LogSoftmax ()', 'Unsqueeze (u1)'] },
    { ep: 'WebGpuExecutionProvider', count: 15, nodes: ['Gemm (/fc1/Gemm)'] },
  ]);
});
