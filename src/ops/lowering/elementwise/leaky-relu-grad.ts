/**
 * ms::LeakyReluGrad (dY, Y = LeakyRelu output; alpha = 0.01) → dX = dY where Y > 0, alpha·dY elsewhere (ORT's
 * kernels). The builder passes the forward's alpha; Y > 0 ⇔ X > 0 for alpha > 0.
 */
import type { LoweringRule } from '../rule.js';
import { missingInputs, msOp, req, scalar, typeReason } from './support.js';

/** Default `alpha` of ms::LeakyReluGrad (and of ONNX LeakyRelu). */
export const LEAKY_RELU_ALPHA = 0.01;

export const lowerLeakyReluGrad: LoweringRule = {
  op: msOp('LeakyReluGrad'),
  check: (n, ctx) => missingInputs(n, ['dY', 'Y']) ?? typeReason(ctx, n, 0) ?? typeReason(ctx, n, 1),
  lower: (n, ctx) => {
    const b = ctx.b;
    const dY = req(ctx, n, 0);
    const y = req(ctx, n, 1);
    const alpha = n.attrFloat('alpha', LEAKY_RELU_ALPHA);
    return [b.op.Where(b.op.Greater(y, scalar(ctx, 0, y)), dY, b.op.Mul(dY, scalar(ctx, alpha, dY)))];
  },
};
