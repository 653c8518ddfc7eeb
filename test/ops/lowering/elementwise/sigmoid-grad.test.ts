import test from 'ava';
import { lowerSigmoidGrad } from '../../../../src/ops/lowering/elementwise/sigmoid-grad.js';
import { sigmoidGrad } from '../../../reference/elementwise.js';
import { checkActivationGrad } from './activation-grad.js';
import type { Knowledge } from '../../../helpers/lowering.js';

for (const [name, dims, knowledge] of [['rank 2', [4, 3], 'static'], ['rank 3, shapes unknown', [2, 2, 3], 'none'], ['rank 1, untyped', [7], 'untyped']] as const) {
  test(`SigmoidGrad › ${name} › matches dY·Y·(1 − Y) and finite differences of Sigmoid`, async (t) => {
    await checkActivationGrad(t, {
      rule: lowerSigmoidGrad, opType: 'SigmoidGrad', dims: [...dims], knowledge: knowledge as Knowledge, second: 'Y', scale: 3,
      forward: (b, x) => b.op.Sigmoid(x), forwardDtype: 'float64', ref: (dy, _x, y) => sigmoidGrad(dy, y),
    });
  });
}
