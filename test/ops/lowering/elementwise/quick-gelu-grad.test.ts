import test from 'ava';
import { float } from '../../../../src/builder/index.js';
import { lowerQuickGeluGrad } from '../../../../src/ops/lowering/elementwise/quick-gelu-grad.js';
import { MS_DOMAIN } from '../../../../src/ops/lowering/elementwise/support.js';
import { quickGeluGrad } from '../../../reference/elementwise.js';
import { checkActivationGrad } from './activation-grad.js';
import type { Knowledge } from '../../../helpers/lowering.js';

const cases: [string, number[], number | undefined, Knowledge][] = [
  ['default alpha 1.702', [4, 4], undefined, 'static'],
  ['alpha 1 (SiLU)', [2, 3, 2], 1, 'none'],
  ['alpha -0.5, untyped', [5], -0.5, 'untyped'],
];

// Forward = stock ORT's com.microsoft QuickGelu (float only).
for (const [name, dims, alpha, knowledge] of cases) {
  test(`QuickGeluGrad › ${name} › matches dY·s·(1 + αx(1 − s)) and finite differences of QuickGelu`, async (t) => {
    const attrs = { alpha: alpha === undefined ? undefined : float(alpha) };
    await checkActivationGrad(t, {
      rule: lowerQuickGeluGrad, opType: 'QuickGeluGrad', attrs, dims, knowledge, second: 'X',
      forward: (b, x) => b.node1('QuickGelu', [x], attrs, undefined, MS_DOMAIN), forwardDtype: 'float32',
      ref: (dy, x) => quickGeluGrad(dy, x, alpha ?? 1.702),
    });
  });
}
