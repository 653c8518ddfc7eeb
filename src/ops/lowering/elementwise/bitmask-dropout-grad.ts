/**
 * ms::BitmaskDropoutGrad (dY, mask uint32[⌈N/32⌉], ratio = 0.5, training_mode) → unpack the bitmask (element i
 * = bit i mod 32 of word ⌊i/32⌋) and apply DropoutGrad. Produced only by ORT's CUDA-side BitmaskDropout fusion.
 */
import type { LoweringRule } from '../rule.js';
import { emitDropoutGrad, emitUnpackBitmask } from './dropout-math.js';
import { input, missingInputs, msOp, req, typeReason } from './support.js';

export const lowerBitmaskDropoutGrad: LoweringRule = {
  op: msOp('BitmaskDropoutGrad'),
  check: (n, ctx) => missingInputs(n, ['dy', 'mask']) ?? typeReason(ctx, n, 0),
  lower: (n, ctx) => {
    const dY = req(ctx, n, 0);
    return [emitDropoutGrad(ctx, dY, emitUnpackBitmask(ctx, req(ctx, n, 1), dY), input(ctx, n, 2))];
  },
};
