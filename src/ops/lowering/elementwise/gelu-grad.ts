/**
 * ms::GeluGrad (dY, X) → dX = dY·(Phi(X) + X·exp(−X²/2)/√(2π)), the exact derivative of the erf-form GELU
 * (ORT's fn body in training_op_defs.cc).
 */
import type { LoweringRule } from '../rule.js';
import { emitGeluGrad } from './gelu-math.js';
import { missingInputs, msOp, req, typeReason } from './support.js';

export const lowerGeluGrad: LoweringRule = {
  op: msOp('GeluGrad'),
  check: (n, ctx) => missingInputs(n, ['dY', 'X']) ?? typeReason(ctx, n, 1),
  lower: (n, ctx) => [emitGeluGrad(ctx, req(ctx, n, 0), req(ctx, n, 1))],
};
