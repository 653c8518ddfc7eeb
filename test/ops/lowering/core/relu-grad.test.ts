import test from 'ava';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { GraphBuilder } from '../../../../src/builder/index.js';
import { centralDifference, reluGrad } from '../../../reference/lowering-core.js';
import { lowerSpec, numbers, ortTensor, run, runLowered, type OpSpec } from '../../../helpers/lowering.js';
import { UnloweredOpsError } from '../../../../src/transforms/lower.js';

const spec = (dtype: number, dims: number[], dY: number[], x: number[]): OpSpec => ({
  op: 'com.microsoft::ReluGrad',
  inputs: ['dY', 'X'],
  tensors: { dY: { dtype, dims, data: dY }, X: { dtype, dims, data: x } },
  outputs: [{ name: 'dX', dtype }],
});

for (const [label, dtype] of [['float32', DataType.FLOAT], ['float64', DataType.DOUBLE]] as const) {
  test(`ReluGrad › ${label} [2,3,4] with zeros and negatives › equals the reference exactly`, async (t) => {
    const dims = [2, 3, 4];
    const x = numbers(1, 24).map((v, i) => (i % 5 === 0 ? 0 : v));
    const dY = numbers(2, 24, -3, 3);
    const out = await runLowered(spec(dtype, dims, dY, x));
    const expected = reluGrad(dY, x);
    const got = out.dX.data;
    t.deepEqual(out.dX.dims, dims);
    const round = dtype === DataType.FLOAT ? Math.fround : (v: number) => v;
    t.deepEqual(got, expected.map(round));
    t.deepEqual(Object.keys(out.$lowered.report.lowered), ['com.microsoft::ReluGrad']);
  });
}

test('ReluGrad › Relu output passed instead of X (what ORT stashes) › same gradient', async (t) => {
  const x = numbers(3, 12);
  const y = x.map((v) => Math.max(v, 0));
  const dY = numbers(4, 12);
  const a = await runLowered(spec(DataType.DOUBLE, [3, 4], dY, x));
  const b = await runLowered(spec(DataType.DOUBLE, [3, 4], dY, y));
  t.deepEqual(a.dX.data, b.dX.data);
});

test('ReluGrad › float64 › matches central differences of Relu run on ORT', async (t) => {
  const dims = [2, 5];
  // Keep every x away from the kink so the finite difference is exact up to rounding.
  const x = numbers(5, 10).map((v) => (Math.abs(v) < 0.1 ? v + 0.2 : v));
  const dY = numbers(6, 10, -2, 2);
  const b = GraphBuilder.create('relu', { opset: 17 });
  const xi = b.input('x', DataType.DOUBLE, dims);
  const w = b.input('w', DataType.DOUBLE, dims);
  b.output(b.op.ReduceSum(b.op.Mul(b.op.Relu(xi), w), undefined, 0), 'L');
  const forward = b.toModel();
  const L = async (xv: Float64Array) => (await run(forward, { x: ortTensor(DataType.DOUBLE, dims, xv), w: ortTensor(DataType.DOUBLE, dims, dY) })).L.data[0];
  const lowered = await runLowered(spec(DataType.DOUBLE, dims, dY, x));
  for (let i = 0; i < x.length; i++) {
    const fd = await centralDifference(L, x, i, 1e-6);
    t.true(Math.abs(fd - lowered.dX.data[i]) <= 1e-8 * Math.max(1, Math.abs(fd)), `coordinate ${i}: fd ${fd} vs ${lowered.dX.data[i]}`);
  }
});

test('ReluGrad › element type unknown › check refuses with the reason', (t) => {
  const err = t.throws(() => lowerSpec(spec(DataType.UNDEFINED, [2], [1, 2], [1, -1])), { instanceOf: UnloweredOpsError });
  t.is(err?.code, 'UNLOWERED_OP');
  t.regex(err?.message ?? '', /com\.microsoft::ReluGrad × 1 \("ReluGrad"\): the element type of dY\/X is unknown/);
});
