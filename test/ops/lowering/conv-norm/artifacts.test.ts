/**
 * The rules against the real ORT training artifacts in ../shared/artifacts (read by path, never copied):
 * every conv/pool/norm node applies with the model's own value_info at the model's opset, lowers in place to
 * default-domain ops valid at that opset, and the distinct ConvGrad attribute sets found there give the
 * reference gradients on small inputs.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { readModel } from '../../../../src/onnx/io.js';
import { Model, type Node } from '../../../../src/ir/graph.js';
import { CONV_NORM_RULES } from '../../../../src/ops/lowering/conv-norm/index.js';
import { convGrad, randomTensor, rng, windowOutput } from '../../../reference/conv-norm.js';
import { close, f32, lowerCase, nums, runModel, shapeInfo } from '../../../helpers/lowering.js';
import { ort, type Feeds } from '../../../helpers/ort.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.resolve(here, '../../../../../shared/artifacts');
const model = (set: string) => path.join(artifacts, set, 'training_model.onnx');
const available = (set: string) => fs.existsSync(model(set));

const expected: Record<string, Record<string, number>> = {
  'resnet50-conv0': {
    'com.microsoft::ConvGrad': 53, 'com.microsoft::BatchNormInternal': 53, 'com.microsoft::BatchNormalizationGrad': 53, 'ai.onnx::MaxPoolGrad': 1,
  },
  'seizureguard-cnn1d': { 'com.microsoft::ConvGrad': 2 },
};

for (const [set, counts] of Object.entries(expected)) {
  const run_ = available(set) ? test : test.skip;
  run_(`conv-norm rules › ${set} training model › every node applies and lowers in place to standard ops`, (t) => {
    const m = Model.fromProto(readModel(model(set)));
    const g = m.graph;
    const mine = g.nodes.filter((n) => CONV_NORM_RULES[n.qualifiedOp]);
    const found: Record<string, number> = {};
    for (const n of mine) found[n.qualifiedOp] = (found[n.qualifiedOp] ?? 0) + 1;
    t.deepEqual(found, counts);

    const b = new GraphBuilder(g, { opset: m.opset });
    const ctx = { b, shapes: shapeInfo(g), opset: m.opset };
    const reasons = mine.map((n) => CONV_NORM_RULES[n.qualifiedOp].check(n, ctx)).filter((r) => r !== undefined);
    t.deepEqual(reasons, []);

    const before = new Set(g.nodes);
    for (const n of mine) {
      const vals = CONV_NORM_RULES[n.qualifiedOp].lower(n, ctx);
      g.removeNode(n);
      n.outputs.forEach((name, i) => {
        if (!name) return;
        t.truthy(vals[i], `${n.name} output ${i}`);
        b.node('Identity', [vals[i]!], { outputs: [name] });
      });
    }
    g.topoSort();
    const emitted = g.nodes.filter((n) => !before.has(n));
    t.true(emitted.every((n) => n.domain === ''), 'only default-domain nodes are emitted');
    t.false(g.nodes.some((n) => CONV_NORM_RULES[n.qualifiedOp]), 'no conv/pool/norm training op remains');
    if (m.opset < 13) {
      const reductions = emitted.filter((n: Node) => n.opType.startsWith('Reduce'));
      t.true(reductions.length > 0 && reductions.every((n) => n.inputs.length === 1 && n.attrInts('axes') !== undefined), 'reductions take axes as attributes below opset 13');
    }
    if (m.opset < 16) t.false(emitted.some((n) => n.attrString('reduction') === 'add'), 'no scatter reduction below opset 16');
  });
}

/** The distinct ConvGrad attribute sets of both artifacts, with the input's channel and spatial sizes. */
function convConfigs(): { key: string; kernel: number[]; strides: number[]; pads: number[]; dilations: number[]; group: number; S: number[]; C: number; M: number; outputs: string[] }[] {
  const out = new Map<string, ReturnType<typeof convConfigs>[number]>();
  for (const set of Object.keys(expected).filter(available)) {
    const m = Model.fromProto(readModel(model(set)));
    const shapes = shapeInfo(m.graph);
    for (const n of m.graph.nodes.filter((x) => x.opType === 'ConvGrad')) {
      const kernel = n.attrInts('kernel_shape')!;
      const cfg = {
        kernel, strides: n.attrInts('strides') ?? kernel.map(() => 1), pads: n.attrInts('pads') ?? [...kernel, ...kernel].map(() => 0),
        dilations: n.attrInts('dilations') ?? kernel.map(() => 1), group: n.attrInt('group', 1),
      };
      const xDims = shapes.shape(n.inputs[1])!.map(Number);
      const wDims = shapes.shape(n.inputs[2])!.map(Number);
      const key = `${set} ${JSON.stringify(cfg)} outputs=${n.outputs.map((o) => (o ? 1 : 0)).join('')}`;
      if (!out.has(key)) out.set(key, { key, ...cfg, S: xDims.slice(2), C: wDims[1] * cfg.group, M: wDims[0], outputs: n.outputs.map((o, i) => (o ? ['dX', 'dW', 'dB'][i] : '')) });
    }
  }
  return [...out.values()];
}

const configs = available('resnet50-conv0') || available('seizureguard-cnn1d') ? convConfigs() : [];

