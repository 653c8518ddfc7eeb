/**
 * ms::FastGeluGrad (dY, X) → the derivative of the tanh-approximated GELU:
 * `dX = dY·0.5·[(1 + t) + (1 − t²)·(√(2/π)·X + 3·0.044715·√(2/π)·X³)]`, t = tanh(√(2/π)·(X + 0.044715·X³))
 * (ORT's fn body). A FastGelu with bias gets BiasFastGeluGrad_dX instead.
 */
import type { LoweringRule } from '../rule.js';
import { emitFastGeluGrad } from './gelu-math.js';
import { missingInputs, msOp, req, typeReason } from './support.js';

export const lowerFastGeluGrad: LoweringRule = {
  op: msOp('FastGeluGrad'),
  check: (n, ctx) => missingInputs(n, ['dY', 'X']) ?? typeReason(ctx, n, 1),
  lower: (n, ctx) => [emitFastGeluGrad(ctx, req(ctx, n, 0), req(ctx, n, 1))],
};
