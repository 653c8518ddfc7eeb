import test from 'ava';
import { lowerFastGelu } from '../../../../src/ops/lowering/elementwise/fast-gelu.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { fastGelu } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, lowerAndRun, nums, runOriginal, size, type InputSpec, type Knowledge } from '../../../helpers/lowering.js';

const cases: { name: string; dims: number[]; bias: boolean; dtype: 'float32' | 'float64'; knowledge?: Knowledge }[] = [
  { name: 'rank 2, no bias', dims: [3, 8], bias: false, dtype: 'float32' },
  { name: 'rank 3 with bias', dims: [2, 2, 5], bias: true, dtype: 'float32' },
  { name: 'float64 with bias, shapes unknown', dims: [4, 3], bias: true, dtype: 'float64', knowledge: 'none' },
];

for (const c of cases) {
  test(`FastGelu › ${c.name} › equals stock ORT's com.microsoft FastGelu and the tanh reference`, async (t) => {
    const r = rng(3 + size(c.dims));
    const x = randn(r, size(c.dims), 2);
    const h = c.dims[c.dims.length - 1];
    const bias = randn(r, h);
    const mk = c.dtype === 'float32' ? f32 : f64;
    const inputs: InputSpec[] = [{ name: 'X', tensor: mk(x, c.dims) }];
    if (c.bias) inputs.push({ name: 'bias', tensor: mk(bias, [h]) });
    const spec = { opType: 'FastGelu', inputs, outputs: [['Y', c.dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE]] as const, knowledge: c.knowledge };
    const out = await lowerAndRun(t, lowerFastGelu, spec);
    const tight = c.dtype === 'float64' ? { rtol: 1e-12, atol: 1e-13 } : { rtol: 2e-6, atol: 1e-6 };
    // ORT evaluates the double kernel with float-precision constants, hence the looser comparison with it.
    close(t, nums(out.Y), nums((await runOriginal(spec)).Y), { rtol: 2e-5, atol: 1e-6 }, 'vs ORT');
    close(t, nums(out.Y), Array.from(x, (v, i) => fastGelu(v + (c.bias ? bias[i % h] : 0))), c.dtype === 'float64' ? tight : {}, 'vs reference');
  });
}