for (const cfg of configs) {
  test(`ConvGrad › artifact attributes ${cfg.key} › small inputs match the reference`, async (t) => {
    // Small sizes with the real attributes: at most 3 input / 4 output channels, spatial at most 2 windows past the kernel.
    const group = cfg.group;
    const C = group === 1 ? Math.min(cfg.C, 3) : group;
    const M = group === 1 ? Math.min(cfg.M, 4) : group;
    const S = cfg.S.map((s, i) => Math.min(s, (cfg.kernel[i] - 1) * cfg.dilations[i] + 1 + 2 * cfg.strides[i] + 1));
    const p = { kernel: cfg.kernel, strides: cfg.strides, dilations: cfg.dilations, pads: cfg.pads };
    const ys = windowOutput(S, p);
    const r = rng(cfg.key.length);
    const x = randomTensor([2, C, ...S], r);
    const w = randomTensor([M, C / group, ...cfg.kernel], r);
    const dy = randomTensor([2, M, ...ys], r);
    const F = DataType.FLOAT;
    const lowered = lowerCase({
      opType: 'ConvGrad', domain: 'com.microsoft', opset: 12,
      inputs: [{ name: 'dY', dtype: F, shape: ['N', M, ...ys] }, { name: 'X', dtype: F, shape: ['N', C, ...S] }, { name: 'W', dtype: F, shape: w.dims }],
      outputs: cfg.outputs, attrs: { kernel_shape: cfg.kernel, strides: cfg.strides, pads: cfg.pads, dilations: cfg.dilations, group },
    });
    const out = await runModel(lowered.model, { dY: f32(dy), X: f32(x), W: f32(w) });
    const ref = convGrad(dy, x, w, group, p);
    const refs = { dX: ref.dX.data, dW: ref.dW.data, dB: ref.dB.data };
    for (const name of cfg.outputs.filter((o) => o) as ('dX' | 'dW' | 'dB')[]) {
      close(t, nums(out[name]), refs[name], { rtol: 1e-4, atol: 1e-5 }, `${name} vs reference`);
    }
  });
}

/** Keeps only the first graph output (the loss) and what it needs, dropping unused graph inputs. */
function lossOnly(m: Model): Model {
  const g = m.graph;
  g.outputs = g.outputs.slice(0, 1);
  g.removeDeadNodes();
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  g.inputs = g.inputs.filter((i) => used.has(i.name ?? ''));
  g.invalidate();
  return m;
}

const resnet = available('resnet50-conv0') ? test : test.skip;
resnet('BatchNormInternal › resnet50-conv0 forward (opset 12) with all 53 lowered › loss equals the model with ORT\'s training-mode BatchNormalization', async (t) => {
  // Lowered: every BatchNormInternal through the rule (the rest of the forward graph is standard).
  const lowered = Model.fromProto(readModel(model('resnet50-conv0')));
  const b = new GraphBuilder(lowered.graph, { opset: lowered.opset });
  const ctx = { b, shapes: shapeInfo(lowered.graph), opset: lowered.opset };
  for (const n of lowered.graph.nodes.filter((x) => x.opType === 'BatchNormInternal')) {
    const vals = CONV_NORM_RULES[n.qualifiedOp].lower(n, ctx);
    lowered.graph.removeNode(n);
    n.outputs.forEach((name, i) => { if (name) b.node('Identity', [vals[i]!], { outputs: [name] }); });
  }
  lowered.graph.topoSort();
  // Oracle: the same nodes as ORT's own BatchNormalization-9 with five outputs (its training mode).
  const oracle = Model.fromProto(readModel(model('resnet50-conv0')));
  for (const n of oracle.graph.nodes.filter((x) => x.opType === 'BatchNormInternal')) {
    n.domain = '';
    n.opType = 'BatchNormalization';
    n.attributes = n.attributes.filter((a) => a.name !== 'training_mode');
  }
  const a = lossOnly(lowered);
  const o = lossOnly(oracle);
  t.false(a.graph.nodes.some((n) => n.domain !== ''), 'the forward graph is all standard ops after lowering');

  const r = rng(2024);
  const feeds: Feeds = {};
  const shapes = shapeInfo(o.graph);
  for (const i of o.graph.inputs) {
    const name = i.name!;
    const dims = shapes.shape(name)!.map((d) => (typeof d === 'number' ? d : 1));
    if (name === 'labels') { feeds[name] = new ort.Tensor('int64', BigInt64Array.from([3n]), dims); continue; }
    const lo = name.includes('running_var') ? 0.5 : name === 'data' ? -1 : -0.1;
    const hi = name.includes('running_var') ? 1.5 : name === 'data' ? 1 : 0.1;
    feeds[name] = f32(randomTensor(dims, r, lo, hi));
  }
  // The lowered graph needs no running statistics (its running outputs are dead, as in ORT's artifacts).
  const mineFeeds = Object.fromEntries(a.graph.inputs.map((i) => [i.name!, feeds[i.name!]]));
  const [mine, theirs] = [await runModel(a, mineFeeds), await runModel(o, feeds)];
  const loss = a.graph.outputs[0].name!;
  const [x, y] = [nums(mine[loss])[0], nums(theirs[loss])[0]];
  t.log(`loss: lowered ${x}, ORT BatchNormalization ${y}`);
  t.true(Number.isFinite(x));
  t.true(Math.abs(x - y) <= 1e-4 * Math.abs(y) + 1e-5, `loss ${x} vs ORT ${y}`);
});
