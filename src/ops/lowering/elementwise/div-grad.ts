/**
 * ms::DivGrad (dY, A, B) → (dA, dB), each optional (ORT's fn body):
 *   dA = Reshape(ReduceSum(dY / B, axes_A), Shape(A))
 *   dB = Reshape(ReduceSum(dY · (−A / (B·B)), axes_B), Shape(B))
 * where axes_A/axes_B undo the broadcasting of A and B into Y.
 *
 * ctx.shapes: with the shapes of A and B (ranks, numeric dims or dim_params that decide every axis) the axes are
 * constants and an operand that was not broadcast needs no ReduceSum/Reshape at all; otherwise the axes are
 * computed at run time (BroadcastGradientArgs lowering + ReduceSum with noop_with_empty_axes). minOpset 13: the
 * runtime axes are a ReduceSum input, and ORT only emits DivGrad below 13 together with ReduceSumTraining anyway.
 */
import type { Value } from '../../../builder/index.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext, LoweringRule } from '../rule.js';
import { emitBroadcastAxes, staticBroadcastAxes, type BroadcastAxes } from './broadcast-axes.js';
import { missingInputs, msOp, req, staticDims, wantsOutput } from './support.js';

function staticAxes(n: Node, ctx: LoweringContext): BroadcastAxes<number[]> | undefined {
  const sa = ctx.shapes.shape(n.input(1) ?? '');
  const sb = ctx.shapes.shape(n.input(2) ?? '');
  return sa && sb ? staticBroadcastAxes(sa, sb, 'reduce') : undefined;
}

export const lowerDivGrad: LoweringRule = {
  op: msOp('DivGrad'),
  minOpset: 13,
  check: (n, ctx) => {
    const missing = missingInputs(n, ['dY', 'A', 'B']);
    if (missing) return missing;
    if (staticAxes(n, ctx) || ctx.opset >= 13) return undefined;
    return `the broadcast axes of A and B are not static and ReduceSum takes runtime axes only from opset 13 (model has ${ctx.opset})`;
  },
  lower: (n, ctx) => {
    const b = ctx.b;
    const dY = req(ctx, n, 0);
    const A = req(ctx, n, 1);
    const B = req(ctx, n, 2);
    const st = staticAxes(n, ctx);
    let dyn: BroadcastAxes<Value> | undefined;
    const reduceTo = (g: Value, x: Value, which: 'a' | 'b'): Value => {
      if (st) {
        const axes = st[which];
        if (axes.length === 0) return g;
        const dims = staticDims(ctx, x.name);
        return b.op.Reshape(b.op.ReduceSum(g, axes, 1), dims ?? b.op.Shape(x));
      }
      dyn ??= emitBroadcastAxes(ctx, b.op.Shape(A), b.op.Shape(B));
      return b.op.Reshape(b.op.ReduceSumAxes(g, dyn[which], 1, 1), b.op.Shape(x));
    };
    const dA = wantsOutput(n, 0) ? reduceTo(b.op.Div(dY, B), A, 'a') : undefined;
    const dB = wantsOutput(n, 1) ? reduceTo(b.op.Mul(dY, b.op.Div(b.op.Neg(A), b.op.Mul(B, B))), B, 'b') : undefined;
    return [dA, dB];
  },
};
