/**
 * Softmax / LogSoftmax backward formulas shared by the opset-13 rules (single `axis`) and the pre-13 rules
 * (coerced-2D semantics: the softmax ran over all axes from `axis` to the last one).
 *
 *   SoftmaxGrad:    dX = Y·(dY − Σ(Y·dY))        (Y = softmax output)
 *   LogSoftmaxGrad: dX = dY − exp(Y)·Σ(dY)       (Y = log-softmax output)
 *
 * with Σ a keepdims sum over the softmax axes (ORT's fn bodies / kernels in training_op_defs.cc and
 * training_ops/cpu/math/softmax_grad.cc).
 */
import type { Value } from '../../../builder/index.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext } from '../rule.js';
import { normAxis, range, rankOf, req } from './support.js';

export type SoftmaxKind = 'softmax' | 'logsoftmax';

function formula(ctx: LoweringContext, kind: SoftmaxKind, dY: Value, y: Value, axes: readonly number[]): Value {
  const b = ctx.b;
  if (kind === 'softmax') return b.op.Mul(y, b.op.Sub(dY, b.op.ReduceSum(b.op.Mul(y, dY), axes, 1)));
  return b.op.Sub(dY, b.op.Mul(b.op.Exp(y), b.op.ReduceSum(dY, axes, 1)));
}

/** Opset-13 semantics: reduce over the single axis `axis` (default −1); no shape facts needed. */
export function lowerSoftmaxGradAxis(n: Node, ctx: LoweringContext, kind: SoftmaxKind): Value {
  return formula(ctx, kind, req(ctx, n, 0), req(ctx, n, 1), [n.attrInt('axis', -1)]);
}

/** Why a pre-13 node cannot be lowered: a negative axis needs Flatten-11 when the rank is unknown. */
export function coercedCheck(n: Node, ctx: LoweringContext): string | undefined {
  const axis = n.attrInt('axis', 1);
  if (axis < 0 && rankOf(ctx, n.input(0)) === undefined && rankOf(ctx, n.input(1)) === undefined && ctx.opset < 11) {
    return `axis ${axis} is negative, the rank of dY is unknown and Flatten takes negative axes only from opset 11`;
  }
  return undefined;
}

/**
 * Pre-13 (coerced-2D) semantics: reduce over [axis, rank). With a known rank the axes are constant; otherwise
 * both inputs are flattened to 2-D at `axis`, reduced over axis 1 and reshaped back to Shape(dY).
 */
export function lowerSoftmaxGradCoerced(n: Node, ctx: LoweringContext, kind: SoftmaxKind): Value {
  const b = ctx.b;
  const dY = req(ctx, n, 0);
  const y = req(ctx, n, 1);
  const axis = n.attrInt('axis', 1);
  const rank = rankOf(ctx, dY.name) ?? rankOf(ctx, y.name);
  if (rank !== undefined) return formula(ctx, kind, dY, y, range(normAxis(axis, rank), rank));
  const dX2 = formula(ctx, kind, b.op.Flatten(dY, axis), b.op.Flatten(y, axis), [1]);
  return b.op.Reshape(dX2, b.op.Shape(dY));
}
