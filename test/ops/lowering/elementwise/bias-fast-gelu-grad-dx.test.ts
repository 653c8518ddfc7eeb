import test from 'ava';
import { lowerBiasFastGeluGradDx } from '../../../../src/ops/lowering/elementwise/bias-fast-gelu-grad-dx.js';
import { MS_DOMAIN } from '../../../../src/ops/lowering/elementwise/support.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { fastGeluGrad } from '../../../reference/elementwise.js';
import { checkActivationGrad } from './activation-grad.js';

for (const dims of [[3, 4], [2, 1, 6]]) {
  test(`BiasFastGeluGrad_dX › X ${JSON.stringify(dims)} with a 1-D bias › matches FastGeluGrad at X + B and finite differences of FastGelu(X, bias)`, async (t) => {
    const h = dims[dims.length - 1];
    const bias = Array.from({ length: h }, (_, i) => 0.25 * i - 0.4);
    await checkActivationGrad(t, {
      rule: lowerBiasFastGeluGradDx, opType: 'BiasFastGeluGrad_dX', dims, second: 'X', extra: [{ name: 'B', data: bias, dims: [h] }],
      forward: (b, x) => b.node1('FastGelu', [x, b.const(bias, DataType.DOUBLE, [h])], {}, undefined, MS_DOMAIN), forwardDtype: 'float64',
      ref: (dy, x, _y, i) => fastGeluGrad(dy, x + bias[i % h]),
      fdTol: { rtol: 2e-5, atol: 1e-6 },
    });
  });
}
