import test from 'ava';
import { lowerSplitTraining } from '../../../../src/ops/lowering/elementwise/split-training.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { split } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { checkOnly, close, f32, f64, i64, lowerAndRun, nums, size, type InputSpec, type Knowledge } from '../../../helpers/lowering.js';

const cases: { name: string; dims: number[]; axis?: number; sizes: number[]; splitAs: 'constant' | 'input' | 'empty'; opset?: number; knowledge?: Knowledge; dtype?: 'float64' }[] = [
  { name: 'constant sizes on axis 1', dims: [2, 6], axis: 1, sizes: [1, 3, 2], splitAs: 'constant' },
  { name: 'constant sizes at opset 12 (attribute form)', dims: [5, 2], sizes: [2, 3], splitAs: 'constant', opset: 12 },
  { name: 'runtime sizes (from ConcatTraining) on axis -1, shapes unknown', dims: [2, 2, 7], axis: -1, sizes: [4, 3], splitAs: 'input', knowledge: 'none', dtype: 'float64' },
  { name: 'empty constant split: equal parts', dims: [6, 3], sizes: [2, 2, 2], splitAs: 'empty' },
];

for (const c of cases) {
  test(`SplitTraining › ${c.name} › splits like the reference`, async (t) => {
    const x = Array.from(randn(rng(size(c.dims)), size(c.dims)));
    const mk = c.dtype === 'float64' ? f64 : f32;
    const splitIn: InputSpec = { name: 'split', tensor: i64(c.splitAs === 'empty' ? [] : c.sizes), constant: c.splitAs !== 'input' };
    const out = await lowerAndRun(t, lowerSplitTraining, {
      opType: 'SplitTraining', attrs: { axis: c.axis }, opset: c.opset, knowledge: c.knowledge,
      inputs: [{ name: 'input', tensor: mk(x, c.dims) }, splitIn],
      outputs: c.sizes.map((_, i) => [`y${i}`, c.dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT] as const),
    });
    split(x, c.dims, c.axis ?? 0, c.sizes).forEach((p, i) => {
      t.deepEqual(out[`y${i}`].dims, p.dims);
      close(t, nums(out[`y${i}`]), p.data, { rtol: 0, atol: 0 }, `part ${i}`);
    });
  });
}

test('SplitTraining › runtime sizes below opset 13 › check() refuses (the pass upgrades via minOpset 13)', (t) => {
  t.is(lowerSplitTraining.minOpset, 13);
  const reason = checkOnly(lowerSplitTraining, {
    opType: 'SplitTraining', opset: 12, inputs: [{ name: 'input', tensor: f32([1, 2, 3], [3]) }, { name: 'split', tensor: i64([1, 2]) }],
    outputs: [['a', DataType.FLOAT], ['b', DataType.FLOAT]],
  });
  t.regex(reason ?? '', /not a constant/);
});
