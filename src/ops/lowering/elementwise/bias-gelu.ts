/**
 * ms::BiasGelu (forward, a CUDA fusion) → standard ops. `C = gelu(A + B)` (erf form), B broadcast over A's last
 * dimension.
 */
import type { LoweringRule } from '../rule.js';
import { emitGelu } from './gelu-math.js';
import { missingInputs, msOp, req, typeReason } from './support.js';

export const lowerBiasGelu: LoweringRule = {
  op: msOp('BiasGelu'),
  check: (n, ctx) => missingInputs(n, ['A', 'B']) ?? typeReason(ctx, n, 0),
  lower: (n, ctx) => [emitGelu(ctx, ctx.b.op.Add(req(ctx, n, 0), req(ctx, n, 1)))],
};
