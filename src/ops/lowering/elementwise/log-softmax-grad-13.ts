/**
 * ms::LogSoftmaxGrad_13 (dY, Y = log-softmax output; axis = −1) →
 * dX = dY − exp(Y)·ReduceSum(dY, [axis], keepdims=1).
 */
import type { LoweringRule } from '../rule.js';
import { lowerSoftmaxGradAxis } from './softmax-grad-math.js';
import { missingInputs, msOp } from './support.js';

export const lowerLogSoftmaxGrad13: LoweringRule = {
  op: msOp('LogSoftmaxGrad_13'),
  check: (n) => missingInputs(n, ['dY', 'Y']),
  lower: (n, ctx) => [lowerSoftmaxGradAxis(n, ctx, 'logsoftmax')],
};
