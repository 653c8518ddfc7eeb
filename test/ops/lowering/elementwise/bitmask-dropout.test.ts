import test from 'ava';
import { lowerBitmaskDropout } from '../../../../src/ops/lowering/elementwise/bitmask-dropout.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { unpackBitmask } from '../../../reference/elementwise.js';
import { bool, f32, lowerAndRun, nums, type InputSpec } from '../../../helpers/lowering.js';

const run = (t: Parameters<typeof lowerAndRun>[0], n: number, ratio: number | undefined, training: number | undefined) => {
  const xs = Array.from({ length: n }, (_, i) => 1 + (i % 7));
  const inputs: (InputSpec | undefined)[] = [{ name: 'data', tensor: f32(xs, [n]) }, ratio === undefined ? undefined : { name: 'ratio', tensor: f32([ratio], []) }];
  if (training !== undefined) inputs.push({ name: 'training_mode', tensor: bool([training], []) });
  return lowerAndRun(t, lowerBitmaskDropout, { opType: 'BitmaskDropout', inputs, attrs: { seed: 5 }, outputs: [['output', DataType.FLOAT], ['mask', DataType.UINT32]] }).then((out) => ({ out, xs }));
};

for (const n of [1000, 70, 64]) {
  test(`BitmaskDropout › ${n} elements, training, ratio 0.25 › mask words have ⌈N/32⌉ entries whose bits match the kept elements`, async (t) => {
    const { out, xs } = await run(t, n, 0.25, 1);
    t.is(out.mask.type, 'uint32');
    t.deepEqual(out.mask.dims, [Math.ceil(n / 32)]);
    const keep = unpackBitmask(out.mask.data as Uint32Array, n);
    const y = nums(out.output);
    keep.forEach((k, i) => t.true(k ? Math.abs(y[i] - xs[i] / 0.75) < 1e-5 * xs[i] : y[i] === 0, `element ${i}`));
    if (n >= 1000) t.true(Math.abs(keep.filter(Boolean).length / n - 0.75) < 0.06);
  });
}

test('BitmaskDropout › training_mode absent › output is the input and every mask bit is set', async (t) => {
  const { out, xs } = await run(t, 40, 0.5, undefined);
  t.deepEqual(nums(out.output), xs);
  t.deepEqual(Array.from(out.mask.data as Uint32Array), [0xffffffff, 0xffffffff]);
});
