/**
 * End to end on the real ORT training artifacts (../shared/artifacts): the lowered training graph loads in
 * stock onnxruntime-node, its loss equals the eval model's loss on the same parameters and batch (rel 1e-5),
 * and its accumulated gradients (lazy_reset_grad = true) match central finite differences of the eval model
 * (rel 1e-2 on sampled coordinates).
 */
import test, { type ExecutionContext } from 'ava';
import { DataType } from '../../src/onnx/dtypes.js';
import { Model } from '../../src/ir/graph.js';
import { RULES } from '../../src/ops/lowering/index.js';
import { lowerTrainingOps } from '../../src/transforms/lower.js';
import { upgradeGraph } from '../../src/transforms/opset-upgrade.js';
import { makeAttribute } from '../../src/builder/index.js';
import { ort } from '../helpers/ort.js';
import { rng } from '../helpers/rng.js';
import {
  checkpointParams, f32, GRAD_BUFFER_SUFFIX, hasArtifact, loadArtifactModel, paramFeeds, randn, randomParams,
  sampleCoordinates, session, toFloat64, trainableNames, type Feeds, type Param,
} from './artifact-harness.js';

interface SetCase {
  readonly set: string;
  /** User inputs of one batch (data + labels/target). */
  readonly batch: () => Feeds;
  readonly params: (evalModel: Model) => Promise<Map<string, Param>>;
  /** Finite differences in float64 (eval model converted) or float32 (sets with Conv: ORT has no double Conv). */
  readonly fdPrecision: 'float64' | 'float32';
  readonly fdStep: number;
  readonly coordinates: { top: number; random: number };
  /**
   * 'each': every sampled coordinate on its own. 'joint': the sampled coordinates together, as one directional
   * derivative along sign(g) on them (ResNet: float32 rounding noise of a 50-layer forward swamps single
   * coordinates at step sizes small enough for its batch-1 curvature).
   */
  readonly fdMode: 'each' | 'joint';
  /** Also check lazy_reset_grad = false accumulation and accumulation: 'none' (skipped for the slow ResNet). */
  readonly extraChecks: boolean;
  /** Turn the eval model into the forward the training graph computes (ResNet: BatchNorm in training mode). */
  readonly trainModeEval?: (m: Model) => Model;
  /** Rules the set needs (skipped while another engineer's rules are missing). */
  readonly needs: readonly string[];
}

const uniform = (seed: number, n: number, lo = 0, hi = 1) => { const r = rng(seed); return Float32Array.from({ length: n }, () => lo + (hi - lo) * r()); };
const labels = (seed: number, n: number, classes: number) => { const r = rng(seed); return new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * classes))), [n]); };

