import test from 'ava';
import { lowerBitmaskDropoutGrad } from '../../../../src/ops/lowering/elementwise/bitmask-dropout-grad.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { dropoutGrad, packBitmask } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, lowerAndRun, nums, size, u32, type InputSpec, type Knowledge } from '../../../helpers/lowering.js';

const cases: { name: string; dims: number[]; ratio?: number; knowledge?: Knowledge; dtype: 'float32' | 'float64' }[] = [
  { name: '70 elements (3 words, last one partial), ratio 0.4', dims: [7, 10], ratio: 0.4, dtype: 'float32' },
  { name: 'exactly 64 elements, default ratio', dims: [2, 4, 8], dtype: 'float64' },
  { name: '5 elements (one partial word), ratio 0.2, shapes unknown', dims: [5], ratio: 0.2, dtype: 'float32', knowledge: 'none' },
];

for (const c of cases) {
  test(`BitmaskDropoutGrad › ${c.name} › unpacks bit i of word ⌊i/32⌋ and matches DropoutGrad`, async (t) => {
    const r = rng(size(c.dims));
    const n = size(c.dims);
    const dY = Array.from(randn(r, n));
    const mask = Array.from({ length: n }, () => r() >= (c.ratio ?? 0.5));
    const words = packBitmask(mask);
    // Set the padding bits too: they must be ignored.
    if (n % 32) words[words.length - 1] |= ~((1 << (n % 32)) - 1) >>> 0;
    const mk = c.dtype === 'float32' ? f32 : f64;
    const inputs: (InputSpec | undefined)[] = [{ name: 'dy', tensor: mk(dY, c.dims) }, { name: 'mask', tensor: u32(words) }];
    inputs.push(c.ratio === undefined ? undefined : { name: 'ratio', tensor: mk([c.ratio], []) });
    const out = await lowerAndRun(t, lowerBitmaskDropoutGrad, { opType: 'BitmaskDropoutGrad', inputs, outputs: [['dx', c.dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE]], knowledge: c.knowledge });
    t.deepEqual(out.dx.dims, c.dims);
    close(t, nums(out.dx), dropoutGrad(dY, mask, c.ratio ?? 0.5), { rtol: 1e-6, atol: 1e-7 }, 'vs reference');
  });
}
