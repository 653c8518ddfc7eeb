import test from 'ava';
import { GraphBuilder } from '../../src/builder/index.js';
import { Model } from '../../src/ir/graph.js';
import { DataType } from '../../src/onnx/dtypes.js';
import { cloneModel } from '../../src/onnx/io.js';
import { inferShapeInfo } from '../../src/transforms/shape-info.js';

function model(): Model {
  const b = GraphBuilder.create('g', { opset: 17 });
  const x = b.input('x', DataType.FLOAT, ['batch', 3]);
  b.graph.inputs.push({ name: 'u', type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{}, {}] } } } });
  b.input('p', DataType.FLOAT, [3]);
  // p's value_info comes from its graph input; value p is typed but not constant
  b.graph.initializers.set('p', { name: 'p', data_type: DataType.FLOAT, dims: [3], float_data: [1, 2, 3] });
  b.initializer('k', DataType.INT64, [2], [7, -9]);
  b.initializer('k2', DataType.INT64, [2], [2, 4]);
  const r = b.op.Relu(x);
  b.output(b.op.Shape(r), 'shape');
  b.output(b.op.Cast(r, DataType.DOUBLE), 'cast');
  b.output(b.op.Equal(r, b.value('p')), 'eq');
  b.output(b.op.ConstantOfShape(b.value('k2'), 0, DataType.INT32), 'zeros');
  b.node('Constant', [], { attrs: { value_ints: [4, 5, 6] }, outputs: ['ci'] });
  return b.toModel();
}

test('inferShapeInfo › graph inputs › numbers, symbolic names, and a distinct ?k per unspecified dim', (t) => {
  const s = inferShapeInfo(model().graph);
  t.deepEqual(s.shape('x'), ['batch', 3]);
  const u = s.shape('u')!;
  t.is(u.length, 2);
  t.not(u[0], u[1]);
  t.regex(String(u[0]), /^\?\d+$/);
  t.is(s.rank('u'), 2);
});

test('inferShapeInfo › constants › initializers that are not graph inputs and Constant nodes only', (t) => {
  const s = inferShapeInfo(model().graph);
  t.is(s.constant('p'), undefined, 'an initializer that is also a graph input can be overridden');
  t.deepEqual(Array.from(s.constant('k')!.data, Number), [7, -9]);
  t.deepEqual(Array.from(s.constant('ci')!.data, Number), [4, 5, 6]);
  t.is(s.dtype('ci'), DataType.INT64);
});

test('inferShapeInfo › decoded model › int64 constants read correctly from (possibly unaligned) raw_data', (t) => {
  const m = Model.fromProto(cloneModel(model().toProto()));
  const s = inferShapeInfo(m.graph);
  t.deepEqual(Array.from(s.constant('k')!.data, Number), [7, -9]);
});

test('inferShapeInfo › propagation › element types and simple shapes follow the ops', (t) => {
  const m = model();
  const s = inferShapeInfo(m.graph);
  const relu = m.graph.nodes.find((n) => n.opType === 'Relu')!.outputs[0];
  t.is(s.dtype(relu), DataType.FLOAT);
  t.deepEqual(s.shape(relu), ['batch', 3]);
  const shape = m.graph.nodes.find((n) => n.opType === 'Shape')!.outputs[0];
  t.is(s.dtype(shape), DataType.INT64);
  t.deepEqual(s.shape(shape), [2]);
  const cast = m.graph.nodes.find((n) => n.opType === 'Cast')!.outputs[0];
  t.is(s.dtype(cast), DataType.DOUBLE);
  const eq = m.graph.nodes.find((n) => n.opType === 'Equal')!.outputs[0];
  t.is(s.dtype(eq), DataType.BOOL);
  t.deepEqual(s.shape(eq), ['batch', 3]);
  const zeros = m.graph.nodes.find((n) => n.opType === 'ConstantOfShape')!.outputs[0];
  t.is(s.dtype(zeros), DataType.INT32);
  t.deepEqual(s.shape(zeros), [2, 4]);
});
