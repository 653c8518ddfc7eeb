/**
 * ms::SplitTraining (input, split int64; axis = 0) → standard Split with the same number of outputs. `split` is
 * usually ConcatTraining's runtime per_input_length, which only Split-13's split *input* can take, hence
 * minOpset 13; a constant `split` (ctx.shapes.constant) would also work below 13. An empty constant split means
 * equal parts.
 */
import type { LoweringRule } from '../rule.js';
import { asInt64, constInts, input, missingInputs, msOp, req } from './support.js';

export const lowerSplitTraining: LoweringRule = {
  op: msOp('SplitTraining'),
  minOpset: 13,
  check: (n, ctx) => {
    const missing = missingInputs(n, ['input']);
    if (missing) return missing;
    const split = n.input(1);
    if (split !== undefined && constInts(ctx, split) === undefined && ctx.opset < 13) {
      return `split "${split}" is not a constant and Split-${ctx.opset} takes sizes only as an attribute`;
    }
    return undefined;
  },
  lower: (n, ctx) => {
    const b = ctx.b;
    const x = req(ctx, n, 0);
    const axis = n.attrInt('axis', 0);
    const count = n.outputs.length;
    const split = input(ctx, n, 1);
    const sizes = split ? constInts(ctx, split.name) : [];
    if (sizes) return b.op.Split(x, axis, sizes.length ? sizes : count);
    return b.op.SplitBy(x, axis, asInt64(ctx, split!), count);
  },
};
