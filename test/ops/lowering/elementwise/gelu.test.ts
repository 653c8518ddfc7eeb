import test from 'ava';
import { lowerGelu } from '../../../../src/ops/lowering/elementwise/gelu.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { gelu, map1 } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, lowerAndRun, nums, runOriginal, size, type Knowledge } from '../../../helpers/lowering.js';

const cases: { name: string; dims: number[]; knowledge?: Knowledge }[] = [
  { name: 'rank 2', dims: [3, 7] },
  { name: 'rank 3, shapes unknown', dims: [2, 3, 5], knowledge: 'none' },
  { name: 'scalar, untyped', dims: [], knowledge: 'untyped' },
];

for (const c of cases) {
  test(`Gelu › ${c.name} › equals stock ORT's com.microsoft Gelu and the erf reference`, async (t) => {
    const x = randn(rng(5 + size(c.dims)), size(c.dims), 2);
    const spec = { opType: 'Gelu', inputs: [{ name: 'X', tensor: f32(x, c.dims) }], outputs: [['Y', DataType.FLOAT]] as const, knowledge: c.knowledge };
    const out = await lowerAndRun(t, lowerGelu, spec);
    const ort = await runOriginal(spec);
    t.deepEqual(out.Y.dims, ort.Y.dims);
    close(t, nums(out.Y), nums(ort.Y), { rtol: 2e-6, atol: 1e-6 }, 'vs ORT');
    close(t, nums(out.Y), map1(x, gelu), {}, 'vs reference');
  });
}

test('Gelu › float64 › runs on ORT (Erf computed in float) and matches the reference to float precision', async (t) => {
  const x = randn(rng(11), 12, 2);
  const out = await lowerAndRun(t, lowerGelu, { opType: 'Gelu', inputs: [{ name: 'X', tensor: f64(x, [12]) }], outputs: [['Y', DataType.DOUBLE]] });
  t.is(out.Y.type, 'float64');
  close(t, nums(out.Y), map1(x, gelu), { rtol: 1e-6, atol: 1e-7 }, 'vs reference');
});
