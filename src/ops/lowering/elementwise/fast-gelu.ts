/**
 * ms::FastGelu (forward) → standard ops. With x = X (+ bias when given):
 * `Y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (ORT's CPU kernel, contrib_ops/cpu/bert/fast_gelu.cc).
 */
import type { LoweringRule } from '../rule.js';
import { emitFastGelu } from './gelu-math.js';
import { input, missingInputs, msOp, req, typeReason } from './support.js';

export const lowerFastGelu: LoweringRule = {
  op: msOp('FastGelu'),
  check: (n, ctx) => missingInputs(n, ['X']) ?? typeReason(ctx, n, 0),
  lower: (n, ctx) => {
    const x = req(ctx, n, 0);
    const bias = input(ctx, n, 1);
    return [emitFastGelu(ctx, bias ? ctx.b.op.Add(x, bias) : x)];
  },
};
