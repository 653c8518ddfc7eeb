/**
 * com.microsoft::BatchNormalizationGrad(dY, X, scale, saved_mean, saved_inv_std) -> (dX, dScale, dBias): the
 * gradient of the training-mode BatchNormInternal. Input 4 is the saved *inverse std* (the schema calls it
 * "var"; the gradient builder wires BatchNormInternal output 4); attribute epsilon is unused. Upstream kernel:
 * orttraining/training_ops/cpu/nn/batch_norm_grad.cc, per channel c with M = N·spatial and
 * x̂ = (X − mean)·inv_std:
 *   dBias = Σ dY,  dScale = Σ x̂·dY,  dX = scale·inv_std/M · (M·dY − dBias − x̂·dScale)
 *        = scale·inv_std · (dY − mean(dY) − x̂·mean(x̂·dY)).
 *
 * Lowering: X and dY reshaped to [N, C, L] (any rank >= 2, no static dims needed), reductions over axes [0, 2],
 * dX reshaped back to Shape(X). 16-bit inputs are computed in float32.
 */
import type { Value } from '../../../builder/index.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext, LoweringRule } from '../rule.js';
import { MIN_OPSET, MS_DOMAIN, castTo, computeType, dtypeOf, floatTypeReason, inputValue, opsetReason, planned, rankOf, wanted } from './common.js';

function plan(n: Node, ctx: LoweringContext): true | string {
  for (let i = 0; i < 5; i++) if (!n.input(i)) return 'BatchNormalizationGrad needs its five inputs dY, X, scale, saved_mean, saved_inv_std';
  const tooOld = opsetReason(ctx, MIN_OPSET, 'the BatchNormalizationGrad lowering');
  if (tooOld) return tooOld;
  const r = rankOf(ctx, n.input(1));
  if (r !== undefined && r < 2) return `X must have rank >= 2 (N, C, …), got rank ${r}`;
  return floatTypeReason(ctx, n, [0, 1, 2, 3, 4]) ?? true;
}

function lower(n: Node, ctx: LoweringContext): (Value | undefined)[] {
  planned(plan(n, ctx), n);
  const { b } = ctx;
  const [dy, x, scale, mean, invStd] = [0, 1, 2, 3, 4].map((i) => inputValue(ctx, n, i)!);
  const t = dtypeOf(ctx, n.input(1));
  const ct = computeType(t);
  const perChannel = (v: Value) => b.op.Reshape(castTo(b, v, ct), [1, -1, 1]);
  const flat = (v: Value) => b.op.Reshape(castTo(b, v, ct), [0, 0, -1]);

  const dy3 = flat(dy);
  const needXhat = wanted(n, 0) || wanted(n, 1);
  const inv = needXhat ? perChannel(invStd) : undefined;
  const xhat = needXhat ? b.op.Mul(b.op.Sub(flat(x), perChannel(mean)), inv!) : undefined;
  const xhatDy = xhat ? b.op.Mul(xhat, dy3) : undefined;
  const channelType = dtypeOf(ctx, n.input(2));

  let dX: Value | undefined;
  if (wanted(n, 0)) {
    const inner = b.op.Sub(b.op.Sub(dy3, b.op.ReduceMean(dy3, [0, 2], 1)), b.op.Mul(xhat!, b.op.ReduceMean(xhatDy!, [0, 2], 1)));
    dX = castTo(b, b.op.Reshape(b.op.Mul(b.op.Mul(perChannel(scale), inv!), inner), b.op.Shape(x)), t);
  }
  const dScale = wanted(n, 1) ? castTo(b, b.op.ReduceSum(xhatDy!, [0, 2], 0), channelType) : undefined;
  const dBias = wanted(n, 2) ? castTo(b, b.op.ReduceSum(dy3, [0, 2], 0), channelType) : undefined;
  // ReduceSum over [0, 2] of [N, C, L] with keepdims=0 is already the [C] channel vector.
  return [dX, dScale, dBias];
}

export const batchNormalizationGrad: LoweringRule = {
  op: `${MS_DOMAIN}::BatchNormalizationGrad`,
  minOpset: MIN_OPSET,
  check: (n, ctx) => {
    const p = plan(n, ctx);
    return typeof p === 'string' ? p : undefined;
  },
  lower,
};