const CASES: SetCase[] = [
  {
    set: 'mnist-mlp-web',
    batch: () => ({ input: f32(uniform(1, 4 * 784), [4, 784]), labels: labels(2, 4, 10) }),
    params: () => checkpointParams('mnist-mlp-web'),
    fdPrecision: 'float64', fdStep: 1e-6, coordinates: { top: 4, random: 4 }, fdMode: 'each', extraChecks: true,
    needs: ['com.microsoft::SoftmaxCrossEntropyLossGrad', 'com.microsoft::ReluGrad'],
  },
  {
    set: 'lora-linear-mse',
    batch: () => ({ input: f32(uniform(3, 5 * 10, -1, 1), [5, 10]), target: f32(uniform(4, 5 * 2, -1, 1), [5, 2]) }),
    params: () => checkpointParams('lora-linear-mse'),
    fdPrecision: 'float64', fdStep: 1e-6, coordinates: { top: 100, random: 0 }, fdMode: 'each', extraChecks: true,
    needs: ['com.microsoft::Scale'],
  },
  {
    set: 'seizureguard-cnn1d',
    // Small inputs keep the (unnormalised) network's loss O(10): float32 finite differences need that.
    batch: () => ({ input: f32(uniform(5, 2 * 18 * 1024, -1e-3, 1e-3), [2, 18, 1024]), labels: labels(6, 2, 2) }),
    params: () => checkpointParams('seizureguard-cnn1d'),
    fdPrecision: 'float32', fdStep: 1e-2, coordinates: { top: 3, random: 2 }, fdMode: 'each', extraChecks: true,
    needs: ['com.microsoft::ConvGrad'],
  },
  {
    set: 'resnet50-conv0',
    batch: () => ({ data: f32(uniform(7, 3 * 224 * 224, -1, 1), [1, 3, 224, 224]), labels: labels(8, 1, 1000) }),
    // No checkpoint is stored for this set: He-uniform convolutions, identity BatchNorm, small dense layer
    // (uniform rather than normal draws: 25 M Box-Muller samples alone take seconds).
    params: async (evalModel) => randomParams(evalModel, ['data', 'labels'], 9, (name, dims, r) => {
      const n = dims.reduce((a, d) => a * d, 1);
      const uniformStd = (std: number) => { const a = std * Math.sqrt(3); return Float32Array.from({ length: n }, () => a * (2 * r() - 1)); };
      if (name.endsWith('_weight') && dims.length === 4) return uniformStd(Math.sqrt(2 / (dims[1] * dims[2] * dims[3])));
      if (name.endsWith('_weight')) return uniformStd(0.01);
      if (name.endsWith('_gamma') || name.endsWith('_running_var')) return new Float32Array(n).fill(1);
      if (name.endsWith('_beta')) return randn(r, n, 0.1);
      return new Float32Array(n);
    }),
    fdPrecision: 'float32', fdStep: 1e-4, coordinates: { top: 16, random: 16 }, fdMode: 'joint', extraChecks: false,
    trainModeEval: batchNormInTrainingMode,
    needs: ['com.microsoft::ConvGrad', 'com.microsoft::BatchNormInternal', 'com.microsoft::BatchNormalizationGrad', 'ai.onnx::MaxPoolGrad'],
  },
];

/**
 * ORT's training graph normalises every BatchNorm with batch statistics (BatchNormInternal, training mode),
 * while eval_model.onnx uses the running statistics. The matching forward is the eval model with standard
 * BatchNormalization-15 in training mode (computed by ORT's own kernel, independent of our lowering).
 */
function batchNormInTrainingMode(m: Model): Model {
  const copy = Model.fromProto(m.toProto());
  const from = copy.opset;
  upgradeGraph(copy.graph, from, 15);
  copy.opsets.set('', 15);
  copy.irVersion = Math.max(copy.irVersion, 8);
  for (const n of copy.graph.nodes) {
    if (n.opType !== 'BatchNormalization') continue;
    n.attributes = n.attributes.filter((a) => a.name !== 'training_mode' && a.name !== 'spatial');
    n.attributes.push(makeAttribute('training_mode', 1));
    // Training mode requires the running-statistics outputs (unused here).
    n.outputs = [n.outputs[0], `${n.name}/running_mean`, `${n.name}/running_var`];
  }
  return copy;
}

