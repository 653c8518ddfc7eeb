import test from 'ava';
import { lowerLogSoftmaxGrad13 } from '../../../../src/ops/lowering/elementwise/log-softmax-grad-13.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { logSoftmax, logSoftmaxGrad, softmaxAxes } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, finiteDiff, lowerAndRun, nums, size, type Knowledge } from '../../../helpers/lowering.js';

const cases: { name: string; dims: number[]; axis?: number; knowledge?: Knowledge }[] = [
  { name: 'rank 2, default axis', dims: [4, 6] },
  { name: 'rank 3, axis 1', dims: [2, 5, 3], axis: 1 },
  { name: 'rank 3, axis -3, ranks only', dims: [3, 2, 2], axis: -3, knowledge: 'rank' },
  { name: 'rank 1, no shapes known', dims: [7], knowledge: 'none' },
];

for (const c of cases) {
  test(`LogSoftmaxGrad_13 › ${c.name} › matches the reference and finite differences of LogSoftmax`, async (t) => {
    const r = rng(31 + size(c.dims));
    const x = randn(r, size(c.dims));
    const dY = randn(r, size(c.dims));
    const axes = softmaxAxes(c.dims.length, c.axis ?? -1, false);
    const y = logSoftmax(x, c.dims, axes);
    for (const dtype of ['float32', 'float64'] as const) {
      const mk = dtype === 'float32' ? f32 : f64;
      const out = await lowerAndRun(t, lowerLogSoftmaxGrad13, {
        opType: 'LogSoftmaxGrad_13', attrs: { axis: c.axis },
        inputs: [{ name: 'dY', tensor: mk(dY, c.dims) }, { name: 'Y', tensor: mk(y, c.dims) }],
        outputs: [['dX', dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE]], knowledge: c.knowledge,
      });
      close(t, nums(out.dX), logSoftmaxGrad(dY, y, c.dims, axes), dtype === 'float32' ? {} : { rtol: 1e-12, atol: 1e-13 }, `${dtype} vs reference`);
      if (dtype === 'float64') {
        const fd = await finiteDiff({ dtype: 'float64', build: (b, xv) => b.op.LogSoftmax(xv, c.axis ?? -1) }, x, c.dims, dY);
        close(t, nums(out.dX), fd, { rtol: 1e-6, atol: 1e-8 }, 'vs finite differences');
      }
    }
  });
}
