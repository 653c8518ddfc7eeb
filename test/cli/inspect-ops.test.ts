/**
 * The "can stock ONNX Runtime run it" verdicts of src/inspect, on small hand-made models: one rule per case.
 */
import test from 'ava';
import { inspectModel, whyNotStandard } from '../../src/inspect/index.js';
import type { ModelProto, NodeProto } from '../../src/onnx/types.js';

const node = (op_type: string, domain = '', extra: Partial<NodeProto> = {}): NodeProto => ({ op_type, domain, input: ['x'], output: ['y'], name: `${op_type}_0`, ...extra });
const model = (nodes: NodeProto[], opset = 17, more: Partial<ModelProto> = {}): ModelProto => ({
  ir_version: 8,
  opset_import: [{ domain: '', version: opset }, { domain: 'com.microsoft', version: 1 }, { domain: 'ai.onnx.ml', version: 3 }],
  graph: { node: nodes, input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'n' }] } } } }] },
  ...more,
});
const verdicts = (m: ModelProto) => inspectModel(m, 'm.onnx').nonStandard.map((o) => `${o.domain}::${o.op} x${o.count}`);

const rules: [string, string, string, number, RegExp | undefined][] = [
  ['standard op', '', 'Relu', 14, undefined],
  ['ai.onnx.ml op', 'ai.onnx.ml', 'TreeEnsembleClassifier', 14, undefined],
  ['ORT training op in the default domain', '', 'MaxPoolGrad', 12, /not an ONNX operator: ONNX Runtime training op/],
  ['LayerNormalization below 17', '', 'LayerNormalization', 14, /introduces LayerNormalization in opset 17; the model imports ai.onnx 14 \(ONNX Runtime contrib op/],
  ['LayerNormalization at 17', '', 'LayerNormalization', 17, undefined],
  ['Gelu before opset 20', '', 'Gelu', 18, /introduces Gelu in opset 20/],
  ['a deprecated op', '', 'Upsample', 13, /deprecated since ai\.onnx 10.*use Resize/],
  ['com.microsoft', 'com.microsoft', 'FusedMatMul', 17, /ONNX Runtime contrib\/training op/],
  ['another domain', 'org.pytorch.aten', 'ATen', 17, /domain "org\.pytorch\.aten" is not a standard ONNX domain/],
  ['a name ONNX never had', '', 'Scale', 9, /^not an ONNX operator$/],
];
for (const [name, domain, op, opset, re] of rules) {
  test(`inspect verdicts › ${name} › ${re ? 'flagged with the reason' : 'runs on stock ORT'}`, (t) => {
    const why = whyNotStandard(domain, op, opset);
    if (re) t.regex(why ?? '', re);
    else t.is(why, undefined);
  });
}

test('inspect verdicts › subgraphs › nodes inside If branches are counted and checked', (t) => {
  const branch = { node: [node('ReluGrad', 'com.microsoft'), node('Relu')] };
  const m = model([node('If', '', { attribute: [{ name: 'then_branch', type: 5, g: branch }, { name: 'else_branch', type: 5, g: { node: [node('Relu')] } }] })]);
  const r = inspectModel(m, 'm.onnx');
  t.is(r.nodes, 4);
  t.deepEqual(r.nonStandard.map((o) => [o.op, o.nodes]), [['ReluGrad', ['If_0/ReluGrad_0']]]);
  t.deepEqual(r.ops.map((o) => `${o.domain}::${o.op} x${o.count}`), ['ai.onnx::If x1', 'ai.onnx::Relu x2', 'com.microsoft::ReluGrad x1']);
});

test('inspect verdicts › local functions › a call is not flagged, its body is', (t) => {
  const fn = { name: 'MyBlock', domain: 'local', node: [node('Relu'), node('Gelu', 'com.microsoft')], opset_import: [{ domain: '', version: 17 }] };
  const m = model([node('MyBlock', 'local'), node('MyBlock', 'local')], 17, { functions: [fn], opset_import: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }, { domain: 'com.microsoft', version: 1 }] });
  t.deepEqual(verdicts(m), ['com.microsoft::Gelu x1']);
  t.deepEqual(inspectModel(m, 'm.onnx').functions, ['local::MyBlock']);
});

test('inspect verdicts › a domain the model does not import › flagged', (t) => {
  const m = model([node('Relu', 'ai.onnx.ml')], 17, { opset_import: [{ domain: '', version: 17 }] });
  t.regex(inspectModel(m, 'm.onnx').nonStandard[0]!.reason, /not imported/);
});

test('inspect verdicts › symbolic, unknown and static dims › as names, null and numbers', (t) => {
  const m = model([node('Relu')]);
  m.graph!.input = [{ name: 'x', type: { tensor_type: { elem_type: 7, shape: { dim: [{ dim_param: 'batch' }, {}, { dim_value: 3 }] } } } }];
  m.graph!.output = [{ name: 'y', type: { sequence_type: { elem_type: { tensor_type: { elem_type: 1 } } } } }];
  const r = inspectModel(m, 'm.onnx');
  t.deepEqual(r.inputs[0], { name: 'x', type: 'int64', shape: ['batch', null, 3], role: 'input' });
  t.deepEqual(r.outputs[0], { name: 'y', type: 'seq(float32)', shape: null });
  t.is(r.kind, 'model');
});