async function endToEnd(t: ExecutionContext, c: SetCase): Promise<void> {
  const train = loadArtifactModel(c.set, 'training_model.onnx');
  const evalModel0 = loadArtifactModel(c.set, 'eval_model.onnx');
  const evalModel = c.trainModeEval ? c.trainModeEval(evalModel0) : evalModel0;
  const params = await c.params(evalModel0);
  const batch = c.batch();
  const trainable = trainableNames(train);
  const lossName = train.graph.outputs[0].name!;

  const { model: lowered, report } = lowerTrainingOps(train, { where: c.set });
  t.true(Object.keys(report.lowered).length > 0);
  const s = await session(lowered);
  t.deepEqual([...s.inputNames], train.graph.inputs.map((i) => i.name), 'graph inputs unchanged');

  const zeros = (p: string) => new Float32Array(params.get(p)!.data.length);
  const buffers = (fill: (p: string) => Float32Array): Feeds => Object.fromEntries(trainable.map((p) => [`${p}${GRAD_BUFFER_SUFFIX}`, f32(fill(p), params.get(p)!.dims)]));
  const reset = (v: boolean) => ({ lazy_reset_grad: new ort.Tensor('bool', Uint8Array.from([v ? 1 : 0]), [1]) });
  const out = await s.run({ ...batch, ...paramFeeds(params), ...buffers(zeros), ...reset(true) });

  // Declared output shapes must match what runs (onnxruntime-web fails on a mismatch).
  for (const o of lowered.graph.outputs) {
    const dims = o.type?.tensor_type?.shape?.dim;
    if (!dims) continue;
    dims.forEach((d, i) => {
      if (Object.prototype.hasOwnProperty.call(d, 'dim_value')) t.is(Number(d.dim_value), out[o.name!].dims[i], `${o.name} dim ${i}`);
    });
  }

  // Loss equals the eval model's.
  const ev = await session(evalModel);
  const evalOut = await ev.run({ ...batch, ...paramFeeds(params) });
  const evalLoss = Number(evalOut[ev.outputNames[0]].data[0]);
  const trainLoss = Number(out[lossName].data[0]);
  t.true(Number.isFinite(trainLoss));
  t.true(Math.abs(trainLoss - evalLoss) <= 1e-5 * Math.abs(evalLoss), `train loss ${trainLoss} vs eval loss ${evalLoss}`);
  await ev.release();

  // Gradients: the updated buffers with lazy_reset_grad = true.
  const grads = new Map(trainable.map((p) => [p, out[`${p}${GRAD_BUFFER_SUFFIX}.out`].data as Float32Array]));
  for (const p of trainable) t.is(grads.get(p)!.length, params.get(p)!.data.length, `${p} gradient size`);

  // Accumulation: lazy_reset_grad = false adds to the buffers.
  if (c.extraChecks) {
    const previous = new Map(trainable.map((p) => [p, Float32Array.from(grads.get(p)!, (g, i) => 0.5 + 0.001 * (i % 7))]));
    const acc = await s.run({ ...batch, ...paramFeeds(params), ...buffers((p) => previous.get(p)!), ...reset(false) });
    for (const p of trainable) {
      const a = acc[`${p}${GRAD_BUFFER_SUFFIX}.out`].data as Float32Array;
      const g = grads.get(p)!;
      const prev = previous.get(p)!;
      const bad = a.findIndex((v, i) => v !== Math.fround(prev[i] + g[i]));
      t.is(bad, -1, `${p}: accumulated value at ${bad}`);
    }
  }
  await s.release();

  // Finite differences of the eval loss.
  const fdModel = c.fdPrecision === 'float64' ? toFloat64(evalModel) : evalModel;
  const fd = await session(fdModel);
  const fdFeeds = (over: Map<string, Float64Array>): Feeds => {
    const feeds: Feeds = {};
    for (const [k, v] of Object.entries(batch)) feeds[k] = c.fdPrecision === 'float64' && v.type === 'float32' ? new ort.Tensor('float64', Float64Array.from(v.data as Float32Array), v.dims) : v;
    for (const [k, p] of params) {
      const data = over.get(k) ?? p.data;
      feeds[k] = c.fdPrecision === 'float64' ? new ort.Tensor('float64', Float64Array.from(data), p.dims) : f32(Float32Array.from(data), p.dims);
    }
    return feeds;
  };
  /** Eval loss with parameter p moved by delta along the sparse direction {index: weight}. */
  const lossAt = async (p: string, direction: ReadonlyMap<number, number>, delta: number) => {
    const d = Float64Array.from(params.get(p)!.data);
    for (const [i, w] of direction) d[i] += delta * w;
    const o = await fd.run(fdFeeds(new Map([[p, d]])));
    return Number(o[fd.outputNames[0]].data[0]);
  };
  const h = c.fdStep;
  let checked = 0;
  for (const [k, p] of trainable.entries()) {
    const g = grads.get(p)!;
    const coords = sampleCoordinates(g, c.coordinates.top, c.coordinates.random, 100 + k).filter((i) => g[i] !== 0);
    const directions: [string, Map<number, number>, number][] = c.fdMode === 'each'
      ? coords.map((i) => [`${p}[${i}]`, new Map([[i, 1]]), g[i]])
      : [[`${p} along sign(g) on ${coords.length} sampled coordinates`, new Map(coords.map((i) => [i, Math.sign(g[i]) / Math.sqrt(coords.length)])), coords.reduce((a, i) => a + Math.abs(g[i]), 0) / Math.sqrt(coords.length)]];
    for (const [what, dir, analytic] of directions) {
      const numeric = ((await lossAt(p, dir, h)) - (await lossAt(p, dir, -h))) / (2 * h);
      const rel = Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), 1e-12);
      t.true(rel <= 1e-2, `${what}: lowered ${analytic}, finite difference ${numeric} (rel ${rel.toExponential(2)})`);
      checked++;
    }
  }
  t.true(checked >= trainable.length, `checked ${checked} coordinates/directions`);
  await fd.release();
  if (!c.extraChecks) return;

  // accumulation: 'none' gives the same gradients as outputs named after ORT's gradient values.
  const direct = lowerTrainingOps(train, { accumulation: 'none', flags: false });
  const ds = await session(direct.model);
  t.false(ds.inputNames.includes('lazy_reset_grad'));
  const dout = await ds.run({ ...batch, ...paramFeeds(params) });
  t.deepEqual(direct.report.gradientOutputs, trainable.map((p) => `${p}_grad`));
  for (const p of trainable) t.deepEqual(Array.from(dout[`${p}_grad`].data as Float32Array), Array.from(grads.get(p)!), `${p} direct gradient`);
  t.is(Number(dout[lossName].data[0]), trainLoss);
  await ds.release();
}

