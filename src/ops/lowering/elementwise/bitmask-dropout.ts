/**
 * ms::BitmaskDropout (data, ratio = 0.5, training_mode = false; seed) → outputs (output, mask uint32[⌈N/32⌉]).
 * Lowered to the standard Dropout (whose training mode stock ORT implements) plus bit packing of its bool mask
 * with standard int64 ops. Masks come from ORT's standard-Dropout RNG, not the CUDA kernel's stream.
 */
import type { LoweringRule } from '../rule.js';
import { emitPackBitmask } from './dropout-math.js';
import { input, missingInputs, msOp, req, wantsOutput } from './support.js';

export const lowerBitmaskDropout: LoweringRule = {
  op: msOp('BitmaskDropout'),
  check: (n, ctx) => missingInputs(n, ['data']) ?? (ctx.opset < 12 ? `standard Dropout takes ratio/training_mode inputs only from opset 12 (model has ${ctx.opset})` : undefined),
  lower: (n, ctx) => {
    const b = ctx.b;
    const seed = n.attrInt('seed');
    const [y, mask] = b.op.Dropout(req(ctx, n, 0), input(ctx, n, 1), input(ctx, n, 2), seed, 2);
    return [y, wantsOutput(n, 1) ? emitPackBitmask(ctx, mask) : undefined];
  },
};
