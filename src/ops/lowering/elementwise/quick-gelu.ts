/**
 * ms::QuickGelu (forward) → standard ops. `Y = X·sigmoid(alpha·X)`, alpha default 1.702; ORT's QuickGeluFusion
 * also produces it with alpha = 1 from SiLU/Swish (`x·sigmoid(x)`).
 */
import type { LoweringRule } from '../rule.js';
import { missingInputs, msOp, req, scalar, typeReason } from './support.js';

/** Default `alpha` of ms::QuickGelu and ms::QuickGeluGrad. */
export const QUICK_GELU_ALPHA = 1.702;

export const lowerQuickGelu: LoweringRule = {
  op: msOp('QuickGelu'),
  check: (n, ctx) => missingInputs(n, ['X']) ?? typeReason(ctx, n, 0),
  lower: (n, ctx) => {
    const b = ctx.b;
    const x = req(ctx, n, 0);
    const alpha = n.attrFloat('alpha', QUICK_GELU_ALPHA);
    const ax = alpha === 1 ? x : b.op.Mul(x, scalar(ctx, alpha, x));
    return [b.op.Mul(x, b.op.Sigmoid(ax))];
  },
};
