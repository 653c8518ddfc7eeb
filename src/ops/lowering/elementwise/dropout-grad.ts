/**
 * ms::DropoutGrad (dY, mask, ratio = 0.5, training_mode) → dX = Where(mask, dY / (1 − ratio), 0), ORT's fn body
 * (training_mode is ignored, as there). A constant ratio of 0 lowers to Identity(dY) like the kernel.
 */
import type { LoweringRule } from '../rule.js';
import { emitDropoutGrad } from './dropout-math.js';
import { input, missingInputs, msOp, req, typeReason } from './support.js';

export const lowerDropoutGrad: LoweringRule = {
  op: msOp('DropoutGrad'),
  check: (n, ctx) => missingInputs(n, ['dy', 'mask']) ?? typeReason(ctx, n, 0),
  lower: (n, ctx) => [emitDropoutGrad(ctx, req(ctx, n, 0), req(ctx, n, 1), input(ctx, n, 2))],
};
