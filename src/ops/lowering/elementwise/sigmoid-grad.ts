/** ms::SigmoidGrad (dY, Y = sigmoid output) → dX = dY·Y·(1 − Y) (ORT's fn body). */
import type { LoweringRule } from '../rule.js';
import { missingInputs, msOp, req, scalar, typeReason } from './support.js';

export const lowerSigmoidGrad: LoweringRule = {
  op: msOp('SigmoidGrad'),
  check: (n, ctx) => missingInputs(n, ['dY', 'Y']) ?? typeReason(ctx, n, 1),
  lower: (n, ctx) => {
    const b = ctx.b;
    const dY = req(ctx, n, 0);
    const y = req(ctx, n, 1);
    return [b.op.Mul(b.op.Mul(dY, y), b.op.Sub(scalar(ctx, 1, y), y))];
  },
};
