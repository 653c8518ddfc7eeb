/**
 * ms::LogSoftmaxGrad (pre-opset-13 LogSoftmax; dY, Y; axis = 1) → the LogSoftmaxGrad_13 formula reduced over
 * every axis from `axis` to the last (coerced-2D semantics).
 */
import type { LoweringRule } from '../rule.js';
import { coercedCheck, lowerSoftmaxGradCoerced } from './softmax-grad-math.js';
import { missingInputs, msOp } from './support.js';

export const lowerLogSoftmaxGrad: LoweringRule = {
  op: msOp('LogSoftmaxGrad'),
  check: (n, ctx) => missingInputs(n, ['dY', 'Y']) ?? coercedCheck(n, ctx),
  lower: (n, ctx) => [lowerSoftmaxGradCoerced(n, ctx, 'logsoftmax')],
};
