/**
 * ms::BroadcastGradientArgs (a_shape, b_shape: int64 1-D) → (a_axes, b_axes), the reduction axes of a
 * broadcasting binary op's input gradients, descending (see broadcast-axes.ts for the kernel semantics).
 *
 * Static: when both shape inputs are constants or Shape(X) of values with static shapes that decide every axis
 * (numbers, or equal dim_params) the outputs become constants. Otherwise the axes are computed at run time with
 * NonZero (opset ≥ 11). Either way the outputs equal the kernel's, element for element.
 */
import type { LoweringRule } from '../rule.js';
import { emitBroadcastAxes, staticBroadcastAxes } from './broadcast-axes.js';
import { asInt64, missingInputs, msOp, req, shapeContents, wantsOutput } from './support.js';

export const lowerBroadcastGradientArgs: LoweringRule = {
  op: msOp('BroadcastGradientArgs'),
  check: (n, ctx) => {
    const missing = missingInputs(n, ['a_shape', 'b_shape']);
    if (missing) return missing;
    const a = shapeContents(ctx, n.input(0));
    const b = shapeContents(ctx, n.input(1));
    if (a && b && staticBroadcastAxes(a, b, 'exact')) return undefined;
    return ctx.opset < 11 ? `the shapes are not static and the runtime computation needs Range (opset 11; model has ${ctx.opset})` : undefined;
  },
  lower: (n, ctx) => {
    const b = ctx.b;
    const sa = shapeContents(ctx, n.input(0));
    const sb = shapeContents(ctx, n.input(1));
    const st = sa && sb ? staticBroadcastAxes(sa, sb, 'exact') : undefined;
    if (st) return [wantsOutput(n, 0) ? b.i64(st.a) : undefined, wantsOutput(n, 1) ? b.i64(st.b) : undefined];
    const dyn = emitBroadcastAxes(ctx, asInt64(ctx, req(ctx, n, 0)), asInt64(ctx, req(ctx, n, 1)));
    return [wantsOutput(n, 0) ? dyn.a : undefined, wantsOutput(n, 1) ? dyn.b : undefined];
  },
};
