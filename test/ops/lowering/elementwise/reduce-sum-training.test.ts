import test from 'ava';
import { lowerReduceSumTraining } from '../../../../src/ops/lowering/elementwise/reduce-sum-training.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { reduceSum } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { checkOnly, close, f32, i64, lowerAndRun, nums, size } from '../../../helpers/lowering.js';

const cases: { name: string; dims: number[]; axes: number[]; keepdims?: number; noop?: number; axesAs: 'constant' | 'input'; opset?: number }[] = [
  { name: 'constant axes [1], keepdims default 1', dims: [2, 3, 4], axes: [1], axesAs: 'constant' },
  { name: 'runtime axes [-1, 0], keepdims 0', dims: [2, 3, 4], axes: [-1, 0], keepdims: 0, axesAs: 'input' },
  { name: 'runtime empty axes with noop_with_empty_axes 1: identity', dims: [3, 2], axes: [], noop: 1, axesAs: 'input' },
  { name: 'runtime empty axes without noop: reduce all', dims: [3, 2], axes: [], axesAs: 'input' },
  { name: 'constant empty axes with noop 1 at opset 12', dims: [2, 2], axes: [], noop: 1, axesAs: 'constant', opset: 12 },
  { name: 'constant axes [0, 2] at opset 12 (attribute form), keepdims 0', dims: [2, 3, 2], axes: [0, 2], keepdims: 0, axesAs: 'constant', opset: 12 },
  { name: 'constant empty axes without noop at opset 12: reduce all', dims: [2, 3], axes: [], axesAs: 'constant', opset: 12 },
];

for (const c of cases) {
  test(`ReduceSumTraining › ${c.name} › equals ReduceSum-13 semantics`, async (t) => {
    const x = Array.from(randn(rng(size(c.dims) + c.axes.length), size(c.dims)));
    const out = await lowerAndRun(t, lowerReduceSumTraining, {
      opType: 'ReduceSumTraining', opset: c.opset, attrs: { keepdims: c.keepdims, noop_with_empty_axes: c.noop },
      inputs: [{ name: 'data', tensor: f32(x, c.dims) }, { name: 'axes', tensor: i64(c.axes), constant: c.axesAs === 'constant' }],
      outputs: [['reduced', DataType.FLOAT]],
    });
    const ref = reduceSum(x, c.dims, c.axes, (c.keepdims ?? 1) === 1, c.noop === 1);
    t.deepEqual(out.reduced.dims, ref.dims);
    close(t, nums(out.reduced), ref.data, { rtol: 1e-5, atol: 1e-5 }, 'values');
  });
}

test('ReduceSumTraining › runtime axes at opset 12 › check() refuses (the pass upgrades via minOpset 13)', (t) => {
  t.is(lowerReduceSumTraining.minOpset, 13);
  const reason = checkOnly(lowerReduceSumTraining, { opType: 'ReduceSumTraining', opset: 12, inputs: [{ name: 'data', tensor: f32([1, 2], [2]) }, { name: 'axes', tensor: i64([0]) }], outputs: [['r', DataType.FLOAT]] });
  t.regex(reason ?? '', /not a constant/);
});
