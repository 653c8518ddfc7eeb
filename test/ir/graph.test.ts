import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Graph, Model, Node } from '../../src/ir/graph.js';
import { validateModel, assertValid } from '../../src/ir/validate.js';
import { GraphBuilder } from '../../src/builder/index.js';
import { DataType } from '../../src/onnx/dtypes.js';
import { readModel } from '../../src/onnx/io.js';
import { ARTIFACTS, ARTIFACT_SETS } from '../helpers/paths.js';
import { runModel, f32 } from '../helpers/ort.js';

function chain(): GraphBuilder {
  const b = GraphBuilder.create('c');
  const x = b.input('x', DataType.FLOAT, [2]);
  const y = b.op.Relu(b.op.Neg(x));
  b.output(y, 'y');
  return b;
}

test('ir › producer and uses › follow edits', (t) => {
  const b = chain();
  const g = b.graph;
  const neg = g.nodes.find((n) => n.opType === 'Neg')!;
  const relu = g.nodes.find((n) => n.opType === 'Relu')!;
  t.is(g.producer(neg.outputs[0]), neg);
  t.deepEqual(g.uses(neg.outputs[0]).map((u) => u.node), [relu]);
  const abs = new Node({ opType: 'Abs', name: 'abs', inputs: ['x'], outputs: ['a'] });
  g.addNode(abs, neg);
  g.replaceAllUses(neg.outputs[0], 'a');
  t.deepEqual(g.uses('a').map((u) => u.node), [relu]);
  t.deepEqual(g.uses(neg.outputs[0]), []);
  t.is(g.removeDeadNodes(), 1); // Neg is dead now
});

test('ir › topoSort › stable order and cycles are named', (t) => {
  const b = chain();
  const g = b.graph;
  g.nodes.reverse();
  g.invalidate();
  t.true(validateModel(b.toModel()).some((i) => /before the node that produces it/.test(i.message)));
  g.topoSort();
  t.deepEqual(validateModel(b.toModel()), []);
  const n1 = new Node({ opType: 'Neg', name: 'p', inputs: ['q_out'], outputs: ['p_out'] });
  const n2 = new Node({ opType: 'Neg', name: 'q', inputs: ['p_out'], outputs: ['q_out'] });
  g.addNode(n1); g.addNode(n2);
  const err = t.throws(() => g.topoSort());
  t.regex(err!.message, /cycle.*p, q/);
});

test('ir › uniqueName › deterministic and never reuses a name', (t) => {
  const g = new Graph('g');
  g.inputs.push({ name: 'w' });
  t.is(g.uniqueName('w'), 'w_1');
  t.is(g.uniqueName('w'), 'w_2');
  t.is(g.uniqueName('v'), 'v');
  t.is(g.uniqueName('v'), 'v_1');
  const g2 = new Graph('g');
  g2.inputs.push({ name: 'w' });
  t.is(g2.uniqueName('w'), 'w_1');
});

test('ir › subgraphs › If branches are Graphs that see outer values', async (t) => {
  const b = GraphBuilder.create('outer');
  const x = b.input('x', DataType.FLOAT, [2]);
  const c = b.input('c', DataType.BOOL, []);
  const thenB = new GraphBuilder(new Graph('then', b.graph));
  thenB.output(thenB.op.Neg(x), 't_out', DataType.FLOAT);
  const elseB = new GraphBuilder(new Graph('else', b.graph));
  elseB.output(elseB.op.Abs(x), 'e_out', DataType.FLOAT);
  const [y] = b.node('If', [c], { attrs: { then_branch: thenB.graph, else_branch: elseB.graph } });
  b.output(y, 'y', DataType.FLOAT);
  const m = b.toModel();
  t.deepEqual(validateModel(m), []);
  t.true(b.graph.uses('x').length > 0, 'outer reference counted as a use');
  const back = Model.fromProto(m.toProto());
  t.is(back.graph.nodes[0].subgraphs.size, 2);
  const out = await runModel(m, { x: f32([-1, 2]), c: new (await import('onnxruntime-node')).Tensor('bool', Uint8Array.from([1]), []) });
  t.deepEqual(Array.from(out.y.data as Float32Array), [1, -2]);
});

test('validate › broken models › every problem is listed at once', (t) => {
  const b = chain();
  const g = b.graph;
  g.nodes[0].inputs[0] = 'nope';
  g.addNode(new Node({ opType: 'Foo', domain: 'com.example', name: g.nodes[0].name, inputs: ['x'], outputs: ['z'] }));
  g.nodes[1].attributes.push({ name: 'axis', type: 2, f: 1.5 });
  g.outputs.push({ name: 'missing' });
  const issues = validateModel(b.toModel()).map((i) => i.message);
  t.true(issues.some((m) => /"nope" is not defined/.test(m)));
  t.true(issues.some((m) => /duplicate node name/.test(m)));
  t.true(issues.some((m) => /com\.example" has no opset import/.test(m)));
  t.true(issues.some((m) => /type is INT but field\(s\) f are set|"i" is not set/.test(m)));
  t.true(issues.some((m) => /"missing" is never produced/.test(m)));
  const err = t.throws(() => assertValid(b.toModel(), 'm.onnx'));
  t.regex(err!.message, /problem\(s\)/);
});

test('validate › real artifacts › eval models are valid', (t) => {
  for (const s of ARTIFACT_SETS) {
    const f = path.join(ARTIFACTS, s, 'eval_model.onnx');
    if (!fs.existsSync(f)) continue;
    t.deepEqual(validateModel(Model.fromProto(readModel(f))), [], s);
  }
});
