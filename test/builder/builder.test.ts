import test from 'ava';
import { GraphBuilder } from '../../src/builder/index.js';
import { DataType } from '../../src/onnx/dtypes.js';
import { runModel, f32, i64 } from '../helpers/ort.js';

test('builder › elementwise with lifted constants › runs on ORT and matches JS', async (t) => {
  const b = GraphBuilder.create('affine');
  const x = b.input('x', DataType.FLOAT, [3]);
  const y = b.scope('affine', () => b.op.Add(b.op.Mul(x, 0.5), 1));
  b.output(y, 'y');
  const out = await runModel(b.toModel(), { x: f32([2, 4, -6]) });
  t.deepEqual(Array.from(out.y.data as Float32Array), [2, 3, -2]);
  t.true(b.graph.nodes.every((n) => n.name.startsWith('affine/') || n.opType === 'Identity' || n.opType === 'Constant'));
});

test('builder › constants › equal constants are emitted once', (t) => {
  const b = GraphBuilder.create();
  const a = b.f32(0.9);
  const c = b.f32(0.9);
  t.is(a.name, c.name);
  t.not(b.f32(0.8).name, a.name);
  t.not(b.const(0.9, DataType.DOUBLE).name, a.name);
});

test('builder › opset-aware reductions › axes input at 18, attribute at 12', async (t) => {
  for (const opset of [12, 13, 17, 18]) {
    const b = GraphBuilder.create('r', { opset });
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    b.output(b.op.ReduceSum(b.op.ReduceMean(x, [1], 1), [0], 0), 'y');
    b.output(b.op.Squeeze(b.op.Unsqueeze(x, [0]), [0]), 'z');
    const out = await runModel(b.toModel(), { x: f32([1, 2, 3, 4, 5, 6], [2, 3]) });
    t.is((out.y.data as Float32Array)[0], 7, `opset ${opset}`);
    t.deepEqual(out.z.dims, [2, 3]);
  }
});

test('builder › int64 constants and Where › step arithmetic is exact', async (t) => {
  const b = GraphBuilder.create('s');
  const step = b.input('step', DataType.INT64, [1]);
  const big = b.op.Greater(step, b.i64(5));
  b.output(b.op.Where(big, b.op.Cast(step, DataType.FLOAT), 0), 'y');
  const out = await runModel(b.toModel(), { step: i64([7]) });
  t.is((out.y.data as Float32Array)[0], 7);
  const out2 = await runModel(b.toModel(), { step: i64([3]) });
  t.is((out2.y.data as Float32Array)[0], 0);
});
