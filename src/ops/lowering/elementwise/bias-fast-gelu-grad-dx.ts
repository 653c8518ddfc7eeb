/**
 * ms::BiasFastGeluGrad_dX (dY, X, B) → FastGeluGrad evaluated at X + B; emitted by the gradient builder for a
 * FastGelu with a bias input (the bias gradient is a separate ReduceSum).
 */
import type { LoweringRule } from '../rule.js';
import { emitFastGeluGrad } from './gelu-math.js';
import { missingInputs, msOp, req, typeReason } from './support.js';

export const lowerBiasFastGeluGradDx: LoweringRule = {
  op: msOp('BiasFastGeluGrad_dX'),
  check: (n, ctx) => missingInputs(n, ['dY', 'X', 'B']) ?? typeReason(ctx, n, 1),
  lower: (n, ctx) => [emitFastGeluGrad(ctx, req(ctx, n, 0), ctx.b.op.Add(req(ctx, n, 1), req(ctx, n, 2)))],
};