for (const c of CASES) {
  const missing = c.needs.filter((op) => !RULES[op]);
  const runnable = hasArtifact(c.set) && missing.length === 0;
  (runnable ? test : test.skip)(`lowerTrainingOps › ${c.set} artifact › loads in stock ORT, loss = eval loss, gradients = finite differences`, (t) => endToEnd(t, c));
}

test('lowerTrainingOps › mnist-mlp-web artifact › exact lowered interface', (t) => {
  if (!hasArtifact('mnist-mlp-web')) return t.pass();
  const { model, report } = lowerTrainingOps(loadArtifactModel('mnist-mlp-web', 'training_model.onnx'));
  const params = ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'];
  t.deepEqual(model.graph.inputs.map((i) => i.name), ['input', 'labels', ...params, ...params.map((p) => `${p}_grad.accumulation.buffer`), 'lazy_reset_grad']);
  t.deepEqual(model.graph.outputs.map((o) => o.name), ['onnx::loss::8', 'output', ...params.map((p) => `${p}_grad.accumulation.out`), ...params.map((p) => `${p}_grad.accumulation.buffer.out`)]);
  t.deepEqual([...model.opsets], [['', 14]]);
  t.deepEqual(report.lowered, { 'com.microsoft::SoftmaxCrossEntropyLossGrad': 1, 'com.microsoft::ReluGrad': 1, 'com.microsoft::InPlaceAccumulatorV2': 4 });
  const out = model.graph.outputs.find((o) => o.name === 'fc1.weight_grad.accumulation.buffer.out')!;
  t.is(out.type?.tensor_type?.elem_type, DataType.FLOAT);
  t.deepEqual(out.type?.tensor_type?.shape?.dim?.map((d) => Number(d.dim_value)), [500, 784]);
});
