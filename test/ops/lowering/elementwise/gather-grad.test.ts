import test from 'ava';
import { lowerGatherGrad } from '../../../../src/ops/lowering/elementwise/gather-grad.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { gatherGrad } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, finiteDiff, i32, i64, lower, lowerAndRun, nums, size, type InputSpec, type Knowledge } from '../../../helpers/lowering.js';

interface Case {
  name: string; data: number[]; axis?: number; indices: number[]; idxDims: number[];
  shapeAs: 'Shape(X)' | 'input'; idxType?: 'int32'; knowledge?: Knowledge;
}

const cases: Case[] = [
  { name: 'embedding rows (axis 0) with duplicate and negative ids, shape = Shape(X)', data: [10, 4], indices: [3, 1, 3, -1, 0, 3], idxDims: [2, 3], shapeAs: 'Shape(X)' },
  { name: 'axis 0, int32 ids, shape as a plain input, nothing known', data: [6, 3], indices: [5, 5, 2, -6], idxDims: [4], shapeAs: 'input', idxType: 'int32', knowledge: 'none' },
  { name: 'axis 1 with duplicates, static shape', data: [3, 5, 2], axis: 1, indices: [4, 0, 4, 2], idxDims: [4], shapeAs: 'Shape(X)' },
  { name: 'axis -1 with 2-D ids, nothing known', data: [2, 3, 6], axis: -1, indices: [5, 0, -1, 2], idxDims: [2, 2], shapeAs: 'input', knowledge: 'none' },
  { name: 'axis -2, rank unknown', data: [4, 5, 3], axis: -2, indices: [1, 4, 1], idxDims: [3], shapeAs: 'input', knowledge: 'none' },
  { name: 'axis -2 of a rank-2 X (= axis 0), static', data: [5, 3], axis: -2, indices: [4, 4], idxDims: [2], shapeAs: 'Shape(X)' },
  { name: 'scalar index on axis 1', data: [3, 4], axis: 1, indices: [2], idxDims: [], shapeAs: 'Shape(X)' },
  { name: 'axis 1, ranks only', data: [2, 4, 3], axis: 1, indices: [0, 3, 3, 1, 0], idxDims: [5], shapeAs: 'Shape(X)', knowledge: 'rank' },
];

for (const c of cases) {
  test(`GatherGrad › ${c.name} › accumulates dY at the gathered positions like finite differences of Gather`, async (t) => {
    const axis = c.axis ?? 0;
    const r = c.data.length;
    const a = axis < 0 ? axis + r : axis;
    const dyDims = [...c.data.slice(0, a), ...c.idxDims, ...c.data.slice(a + 1)];
    const rg = rng(size(dyDims) + 5);
    const x = Array.from(randn(rg, size(c.data)));
    const dY = Array.from(randn(rg, size(dyDims)));
    const expected = gatherGrad(c.data, c.indices, c.idxDims, dY, axis);
    const fd = await finiteDiff({ dtype: 'float64', build: (b, xv) => b.op.Gather(xv, b.const(c.indices, DataType.INT64, c.idxDims), axis) }, x, c.data, dY);
    close(t, expected, fd, { rtol: 1e-6, atol: 1e-8 }, 'reference vs finite differences');
    for (const dtype of ['float32', 'float64'] as const) {
      const mk = dtype === 'float32' ? f32 : f64;
      const shape: InputSpec = c.shapeAs === 'Shape(X)' ? { name: 'shape', tensor: i64(c.data), shapeOf: c.data } : { name: 'shape', tensor: i64(c.data) };
      const out = await lowerAndRun(t, lowerGatherGrad, {
        opType: 'GatherGrad', attrs: { axis: c.axis },
        inputs: [shape, { name: 'indices', tensor: c.idxType === 'int32' ? i32(c.indices, c.idxDims) : i64(c.indices, c.idxDims) }, { name: 'dY', tensor: mk(dY, dyDims) }],
        outputs: [['dX', dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE]], knowledge: c.knowledge,
      });
      t.deepEqual(out.dX.dims, c.data);
      close(t, nums(out.dX), fd, dtype === 'float32' ? { rtol: 1e-5, atol: 1e-5 } : { rtol: 1e-6, atol: 1e-8 }, `${dtype} vs finite differences`);
      close(t, nums(out.dX), expected, dtype === 'float32' ? { rtol: 1e-5, atol: 1e-5 } : { rtol: 1e-12, atol: 1e-12 }, `${dtype} vs reference`);
    }
  });
}

test('GatherGrad › axis 1 › static shape contents make P, D, Q constants; unknown ones compute them', (t) => {
  const spec = (knowledge: Knowledge) => ({
    opType: 'GatherGrad', attrs: { axis: 1 }, knowledge,
    inputs: [{ name: 'shape', tensor: i64([3, 5, 2]), shapeOf: [3, 5, 2] }, { name: 'indices', tensor: i64([1, 2]) }, { name: 'dY', tensor: f32(new Float32Array(12), [3, 2, 2]) }],
    outputs: [['dX', DataType.FLOAT]] as const,
  });
  t.false(lower(t, lowerGatherGrad, spec('static')).ops.includes('ReduceProd'));
  t.true(lower(t, lowerGatherGrad, spec('none')).ops.includes('ReduceProd'));
});
