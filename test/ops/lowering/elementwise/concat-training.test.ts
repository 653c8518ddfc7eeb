import test from 'ava';
import { lowerConcatTraining } from '../../../../src/ops/lowering/elementwise/concat-training.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { concat } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { checkOnly, close, f32, lower, lowerAndRun, nums, size, type Knowledge } from '../../../helpers/lowering.js';

const cases: { name: string; parts: number[][]; axis: number; knowledge?: Knowledge; lengths: boolean; constLengths?: boolean }[] = [
  { name: 'three inputs on axis 1, static shapes', parts: [[2, 3], [2, 1], [2, 4]], axis: 1, lengths: true, constLengths: true },
  { name: 'axis -1, shapes unknown', parts: [[2, 2, 3], [2, 2, 5]], axis: -1, knowledge: 'none', lengths: true, constLengths: false },
  { name: 'axis 0, ranks only', parts: [[1, 3], [4, 3], [2, 3]], axis: 0, knowledge: 'rank', lengths: true, constLengths: false },
  { name: 'one input, lengths output absent', parts: [[3, 2]], axis: 0, lengths: false },
];

for (const c of cases) {
  test(`ConcatTraining › ${c.name} › concatenates and reports each input's length along the axis`, async (t) => {
    const r = rng(c.parts.length * 11 + c.axis);
    const data = c.parts.map((d) => Array.from(randn(r, size(d))));
    const spec = {
      opType: 'ConcatTraining', attrs: { axis: c.axis }, knowledge: c.knowledge,
      inputs: c.parts.map((d, i) => ({ name: `x${i}`, tensor: f32(data[i], d) })),
      outputs: c.lengths ? ([['y', DataType.FLOAT], ['lengths', DataType.INT64]] as const) : ([['y', DataType.FLOAT]] as const),
    };
    const out = await lowerAndRun(t, lowerConcatTraining, spec);
    const ref = concat(c.parts.map((d, i) => ({ data: data[i], dims: d })), c.axis);
    t.deepEqual(out.y.dims, ref.dims);
    close(t, nums(out.y), ref.data, { rtol: 0, atol: 0 }, 'concat');
    if (c.lengths) {
      const a = c.axis < 0 ? c.axis + c.parts[0].length : c.axis;
      t.deepEqual(nums(out.lengths), c.parts.map((d) => d[a]));
      t.deepEqual(out.lengths.dims, [c.parts.length]);
      t.is(lower(t, lowerConcatTraining, spec).ops.includes('Shape'), !c.constLengths, c.constLengths ? 'constant lengths' : 'lengths from Shape');
    }
  });
}

test('ConcatTraining › no axis attribute › check() refuses', (t) => {
  t.regex(checkOnly(lowerConcatTraining, { opType: 'ConcatTraining', inputs: [{ name: 'x', tensor: f32([1], [1]) }], outputs: [['y', DataType.FLOAT]] }) ?? '', /axis/);
});
