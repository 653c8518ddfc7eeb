import test from 'ava';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { scale } from '../../../reference/lowering-core.js';
import { numbers, runLowered, type OpSpec, type TensorSpec } from '../../../helpers/lowering.js';

const spec = (x: TensorSpec, s: TensorSpec, scaleDown?: number): OpSpec => ({
  op: 'com.microsoft::Scale',
  inputs: ['input', 'scale'],
  tensors: { input: x, scale: s },
  attrs: scaleDown === undefined ? undefined : { scale_down: scaleDown },
  outputs: [{ name: 'output', dtype: x.dtype }],
});

const cases: { name: string; x: TensorSpec; s: TensorSpec; down?: number }[] = [
  { name: 'float32 by float32[1] (GlobalAveragePool grad)', x: { dtype: DataType.FLOAT, dims: [2, 3, 1, 1], data: numbers(1, 6) }, s: { dtype: DataType.FLOAT, dims: [1], data: [49], constant: true }, down: 1 },
  { name: 'float32 by int64 scalar input (ReduceMean grad)', x: { dtype: DataType.FLOAT, dims: [], data: [2.5] }, s: { dtype: DataType.INT64, dims: [], data: [20n] }, down: 1 },
  { name: 'float64 times int32[1], scale_down absent', x: { dtype: DataType.DOUBLE, dims: [4], data: numbers(2, 4) }, s: { dtype: DataType.INT32, dims: [1], data: [3] } },
  { name: 'float64 times float64 scalar, scale_down=0', x: { dtype: DataType.DOUBLE, dims: [2, 2], data: numbers(3, 4) }, s: { dtype: DataType.DOUBLE, dims: [], data: [0.125] }, down: 0 },
];

for (const c of cases) {
  test(`Scale › ${c.name} › equals the reference and keeps the input shape`, async (t) => {
    const out = await runLowered(spec(c.x, c.s, c.down));
    const expected = scale(Array.from(c.x.data as ArrayLike<number>), Number(c.s.data[0]), c.down === 1);
    t.deepEqual(out.output.dims, c.x.dims);
    const round = c.x.dtype === DataType.FLOAT ? Math.fround : (v: number) => v;
    out.output.data.forEach((v, i) => t.true(Math.abs(v - round(expected[i])) <= 1e-7 * Math.abs(expected[i]), `element ${i}: ${v} vs ${expected[i]}`));
  });
}

test('Scale › scale_down=2 › refused', async (t) => {
  const err = await t.throwsAsync(() => runLowered(spec(cases[0].x, cases[0].s, 2)));
  t.regex(err?.message ?? '', /scale_down=2 \(must be 0 or 1\)/);
});
