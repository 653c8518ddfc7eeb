/**
 * ms::ReduceSumTraining (data, axes int64; keepdims = 1, noop_with_empty_axes = 0) ≡ standard ReduceSum-13
 * (ORT emits it for default opsets below 13, typically with runtime axes from BroadcastGradientArgs). minOpset
 * 13, so the pass upgrades such models and it becomes ReduceSum with the axes input; used directly below 13, the
 * axes must be constant (ctx.shapes.constant) to become the attribute.
 */
import type { LoweringRule } from '../rule.js';
import { asInt64, constInts, missingInputs, msOp, req } from './support.js';

export const lowerReduceSumTraining: LoweringRule = {
  op: msOp('ReduceSumTraining'),
  minOpset: 13,
  check: (n, ctx) => {
    const missing = missingInputs(n, ['data', 'axes']);
    if (missing) return missing;
    if (ctx.opset < 13 && constInts(ctx, n.input(1)) === undefined) {
      return `axes "${n.input(1)}" is not a constant and ReduceSum-${ctx.opset} takes axes only as an attribute`;
    }
    return undefined;
  },
  lower: (n, ctx) => {
    const b = ctx.b;
    const data = req(ctx, n, 0);
    const keepdims = n.attrInt('keepdims', 1);
    const noop = n.attrInt('noop_with_empty_axes', 0);
    const axes = constInts(ctx, n.input(1));
    if (axes) {
      if (axes.length === 0) return [noop ? b.op.Identity(data) : b.op.ReduceSum(data, undefined, keepdims)];
      return [b.op.ReduceSum(data, axes, keepdims)];
    }
    return [b.op.ReduceSumAxes(data, asInt64(ctx, req(ctx, n, 1)), keepdims, noop)];
  },
};
