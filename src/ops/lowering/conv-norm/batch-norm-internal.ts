/**
 * com.microsoft::BatchNormInternal(X, scale, B, input_mean, input_var) -> (Y, running_mean, running_var,
 * saved_mean, saved_inv_std): the training-mode BatchNormalization that ORT's `BatchNormReplacement` puts in
 * place of every BatchNormalization (frozen layers included). Attributes epsilon (1e-5), momentum (0.9),
 * training_mode (1). Upstream kernel: onnxruntime/core/providers/cpu/nn/batch_norm.h (training path), with
 * M = N·spatial per channel:
 *   saved_mean = Σ X / M,  var = Σ (X − saved_mean)² / M  (biased),  saved_inv_std = 1/√(var + ε),
 *   Y = (X − saved_mean)·saved_inv_std·scale + B,
 *   running_mean = input_mean·momentum + saved_mean·(1 − momentum),
 *   running_var  = input_var·momentum + var·(1 − momentum)  (biased var, unlike PyTorch).
 * As in the kernel, the node is in training mode iff it lists more than one output; with a single output it is
 * the inference BatchNormalization (standard op, running statistics from the inputs).
 *
 * Lowering: X reshaped to [N, C, L] (any rank >= 2, no static dims needed), ReduceMean over axes [0, 2],
 * per-channel vectors reshaped to [1, C, 1], Y reshaped back to Shape(X). Only the requested outputs are
 * emitted (ORT artifacts never consume running_mean/running_var, so ORT never updates the running statistics).
 * 16-bit inputs are computed in float32.
 */
import type { Value } from '../../../builder/index.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext, LoweringRule } from '../rule.js';
import { MIN_OPSET, MS_DOMAIN, castTo, floatAttr, computeType, dtypeOf, floatTypeReason, inputValue, opsetReason, planned, rankOf, wanted } from './common.js';

function plan(n: Node, ctx: LoweringContext): true | string {
  for (let i = 0; i < 5; i++) if (!n.input(i)) return 'BatchNormInternal needs its five inputs X, scale, B, input_mean, input_var';
  const tooOld = opsetReason(ctx, MIN_OPSET, 'the BatchNormInternal lowering');
  if (tooOld) return tooOld;
  const r = rankOf(ctx, n.input(0));
  if (r !== undefined && r < 2) return `X must have rank >= 2 (N, C, …), got rank ${r}`;
  return floatTypeReason(ctx, n, [0, 1, 2, 3, 4]) ?? true;
}

function lower(n: Node, ctx: LoweringContext): (Value | undefined)[] {
  planned(plan(n, ctx), n);
  const { b } = ctx;
  const [x, scale, bias, inMean, inVar] = [0, 1, 2, 3, 4].map((i) => inputValue(ctx, n, i)!);
  const eps = floatAttr(n, 'epsilon', 1e-5);
  if (n.outputs.length <= 1) {
    return [b.op.BatchNormalization(x, scale, bias, inMean, inVar, eps)];
  }
  const momentum = floatAttr(n, 'momentum', 0.9);
  const t = dtypeOf(ctx, n.input(0));
  const u = dtypeOf(ctx, n.input(3));
  const ct = computeType(t);
  const perChannel = (v: Value) => b.op.Reshape(castTo(b, v, ct), [1, -1, 1]);

  const x3 = b.op.Reshape(castTo(b, x, ct), [0, 0, -1]);
  const mean = b.op.ReduceMean(x3, [0, 2], 1);
  const centered = b.op.Sub(x3, mean);
  const variance = b.op.ReduceMean(b.op.Mul(centered, centered), [0, 2], 1);
  const invStd = b.op.Reciprocal(b.op.Sqrt(b.op.Add(variance, eps)));

  let y: Value | undefined;
  if (wanted(n, 0)) {
    const y3 = b.op.Add(b.op.Mul(b.op.Mul(centered, invStd), perChannel(scale)), perChannel(bias));
    y = castTo(b, b.op.Reshape(y3, b.op.Shape(x)), t);
  }
  const vec = (v: Value) => castTo(b, b.op.Reshape(v, [-1]), u);
  const savedMean = wanted(n, 1) || wanted(n, 3) ? vec(mean) : undefined;
  const blend = (running: Value, batch: Value) => b.op.Add(b.op.Mul(running, momentum), b.op.Mul(batch, 1 - momentum));
  return [
    y,
    wanted(n, 1) ? blend(inMean, savedMean!) : undefined,
    wanted(n, 2) ? blend(inVar, vec(variance)) : undefined,
    wanted(n, 3) ? savedMean : undefined,
    wanted(n, 4) ? vec(invStd) : undefined,
  ];
}

export const batchNormInternal: LoweringRule = {
  op: `${MS_DOMAIN}::BatchNormInternal`,
  minOpset: MIN_OPSET,
  check: (n, ctx) => {
    const p = plan(n, ctx);
    return typeof p === 'string' ? p : undefined;
  },
  lower,
};
