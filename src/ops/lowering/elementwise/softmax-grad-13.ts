/** ms::SoftmaxGrad_13 (dY, Y; axis = −1) → dX = Y·(dY − ReduceSum(Y·dY, [axis], keepdims=1)). */
import type { LoweringRule } from '../rule.js';
import { lowerSoftmaxGradAxis } from './softmax-grad-math.js';
import { missingInputs, msOp } from './support.js';

export const lowerSoftmaxGrad13: LoweringRule = {
  op: msOp('SoftmaxGrad_13'),
  check: (n) => missingInputs(n, ['dY', 'Y']),
  lower: (n, ctx) => [lowerSoftmaxGradAxis(n, ctx, 'softmax')],
};
