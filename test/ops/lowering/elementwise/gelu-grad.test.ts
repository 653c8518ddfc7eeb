import test from 'ava';
import { lowerGeluGrad } from '../../../../src/ops/lowering/elementwise/gelu-grad.js';
import { MS_DOMAIN } from '../../../../src/ops/lowering/elementwise/support.js';
import { geluGrad } from '../../../reference/elementwise.js';
import { checkActivationGrad } from './activation-grad.js';
import type { Knowledge } from '../../../helpers/lowering.js';

// Forward = stock ORT's com.microsoft Gelu (float only: ORT has no double Erf), so FD runs in float32.
for (const [name, dims, knowledge] of [['rank 2', [4, 5], 'static'], ['rank 3, shapes unknown', [2, 3, 2], 'none'], ['rank 1, untyped', [6], 'untyped']] as const) {
  test(`GeluGrad › ${name} › matches the exact derivative and finite differences of com.microsoft Gelu`, async (t) => {
    await checkActivationGrad(t, {
      rule: lowerGeluGrad, opType: 'GeluGrad', dims: [...dims], knowledge: knowledge as Knowledge, second: 'X',
      forward: (b, x) => b.node1('Gelu', [x], {}, undefined, MS_DOMAIN), forwardDtype: 'float32',
      ref: (dy, x) => geluGrad(dy, x),
    });
  });
}
