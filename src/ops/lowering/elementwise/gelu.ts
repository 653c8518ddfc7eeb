/**
 * ms::Gelu (forward) → standard ops. `Y = X·Phi(X) = 0.5·X·(1 + erf(X/√2))`, the function body ORT registers
 * for com.microsoft Gelu (contrib_defs.cc). Needs nothing from ctx.shapes beyond X's element type (or opset 15
 * for CastLike).
 */
import type { LoweringRule } from '../rule.js';
import { emitGelu } from './gelu-math.js';
import { missingInputs, msOp, req, typeReason } from './support.js';

export const lowerGelu: LoweringRule = {
  op: msOp('Gelu'),
  check: (n, ctx) => missingInputs(n, ['X']) ?? typeReason(ctx, n, 0),
  lower: (n, ctx) => [emitGelu(ctx, req(ctx, n, 0))],
};
