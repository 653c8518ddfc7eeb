import test from 'ava';
import { lowerQuickGelu } from '../../../../src/ops/lowering/elementwise/quick-gelu.js';
import { float } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { map1, quickGelu } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, lowerAndRun, nums, runOriginal, size } from '../../../helpers/lowering.js';

const cases: { name: string; dims: number[]; alpha?: number }[] = [
  { name: 'default alpha 1.702', dims: [3, 6] },
  { name: 'alpha 1 (SiLU, from QuickGeluFusion)', dims: [2, 2, 4], alpha: 1 },
  { name: 'negative alpha', dims: [9], alpha: -0.75 },
];

for (const c of cases) {
  test(`QuickGelu › ${c.name} › equals stock ORT's com.microsoft QuickGelu and x·sigmoid(alpha·x)`, async (t) => {
    const x = randn(rng(17 + size(c.dims)), size(c.dims), 3);
    const spec = { opType: 'QuickGelu', attrs: { alpha: c.alpha === undefined ? undefined : float(c.alpha) }, inputs: [{ name: 'X', tensor: f32(x, c.dims) }], outputs: [['Y', DataType.FLOAT]] as const };
    const out = await lowerAndRun(t, lowerQuickGelu, spec);
    close(t, nums(out.Y), nums((await runOriginal(spec)).Y), { rtol: 2e-6, atol: 1e-6 }, 'vs ORT');
    close(t, nums(out.Y), map1(x, (v) => quickGelu(v, c.alpha ?? 1.702)), {}, 'vs reference');
  });
}
