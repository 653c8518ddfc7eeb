import test from 'ava';
import { lowerBiasGeluGradDx } from '../../../../src/ops/lowering/elementwise/bias-gelu-grad-dx.js';
import { MS_DOMAIN } from '../../../../src/ops/lowering/elementwise/support.js';
import { geluGrad } from '../../../reference/elementwise.js';
import { checkActivationGrad } from './activation-grad.js';

for (const dims of [[3, 4], [2, 2, 5]]) {
  test(`BiasGeluGrad_dX › X ${JSON.stringify(dims)} with a 1-D bias › matches GeluGrad at X + B and finite differences of BiasGelu`, async (t) => {
    const h = dims[dims.length - 1];
    const bias = Array.from({ length: h }, (_, i) => 0.3 * i - 0.5);
    await checkActivationGrad(t, {
      rule: lowerBiasGeluGradDx, opType: 'BiasGeluGrad_dX', dims, second: 'X', extra: [{ name: 'B', data: bias, dims: [h] }],
      forward: (b, x) => b.node1('BiasGelu', [x, b.const(bias, 1, [h])], {}, undefined, MS_DOMAIN), forwardDtype: 'float32',
      ref: (dy, x, _y, i) => geluGrad(dy, x + bias[i % h]),
    });
  });
}
