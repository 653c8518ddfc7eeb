/**
 * com.microsoft::SoftmaxCrossEntropyLossInternalGrad(dY, log_prob, label, weight?, ignore_index?, bias?;
 * reduction = "mean", output_type?) → d_logits.
 *
 * The gradient ORT emits for SoftmaxCrossEntropyLossInternal (what `SoftmaxCrossEntropyLossInternalFusion`
 * makes of a model's own log_softmax + nll_loss). Same math as SoftmaxCrossEntropyLossGrad, except that
 * ignore_index is an optional int64 scalar *input* (nothing ignored when absent), `bias` (same shape as
 * d_logits) is added to the result, and `output_type` casts it. We compute in log_prob's type and cast at the
 * end (ORT computes in the wider of the two types; the difference only shows for a narrowing output_type).
 * Source: SCELossGradFunBuilder(ignore_index_as_attr = false), cpu/loss/softmax_cross_entropy_loss.cc.
 */
import type { LoweringRule } from '../rule.js';
import { dtypeName } from '../../../onnx/dtypes.js';
import { FLOAT_TYPES } from './loss-math.js';
import { typed } from './common.js';
import { ignoreIndexInput, lowerSceGrad, sceGradProblem } from './softmax-cross-entropy-loss-grad.js';

export const softmaxCrossEntropyLossInternalGrad: LoweringRule = {
  op: 'com.microsoft::SoftmaxCrossEntropyLossInternalGrad',
  check(n, ctx) {
    const p = sceGradProblem(n, ctx);
    if (p) return p;
    const ot = n.attrInt('output_type');
    if (ot !== undefined && !FLOAT_TYPES.has(ot)) return `output_type=${dtypeName(ot)} is not a float type`;
    return undefined;
  },
  lower(n, ctx) {
    const b = ctx.b;
    let d = lowerSceGrad(n, ctx, ignoreIndexInput(n, ctx, 4));
    const bias = n.input(5);
    if (bias) {
      const T = ctx.shapes.dtype(n.inputs[1])!;
      let bv = typed(bias, undefined, ctx);
      if (ctx.shapes.dtype(bias) !== T) bv = b.op.Cast(bv, T);
      d = b.op.Add(d, b.op.Reshape(bv, b.op.Shape(d)));
    }
    const ot = n.attrInt('output_type');
    if (ot !== undefined && ot !== ctx.shapes.dtype(n.inputs[1])) d = b.op.Cast(d, ot);
    return [d];
  },
};
