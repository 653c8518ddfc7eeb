import test from 'ava';
import { lowerBiasGelu } from '../../../../src/ops/lowering/elementwise/bias-gelu.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { gelu } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, lowerAndRun, nums, runOriginal, size } from '../../../helpers/lowering.js';

for (const dims of [[4, 5], [2, 3, 6]]) {
  test(`BiasGelu › A ${JSON.stringify(dims)} with a 1-D bias › equals stock ORT's BiasGelu and gelu(A + B)`, async (t) => {
    const r = rng(size(dims));
    const a = randn(r, size(dims), 2);
    const h = dims[dims.length - 1];
    const bias = randn(r, h);
    const spec = { opType: 'BiasGelu', inputs: [{ name: 'A', tensor: f32(a, dims) }, { name: 'B', tensor: f32(bias, [h]) }], outputs: [['C', DataType.FLOAT]] as const };
    const out = await lowerAndRun(t, lowerBiasGelu, spec);
    close(t, nums(out.C), nums((await runOriginal(spec)).C), { rtol: 2e-6, atol: 1e-6 }, 'vs ORT');
    close(t, nums(out.C), Array.from(a, (v, i) => gelu(v + bias[i % h])), { rtol: 1e-5, atol: 1e-6 }, 'vs reference');
  });
}
