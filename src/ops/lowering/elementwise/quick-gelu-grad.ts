/**
 * ms::QuickGeluGrad (dY, X; alpha = 1.702) → with v = alpha·X and s = sigmoid(v):
 * `dX = dY·s·(1 + v·(1 − s))` (ORT's CPU/CUDA kernels).
 */
import type { LoweringRule } from '../rule.js';
import { QUICK_GELU_ALPHA } from './quick-gelu.js';
import { missingInputs, msOp, req, scalar, typeReason } from './support.js';

export const lowerQuickGeluGrad: LoweringRule = {
  op: msOp('QuickGeluGrad'),
  check: (n, ctx) => missingInputs(n, ['dY', 'X']) ?? typeReason(ctx, n, 1),
  lower: (n, ctx) => {
    const b = ctx.b;
    const dY = req(ctx, n, 0);
    const x = req(ctx, n, 1);
    const alpha = n.attrFloat('alpha', QUICK_GELU_ALPHA);
    const v = alpha === 1 ? x : b.op.Mul(x, scalar(ctx, alpha, x));
    const s = b.op.Sigmoid(v);
    const one = scalar(ctx, 1, x);
    const g = b.op.Mul(s, b.op.Add(one, b.op.Mul(v, b.op.Sub(one, s))));
    return [b.op.Mul(dY, g)];
  },
};
