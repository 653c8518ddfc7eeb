/** ms::TanhGrad (dY, Y = tanh output) → dX = dY·(1 − Y²) (ORT's fn body). */
import type { LoweringRule } from '../rule.js';
import { missingInputs, msOp, req, scalar, typeReason } from './support.js';

export const lowerTanhGrad: LoweringRule = {
  op: msOp('TanhGrad'),
  check: (n, ctx) => missingInputs(n, ['dY', 'Y']) ?? typeReason(ctx, n, 1),
  lower: (n, ctx) => {
    const b = ctx.b;
    const dY = req(ctx, n, 0);
    const y = req(ctx, n, 1);
    return [b.op.Mul(dY, b.op.Sub(scalar(ctx, 1, y), b.op.Mul(y, y)))];
  },
};
