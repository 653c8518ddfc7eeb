/**
 * com.microsoft::SoftmaxCrossEntropyLossGrad(dY, log_prob, label, weight?; reduction = "mean", ignore_index)
 * → d_logits, the gradient of ONNX SoftmaxCrossEntropyLoss with respect to its scores.
 *
 * `d[i,c] = (exp(log_prob[i,c]) − [c = label_i]) · s_i`, `s_i = 0` for ignored labels, otherwise
 * `dY_i·w[label_i]` (none), `dY·w[label_i]` (sum) or `dY·w[label_i] / Σ_{not ignored} w[label_j]` (mean; the
 * division is skipped when that sum is 0), `w ≡ 1` without weights. i runs over N·D1·…·Dk.
 * A missing ignore_index ignores nothing (see loss-math.ts on ORT's kernel defaults).
 * Lowering: see `emitSceGrad` (Exp, Equal-based one-hot, Gather of weights, ReduceSum; no OneHot op).
 * Source: orttraining/training_ops/cpu/loss/softmax_cross_entropy_loss.cc, SCELossGradFunBuilder.
 */
import { constantNumbers, type LoweringContext, type LoweringRule } from '../rule.js';
import type { Node } from '../../../ir/graph.js';
import { dtypeName } from '../../../onnx/dtypes.js';
import { emitSceGrad, LABEL_TYPES, reductionOf } from './loss-math.js';
import { floatTypeProblem, missingInputs, typed } from './common.js';

/** Checks shared with SoftmaxCrossEntropyLossInternalGrad. */
export function sceGradProblem(n: Node, ctx: LoweringContext): string | undefined {
  const missing = missingInputs(n, { 0: 'dY', 1: 'log_prob', 2: 'label' });
  if (missing) return missing;
  const red = n.attrString('reduction', 'mean');
  if (!reductionOf(red)) return `reduction="${red}" (must be none, sum or mean)`;
  const p = floatTypeProblem(ctx.shapes.dtype(n.inputs[1]), 'log_prob');
  if (p) return p;
  const L = ctx.shapes.dtype(n.inputs[2]);
  if (L === undefined) return 'the element type of label is unknown';
  if (!LABEL_TYPES.has(L)) return `label has element type ${dtypeName(L)} (int32 or int64 expected)`;
  return undefined;
}

/** The lowering shared with SoftmaxCrossEntropyLossInternalGrad; `ignore` comes from the attribute or input. */
export function lowerSceGrad(n: Node, ctx: LoweringContext, ignore: number | string | undefined): ReturnType<typeof emitSceGrad> {
  const T = ctx.shapes.dtype(n.inputs[1])!;
  const L = ctx.shapes.dtype(n.inputs[2])!;
  const lp = typed(n.inputs[1], T, ctx);
  const shape = ctx.shapes.shape(lp.name);
  const c = shape?.[1];
  const weight = n.input(3);
  return emitSceGrad(ctx.b, {
    dY: typed(n.inputs[0], T, ctx),
    logProb: lp,
    label: typed(n.inputs[2], L, ctx),
    weight: weight ? typed(weight, T, ctx) : undefined,
    ignore: typeof ignore === 'string' ? typed(ignore, undefined, ctx) : ignore,
    reduction: reductionOf(n.attrString('reduction', 'mean'))!,
    T,
    L,
    rank: shape?.length,
    // A static class count becomes a constant index vector (bounded so a huge vocabulary stays a Range).
    classes: typeof c === 'number' && c > 0 && c <= 4096 ? c : undefined,
  });
}

export const softmaxCrossEntropyLossGrad: LoweringRule = {
  op: 'com.microsoft::SoftmaxCrossEntropyLossGrad',
  check(n, ctx) {
    return sceGradProblem(n, ctx);
  },
  lower(n, ctx) {
    return [lowerSceGrad(n, ctx, n.attrInt('ignore_index'))];
  },
};

/**
 * The ignore index of an `_Internal` op's optional input: undefined when absent, a number when constant, else
 * the input name (a runtime value).
 */
export function ignoreIndexInput(n: Node, ctx: LoweringContext, index: number): number | string | undefined {
  const name = n.input(index);
  if (!name) return undefined;
  const c = constantNumbers(ctx.shapes, name);
  return c && c.length === 1 ? c[0] : name;
}
