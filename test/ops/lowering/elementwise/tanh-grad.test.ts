import test from 'ava';
import { lowerTanhGrad } from '../../../../src/ops/lowering/elementwise/tanh-grad.js';
import { tanhGrad } from '../../../reference/elementwise.js';
import { checkActivationGrad } from './activation-grad.js';
import type { Knowledge } from '../../../helpers/lowering.js';

for (const [name, dims, knowledge] of [['rank 2', [3, 5], 'static'], ['rank 4, ranks only', [2, 1, 2, 2], 'rank'], ['scalar, untyped', [], 'untyped']] as const) {
  test(`TanhGrad › ${name} › matches dY·(1 − Y²) and finite differences of Tanh`, async (t) => {
    await checkActivationGrad(t, {
      rule: lowerTanhGrad, opType: 'TanhGrad', dims: [...dims], knowledge: knowledge as Knowledge, second: 'Y',
      forward: (b, x) => b.op.Tanh(x), forwardDtype: 'float64', ref: (dy, _x, y) => tanhGrad(dy, y),
    });
  });
}
