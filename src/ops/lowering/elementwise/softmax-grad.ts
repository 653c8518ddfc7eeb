/**
 * ms::SoftmaxGrad (pre-opset-13 Softmax; dY, Y; axis = 1) → the SoftmaxGrad_13 formula reduced over every axis
 * from `axis` to the last (coerced-2D semantics). Uses the rank of dY/Y when known, else Flatten + Reshape.
 */
import type { LoweringRule } from '../rule.js';
import { coercedCheck, lowerSoftmaxGradCoerced } from './softmax-grad-math.js';
import { missingInputs, msOp } from './support.js';

export const lowerSoftmaxGrad: LoweringRule = {
  op: msOp('SoftmaxGrad'),
  check: (n, ctx) => missingInputs(n, ['dY', 'Y']) ?? coercedCheck(n, ctx),
  lower: (n, ctx) => [lowerSoftmaxGradCoerced(n, ctx, 'softmax')],
};
