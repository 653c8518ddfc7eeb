import test from 'ava';
import { lowerGatherElementsGrad } from '../../../../src/ops/lowering/elementwise/gather-elements-grad.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { gatherElementsGrad } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, finiteDiff, i32, i64, lowerAndRun, nums, size, type Knowledge } from '../../../helpers/lowering.js';

interface Case { name: string; data: number[]; axis?: number; idxDims: number[]; knowledge?: Knowledge; idxType?: 'int32'; negative?: boolean }

const cases: Case[] = [
  { name: 'axis 0 with duplicates', data: [3, 4], idxDims: [5, 4] },
  { name: 'axis 1, int32 indices incl. negative, nothing known', data: [3, 4], axis: 1, idxDims: [3, 6], idxType: 'int32', negative: true, knowledge: 'none' },
  { name: 'axis -1 of rank 3 (TopK-style), untyped', data: [2, 3, 5], axis: -1, idxDims: [2, 3, 2], knowledge: 'untyped' },
];

for (const c of cases) {
  test(`GatherElementsGrad › ${c.name} › scatter-adds dY like finite differences of GatherElements`, async (t) => {
    const axis = c.axis ?? 0;
    const a = axis < 0 ? axis + c.data.length : axis;
    const rg = rng(size(c.idxDims) * 3 + a);
    const indices = Array.from({ length: size(c.idxDims) }, () => {
      const i = Math.floor(rg() * c.data[a]);
      return c.negative && rg() < 0.5 ? i - c.data[a] : i;
    });
    const x = Array.from(randn(rg, size(c.data)));
    const dY = Array.from(randn(rg, size(c.idxDims)));
    const fd = await finiteDiff({ dtype: 'float64', build: (b, xv) => b.op.GatherElements(xv, b.const(indices, DataType.INT64, c.idxDims), axis) }, x, c.data, dY);
    const expected = gatherElementsGrad(c.data, indices, c.idxDims, dY, axis);
    close(t, expected, fd, { rtol: 1e-6, atol: 1e-8 }, 'reference vs finite differences');
    for (const dtype of ['float32', 'float64'] as const) {
      const mk = dtype === 'float32' ? f32 : f64;
      const out = await lowerAndRun(t, lowerGatherElementsGrad, {
        opType: 'GatherElementsGrad', attrs: { axis: c.axis },
        inputs: [{ name: 'dY', tensor: mk(dY, c.idxDims) }, { name: 'shape', tensor: i64(c.data) }, { name: 'indices', tensor: c.idxType === 'int32' ? i32(indices, c.idxDims) : i64(indices, c.idxDims) }],
        outputs: [['dX', dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE]], knowledge: c.knowledge,
      });
      t.deepEqual(out.dX.dims, c.data);
      close(t, nums(out.dX), expected, dtype === 'float32' ? { rtol: 1e-5, atol: 1e-5 } : { rtol: 1e-12, atol: 1e-12 }, `${dtype} vs reference`);
    }
  });
}
