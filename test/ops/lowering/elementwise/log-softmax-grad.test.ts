import test from 'ava';
import { lowerLogSoftmaxGrad } from '../../../../src/ops/lowering/elementwise/log-softmax-grad.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { logSoftmax, softmaxAxes, logSoftmaxGrad } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, finiteDiff, lower, lowerAndRun, nums, size, type Knowledge } from '../../../helpers/lowering.js';

// Pre-opset-13 LogSoftmax normalises over every axis from `axis` (default 1) to the last ("coerced to 2-D").
const cases: { name: string; dims: number[]; axis?: number; knowledge?: Knowledge; opset: number }[] = [
  { name: 'rank 3, default axis 1 (reduces axes 1 and 2), opset 12', dims: [2, 3, 4], opset: 12 },
  { name: 'rank 4, axis 2, opset 11', dims: [2, 2, 3, 2], axis: 2, opset: 11 },
  { name: 'rank 3, axis -2, rank unknown (Flatten path)', dims: [2, 3, 2], axis: -2, knowledge: 'none', opset: 12 },
  { name: 'rank 2, axis 0 (one softmax over everything), rank unknown', dims: [3, 4], axis: 0, knowledge: 'none', opset: 12 },
  { name: 'rank 3, axis 1, ranks only', dims: [3, 2, 2], axis: 1, knowledge: 'rank', opset: 12 },
];

for (const c of cases) {
  test(`LogSoftmaxGrad › ${c.name} › matches the reference and finite differences of LogSoftmax-${c.opset}`, async (t) => {
    const r = rng(78 + size(c.dims) + (c.axis ?? 0));
    const x = randn(r, size(c.dims));
    const dY = randn(r, size(c.dims));
    const axes = softmaxAxes(c.dims.length, c.axis ?? 1, true);
    const y = logSoftmax(x, c.dims, axes);
    for (const dtype of ['float32', 'float64'] as const) {
      const mk = dtype === 'float32' ? f32 : f64;
      const out = await lowerAndRun(t, lowerLogSoftmaxGrad, {
        opType: 'LogSoftmaxGrad', attrs: { axis: c.axis }, opset: c.opset,
        inputs: [{ name: 'dY', tensor: mk(dY, c.dims) }, { name: 'Y', tensor: mk(y, c.dims) }],
        outputs: [['dX', dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE]], knowledge: c.knowledge,
      });
      close(t, nums(out.dX), logSoftmaxGrad(dY, y, c.dims, axes), dtype === 'float32' ? {} : { rtol: 1e-12, atol: 1e-14 }, `${dtype} vs reference`);
      if (dtype === 'float64') {
        const fd = await finiteDiff({ dtype: 'float64', opset: c.opset, build: (b, xv) => b.op.LogSoftmax(xv, c.axis ?? 1) }, x, c.dims, dY);
        close(t, nums(out.dX), fd, { rtol: 1e-6, atol: 1e-8 }, 'vs finite differences');
      }
    }
  });
}

test('LogSoftmaxGrad › rank unknown › flattens at the axis and reshapes back', (t) => {
  const dims = [2, 3];
  const l = lower(t, lowerLogSoftmaxGrad, {
    opType: 'LogSoftmaxGrad', attrs: { axis: 1 }, opset: 12, knowledge: 'none',
    inputs: [{ name: 'dY', tensor: f32(new Float32Array(6), dims) }, { name: 'Y', tensor: f32(new Float32Array(6), dims) }],
    outputs: [['dX', DataType.FLOAT]],
  });
  t.true(l.ops.includes('Flatten') && l.ops.includes('Reshape'));
});
