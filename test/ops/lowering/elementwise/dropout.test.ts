import test from 'ava';
import { lowerDropoutTraining } from '../../../../src/ops/lowering/elementwise/dropout.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { bool, checkOnly, f32, f64, lowerAndRun, nums, type InputSpec } from '../../../helpers/lowering.js';

const N = 4000;
const xs = Array.from({ length: N }, (_, i) => 1 + (i % 13));

function spec(inputs: (InputSpec | undefined)[], dtype: 'float32' | 'float64' = 'float32', knowledge?: 'none') {
  return {
    opType: 'Dropout', domain: '', attrs: { seed: 3 }, inputs, knowledge,
    outputs: [['output', dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE], ['mask', DataType.BOOL]] as const,
  };
}

test('Dropout (training mode, opt-in) › constant training_mode true, ratio 0.3 › keeps ≈70% scaled by 1/0.7 and reports them in the mask', async (t) => {
  for (const dtype of ['float32', 'float64'] as const) {
    const mk = dtype === 'float32' ? f32 : f64;
    const out = await lowerAndRun(t, lowerDropoutTraining, spec([
      { name: 'data', tensor: mk(xs, [40, 100]) }, { name: 'ratio', tensor: mk([0.3], []), constant: true }, { name: 'training_mode', tensor: bool([1], []), constant: true },
    ], dtype));
    const y = nums(out.output);
    const mask = nums(out.mask);
    let kept = 0;
    y.forEach((v, i) => {
      if (mask[i]) { kept++; t.true(Math.abs(v - xs[i] / 0.7) < 1e-5 * xs[i], `kept element ${i}`); } else t.is(v, 0);
    });
    t.true(Math.abs(kept / N - 0.7) < 0.05, `kept fraction ${kept / N}`);
  }
});

test('Dropout (training mode, opt-in) › runtime training_mode › false keeps everything unscaled, true drops', async (t) => {
  const s = (flag: number) => spec([{ name: 'data', tensor: f32(xs, [N]) }, { name: 'ratio', tensor: f32([0.5], []) }, { name: 'training_mode', tensor: bool([flag], []) }], 'float32', 'none');
  const off = await lowerAndRun(t, lowerDropoutTraining, s(0));
  t.deepEqual(nums(off.output), xs);
  t.true(nums(off.mask).every((m) => m === 1));
  const on = await lowerAndRun(t, lowerDropoutTraining, s(1));
  const kept = nums(on.mask).filter(Boolean).length;
  t.true(Math.abs(kept / N - 0.5) < 0.05, `kept fraction ${kept / N}`);
  nums(on.output).forEach((v, i) => t.is(v, on.mask.data[i] ? 2 * xs[i] : 0));
});

test('Dropout (training mode, opt-in) › ratio absent, mask unused › drops half with scale 2', async (t) => {
  const out = await lowerAndRun(t, lowerDropoutTraining, {
    opType: 'Dropout', domain: '', inputs: [{ name: 'data', tensor: f32(xs, [N]) }, undefined, { name: 'training_mode', tensor: bool([1], []), constant: true }],
    outputs: [['output', DataType.FLOAT]],
  });
  const y = nums(out.output);
  const zeros = y.filter((v) => v === 0).length;
  t.true(Math.abs(zeros / N - 0.5) < 0.05);
  t.true(y.every((v, i) => v === 0 || v === 2 * xs[i]));
});

test('Dropout (training mode, opt-in) › inference mode › check() declines: nothing to lower', (t) => {
  const x = { name: 'data', tensor: f32([1, 2], [2]) };
  t.regex(checkOnly(lowerDropoutTraining, spec([x])) ?? '', /inference-mode/);
  t.regex(checkOnly(lowerDropoutTraining, spec([x, undefined, { name: 'training_mode', tensor: bool([0], []), constant: true }])) ?? '', /inference-mode/);
});
