/**
 * com.microsoft::SoftmaxCrossEntropyLossInternal(scores, labels, weights?, ignore_index?; reduction = "mean",
 * output_type?) → (output, log_prob?).
 *
 * ORT's fused form of a model's own log_softmax + nll_loss (SoftmaxCrossEntropyLossInternalFusion). Same
 * semantics as ONNX SoftmaxCrossEntropyLoss, except ignore_index is an optional int64 scalar *input* (nothing
 * ignored when absent) and `output_type` casts both outputs.
 * Lowering: the standard SoftmaxCrossEntropyLoss (opset ≥ 12) with `ignore_index` as attribute when it is a
 * constant or absent and the scores are float32 (ORT kernels historically registered float only); otherwise the explicit
 * form LogSoftmax(axis 1) → NLL (GatherElements, Where, ReduceSum) of `emitNll`, which also takes a runtime
 * ignore_index. Mean with every label ignored: 0 from the explicit form (ORT-training's kernel), NaN from
 * stock ORT's standard op (verified with onnxruntime-node 1.30) — the same NaN the artifacts' own standard
 * SoftmaxCrossEntropyLoss forward gives there; the lowered gradients are 0 in that case either way.
 * Source: SCELossInternalFunBuilder (training_op_defs.cc), cpu/loss/softmax_cross_entropy_loss.cc.
 */
import type { LoweringRule } from '../rule.js';
import { DataType, dtypeName } from '../../../onnx/dtypes.js';
import { emitLogSoftmaxAxis1, emitNll, FLOAT_TYPES, LABEL_TYPES, reductionOf } from './loss-math.js';
import { floatTypeProblem, missingInputs, typed } from './common.js';
import { ignoreIndexInput } from './softmax-cross-entropy-loss-grad.js';

export const softmaxCrossEntropyLossInternal: LoweringRule = {
  op: 'com.microsoft::SoftmaxCrossEntropyLossInternal',
  check(n, ctx) {
    const missing = missingInputs(n, { 0: 'scores', 1: 'labels' });
    if (missing) return missing;
    const red = n.attrString('reduction', 'mean');
    if (!reductionOf(red)) return `reduction="${red}" (must be none, sum or mean)`;
    const p = floatTypeProblem(ctx.shapes.dtype(n.inputs[0]), 'scores');
    if (p) return p;
    const L = ctx.shapes.dtype(n.inputs[1]);
    if (L === undefined || !LABEL_TYPES.has(L)) return `labels must be int32 or int64 (element type ${L === undefined ? 'unknown' : dtypeName(L)})`;
    const ot = n.attrInt('output_type');
    if (ot !== undefined && !FLOAT_TYPES.has(ot)) return `output_type=${dtypeName(ot)} is not a float type`;
    return undefined;
  },
  lower(n, ctx) {
    const b = ctx.b;
    const T = ctx.shapes.dtype(n.inputs[0])!;
    const L = ctx.shapes.dtype(n.inputs[1])!;
    const scores = typed(n.inputs[0], T, ctx);
    const labels = typed(n.inputs[1], L, ctx);
    const w = n.input(2);
    const weights = w ? typed(w, T, ctx) : undefined;
    const ignore = ignoreIndexInput(n, ctx, 3);
    const reduction = reductionOf(n.attrString('reduction', 'mean'))!;
    const wantLogProb = !!n.outputs[1];
    let loss: ReturnType<typeof b.op.Neg>;
    let logProb: ReturnType<typeof b.op.Neg> | undefined;
    if (typeof ignore !== 'string' && ctx.opset >= 12 && T === DataType.FLOAT) {
      [loss, logProb] = b.op.SoftmaxCrossEntropyLoss(scores, labels, weights, { reduction, ignore_index: ignore }, wantLogProb ? 2 : 1);
    } else {
      logProb = emitLogSoftmaxAxis1(b, scores, ctx.shapes.rank(scores.name), ctx.opset);
      loss = emitNll(b, { logProb, label: labels, weight: weights, ignore: typeof ignore === 'string' ? typed(ignore, undefined, ctx) : ignore, reduction, T, L });
    }
    const ot = n.attrInt('output_type');
    if (ot !== undefined && ot !== T) {
      loss = b.op.Cast(loss, ot);
      if (logProb && wantLogProb) logProb = b.op.Cast(logProb, ot);
    }
    return [loss, wantLogProb ? logProb : undefined];
  },
};
