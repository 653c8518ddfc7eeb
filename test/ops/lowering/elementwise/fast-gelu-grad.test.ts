import test from 'ava';
import { lowerFastGeluGrad } from '../../../../src/ops/lowering/elementwise/fast-gelu-grad.js';
import { MS_DOMAIN } from '../../../../src/ops/lowering/elementwise/support.js';
import { fastGeluGrad } from '../../../reference/elementwise.js';
import { checkActivationGrad } from './activation-grad.js';
import type { Knowledge } from '../../../helpers/lowering.js';

// Forward = stock ORT's com.microsoft FastGelu, which ORT runs in double.
for (const [name, dims, knowledge] of [['rank 2', [3, 6], 'static'], ['rank 4, ranks only', [1, 2, 3, 2], 'rank'], ['scalar, untyped', [], 'untyped']] as const) {
  test(`FastGeluGrad › ${name} › matches the tanh-approximation derivative and finite differences of FastGelu`, async (t) => {
    await checkActivationGrad(t, {
      rule: lowerFastGeluGrad, opType: 'FastGeluGrad', dims: [...dims], knowledge: knowledge as Knowledge, second: 'X',
      forward: (b, x) => b.node1('FastGelu', [x], {}, undefined, MS_DOMAIN), forwardDtype: 'float64',
      ref: (dy, x) => fastGeluGrad(dy, x),
      // ORT's double FastGelu uses float-precision constants (≈1e-6 relative), which finite differences inherit.
      fdTol: { rtol: 2e-5, atol: 1e-6 },
    });
  });
}
