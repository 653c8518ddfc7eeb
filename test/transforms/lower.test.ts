import test from 'ava';
import { GraphBuilder, Value } from '../../src/builder/index.js';
import { Graph, Model } from '../../src/ir/graph.js';
import { DataType } from '../../src/onnx/dtypes.js';
import { encodeModel } from '../../src/onnx/io.js';
import { CORE_RULES, REFUSED, RULES } from '../../src/ops/lowering/index.js';
import type { LoweringRule } from '../../src/ops/lowering/rule.js';
import { lowerTrainingOps, planLowering, UnloweredOpsError } from '../../src/transforms/lower.js';
import { isStandardOp } from '../../src/transforms/onnx-ops.js';
import { numbers, ortTensor, run } from '../helpers/lowering.js';

const bytes = (m: Model) => Buffer.from(encodeModel(m.toProto())).toString('base64');

/** A graph with an ORT op whose inputs are typed float [2,3]. */
function withNodes(opset: number, add: (b: GraphBuilder, x: Value) => void): Model {
  const b = GraphBuilder.create('g', { opset });
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  add(b, x);
  const m = b.toModel();
  for (const d of b.domainsUsed) m.opsets.set(d, 1);
  return m;
}

test('lowerTrainingOps › several unsupported ops › one UNLOWERED_OP error lists every node and reason; input untouched', (t) => {
  const m = withNodes(17, (b, x) => {
    const ms = 'com.microsoft';
    const [a] = b.node('Foo', [x], { domain: ms, nameHint: 'foo_a' });
    const [c] = b.node('Foo', [a], { domain: ms, nameHint: 'foo_b' });
    const [l] = b.node('LSTMGrad', [c], { domain: ms, nameHint: 'lstm_grad' });
    const [p] = b.node('PythonOp', [l], { domain: ms, nameHint: 'py' });
    const [at] = b.node('ATen', [p], { domain: 'org.pytorch.aten', nameHint: 'aten' });
    // ReluGrad whose operand types are unknown: its rule exists but refuses.
    const untyped = b.input('u', DataType.UNDEFINED, [2, 3]);
    const [rg] = b.node('ReluGrad', [untyped, untyped], { domain: ms, nameHint: 'relu_grad' });
    b.output(at, 'y', DataType.FLOAT);
    b.output(rg, 'z', DataType.FLOAT);
  });
  const before = bytes(m);
  const err = t.throws(() => lowerTrainingOps(m, { where: 'model.onnx' }), { instanceOf: UnloweredOpsError }) as UnloweredOpsError;
  t.is(err.code, 'UNLOWERED_OP');
  t.is(err.where, 'model.onnx');
  t.deepEqual(err.problems.map((p) => `${p.op} ${p.node}`), [
    'com.microsoft::Foo foo_a', 'com.microsoft::Foo foo_b', 'com.microsoft::LSTMGrad lstm_grad', 'com.microsoft::PythonOp py',
    'org.pytorch.aten::ATen aten', 'com.microsoft::ReluGrad relu_grad',
  ]);
  t.regex(err.message, /6 node\(s\) using 5 op\(s\) cannot be lowered/);
  t.regex(err.message, /com\.microsoft::Foo × 2 \("foo_a", "foo_b"\): no lowering rule covers this op/);
  t.regex(err.message, /LSTMGrad × 1 \("lstm_grad"\): ORT's recurrent training ops/);
  t.regex(err.message, /PythonOp × 1 \("py"\): runs Python code/);
  t.regex(err.message, /ATen × 1 \("aten"\): calls a PyTorch ATen kernel/);
  t.regex(err.message, /ReluGrad × 1 \("relu_grad"\): the element type of dY\/X is unknown/);
  t.is(bytes(m), before, 'the argument is not modified');
});

test('lowerTrainingOps › keep › listed contrib ops stay and keep their opset import', async (t) => {
  const m = withNodes(17, (b, x) => {
    const [g] = b.node('Gelu', [x], { domain: 'com.microsoft', nameHint: 'gelu' });
    const [r] = b.node('ReluGrad', [g, x], { domain: 'com.microsoft', nameHint: 'rg' });
    b.output(new Value(r.name, DataType.FLOAT), 'y', DataType.FLOAT);
  });
  const { model, report } = lowerTrainingOps(m, { keep: ['com.microsoft::Gelu'] });
  t.deepEqual(report.lowered, { 'com.microsoft::ReluGrad': 1 });
  t.true(model.graph.nodes.some((n) => n.opType === 'Gelu' && n.domain === 'com.microsoft'));
  t.is(model.opsets.get('com.microsoft'), 1);
  const x = numbers(1, 6);
  const out = await run(model, { x: ortTensor(DataType.FLOAT, [2, 3], x) });
  const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
  out.y.data.forEach((v, i) => t.true(Math.abs(v - (x[i] > 0 ? gelu(x[i]) : 0)) < 1e-5));
});

// erf with fractional error < 1.2e-7 (Numerical Recipes erfc approximation).
function erf(x: number): number {
  const s = Math.sign(x); const a = Math.abs(x);
  const t = 1 / (1 + 0.5 * a);
  const y = 1 - t * Math.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return s * y;
}

/** A test rule that needs opset 16 (ScatterElements with reduction="add"): out = x with x[0] added to itself. */
const needs16: LoweringRule = {
  op: 'test.domain::DoubleFirst',
  minOpset: 16,
  check: () => undefined,
  lower(n, ctx) {
    const b = ctx.b;
    const x = new Value(n.inputs[0], DataType.FLOAT);
    const flat = b.op.Reshape(x, [-1]);
    const first = b.op.Slice(flat, [0], [1]);
    return [b.op.Reshape(b.op.ScatterElements(flat, b.i64([0]), first, 0, 'add'), b.op.Shape(x))];
  },
};

test('lowerTrainingOps › opset 12 model, a rule needing 16 › existing nodes upgraded with unchanged results', async (t) => {
  const build = (withTrainingOp: boolean) => {
    const b = GraphBuilder.create('g', { opset: 12 });
    const x = b.input('x', DataType.FLOAT, [2, 3, 4]);
    b.output(b.op.Softmax(x, 1), 'softmax_axis1');
    b.output(b.op.LogSoftmax(x, -1), 'logsoftmax_last');
    b.output(b.node1('Hardmax', [x], { axis: 0 }), 'hardmax_axis0', DataType.FLOAT);
    const rs = b.op.ReduceSum(x, [1], 0);
    b.output(rs, 'reducesum');
    b.output(b.op.Squeeze(b.op.Unsqueeze(rs, [0]), [0]), 'squeeze_unsqueeze');
    const [s1, s2] = b.op.Split(x, 2, [1, 3]);
    b.output(s1, 'split_a');
    b.output(s2, 'split_b');
    if (withTrainingOp) {
      const [d] = b.node('DoubleFirst', [x], { domain: 'test.domain' });
      b.output(d, 'doubled', DataType.FLOAT);
    }
    const m = b.toModel();
    m.irVersion = 7;
    return m;
  };
  const x = numbers(3, 24, -2, 2);
  const feeds = { x: ortTensor(DataType.FLOAT, [2, 3, 4], x) };
  const reference = await run(build(false), feeds);
  const { model, report } = lowerTrainingOps(build(true), { rules: { [needs16.op]: needs16 } });
  t.deepEqual(report.opset, { from: 12, to: 16 });
  t.deepEqual(report.upgraded, { Softmax: 1, LogSoftmax: 1, Hardmax: 1, ReduceSum: 1, Unsqueeze: 1, Squeeze: 1, Split: 1 });
  t.is(model.opset, 16);
  t.is(model.irVersion, 8);
  t.false(model.opsets.has('test.domain'));
  const out = await run(model, feeds);
  for (const [k, v] of Object.entries(reference)) {
    t.deepEqual(out[k].dims, v.dims, k);
    v.data.forEach((r, i) => t.true(Math.abs(out[k].data[i] - r) <= 1e-6 * Math.max(1, Math.abs(r)), `${k}[${i}]`));
  }
  t.is(out.doubled.data[0], Math.fround(2 * x[0]));
  t.deepEqual(out.doubled.data.slice(1), x.slice(1).map(Math.fround));
});

test('lowerTrainingOps › upgrade impossible (opset 11; BatchNormalization-9 training outputs) › listed with the other problems', (t) => {
  const m11 = withNodes(11, (b, x) => {
    const [d] = b.node('DoubleFirst', [x], { domain: 'test.domain', nameHint: 'dbl' });
    b.output(d, 'y', DataType.FLOAT);
  });
  const e1 = t.throws(() => lowerTrainingOps(m11, { rules: { [needs16.op]: needs16 } }), { instanceOf: UnloweredOpsError }) as UnloweredOpsError;
  t.regex(e1.message, /needs opset 16 but the model is at opset 11; upgrading from below 12 is not implemented/);

  const m12 = withNodes(12, (b, x) => {
    const c = b.initializer('c', DataType.FLOAT, [3], [1, 1, 1]);
    const outs = b.node('BatchNormalization', [b.op.Unsqueeze(x, [2]), c, c, c, c], { outputs: 5, nameHint: 'bn' });
    b.output(outs[0], 'y', DataType.FLOAT);
    const [d] = b.node('DoubleFirst', [x], { domain: 'test.domain', nameHint: 'dbl' });
    b.output(d, 'z', DataType.FLOAT);
  });
  const e2 = t.throws(() => lowerTrainingOps(m12, { rules: { [needs16.op]: needs16 } }), { instanceOf: UnloweredOpsError }) as UnloweredOpsError;
  t.deepEqual(e2.problems.map((p) => p.node), ['bn']);
  t.regex(e2.message, /BatchNormalization-9 with training-mode outputs has no equivalent at opset 16/);
});

test('lowerTrainingOps › cleanup › unused opset imports, dead nodes and their value_info go; used ones stay', (t) => {
  const m = withNodes(14, (b, x) => {
    const [r] = b.node('ReluGrad', [x, x], { domain: 'com.microsoft', nameHint: 'rg' });
    b.output(new Value(r.name, DataType.FLOAT), 'y', DataType.FLOAT);
    const dead = b.op.Neg(x);
    b.annotate(dead, DataType.FLOAT, [2, 3]);
    b.annotate(r, DataType.FLOAT, [2, 3]);
  });
  for (const d of ['ai.onnx.training', 'ai.onnx.preview.training', 'com.microsoft.nchwc', 'org.pytorch.aten', 'ai.onnx.ml']) m.opsets.set(d, 1);
  const { model, report, changed } = lowerTrainingOps(m);
  t.true(changed);
  t.deepEqual([...model.opsets.keys()], ['']);
  t.deepEqual([...report.removedOpsetImports].sort(), ['ai.onnx.ml', 'ai.onnx.preview.training', 'ai.onnx.training', 'com.microsoft', 'com.microsoft.nchwc', 'org.pytorch.aten']);
  t.is(report.removedNodes, 1);
  t.is(report.removedValueInfo, 1);
  t.deepEqual([...model.graph.valueInfo.keys()], ['rg:0']);
});

test('lowerTrainingOps › already lowered model › nothing to do, changed = false', (t) => {
  const m = withNodes(14, (b, x) => {
    const [r] = b.node('ReluGrad', [x, x], { domain: 'com.microsoft', nameHint: 'rg' });
    b.output(new Value(r.name, DataType.FLOAT), 'y', DataType.FLOAT);
  });
  const once = lowerTrainingOps(m);
  const twice = lowerTrainingOps(once.model);
  t.false(twice.changed);
  t.deepEqual(twice.report.lowered, {});
  const summary = (mm: Model) => JSON.stringify([mm.graph.nodes.map((n) => [n.opType, n.domain, n.inputs, n.outputs]), mm.graph.inputs.map((i) => i.name), mm.graph.outputs.map((o) => o.name), [...mm.opsets]]);
  t.is(summary(twice.model), summary(once.model));
});

test('lowerTrainingOps › unnamed training node › lowered, error labels use the node index', (t) => {
  const m = withNodes(14, (b, x) => {
    const [r] = b.node('ReluGrad', [x, x], { domain: 'com.microsoft' });
    b.output(new Value(r.name, DataType.FLOAT), 'y', DataType.FLOAT);
  });
  for (const n of m.graph.nodes) n.name = '';
  t.deepEqual(lowerTrainingOps(m).report.lowered, { 'com.microsoft::ReluGrad': 1 });
  const bad = withNodes(14, (b, x) => { const [r] = b.node('Nope', [x], { domain: 'com.microsoft' }); b.output(r, 'y', DataType.FLOAT); });
  for (const n of bad.graph.nodes) n.name = '';
  const err = t.throws(() => lowerTrainingOps(bad)) as UnloweredOpsError;
  t.deepEqual(err.problems.map((p) => p.node), ['#0']);
});

test('planLowering › inspection › reports items and target opset without changing the model', (t) => {
  const m = withNodes(14, (b, x) => {
    const [r] = b.node('ReluGrad', [x, x], { domain: 'com.microsoft', nameHint: 'rg' });
    const [f] = b.node('Frobnicate', [r], { domain: 'com.microsoft', nameHint: 'fr' });
    b.output(f, 'y', DataType.FLOAT);
  });
  const before = bytes(m);
  const plan = planLowering(m);
  t.deepEqual(plan.items.map((i) => i.rule.op), ['com.microsoft::ReluGrad']);
  t.deepEqual(plan.problems.map((p) => p.op), ['com.microsoft::Frobnicate']);
  t.is(plan.to, 14);
  t.is(bytes(m), before);
});

test('RULES › table › keys match rule ops, no key is both a rule and refused, core rules included', (t) => {
  for (const [k, r] of Object.entries(RULES)) t.is(r.op, k);
  for (const k of Object.keys(REFUSED)) t.false(k in RULES, k);
  for (const k of Object.keys(CORE_RULES)) t.is(RULES[k], CORE_RULES[k]);
  for (const k of Object.keys(RULES)) {
    const [domain, op] = k.split('::');
    t.false(isStandardOp(domain === 'ai.onnx' ? '' : domain, op, 13), `${k} is standard at opset 13 and would never be looked up`);
  }
});

test('lowerTrainingOps › ops inside a subgraph › refused with the reason', (t) => {
  const body = new Graph('then_branch');
  const sb = new GraphBuilder(body, { opset: 17 });
  const [r] = sb.node('ReluGrad', ['x', 'x'], { domain: 'com.microsoft', nameHint: 'inner' });
  sb.output(r, 'o', DataType.FLOAT);
  const m = withNodes(17, (b, x) => {
    const cond = b.input('c', DataType.BOOL, []);
    const [y] = b.node('If', [cond], { attrs: { then_branch: body, else_branch: body }, nameHint: 'if' });
    b.output(y, 'y', DataType.FLOAT);
    void x;
  });
  const err = t.throws(() => lowerTrainingOps(m)) as UnloweredOpsError;
  t.regex(err.message, /inside the subgraph "then_branch"/);
});
