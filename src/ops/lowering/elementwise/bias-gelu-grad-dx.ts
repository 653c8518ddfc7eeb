/**
 * ms::BiasGeluGrad_dX (dY, X, B) → GeluGrad evaluated at X + B (B broadcast over the last dimension). The bias
 * gradient is a separate ReduceSum the gradient builder already emitted.
 */
import type { LoweringRule } from '../rule.js';
import { emitGeluGrad } from './gelu-math.js';
import { missingInputs, msOp, req, typeReason } from './support.js';

export const lowerBiasGeluGradDx: LoweringRule = {
  op: msOp('BiasGeluGrad_dX'),
  check: (n, ctx) => missingInputs(n, ['dY', 'X', 'B']) ?? typeReason(ctx, n, 1),
  lower: (n, ctx) => [emitGeluGrad(ctx, req(ctx, n, 0), ctx.b.op.Add(req(ctx, n, 1), req(ctx, n, 2)))],
};
