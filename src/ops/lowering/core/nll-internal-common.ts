/**
 * Shared by NegativeLogLikelihoodLossInternal and NegativeLogLikelihoodLossInternal2 (the opset-12 and
 * opset-13 registrations of the same function): check and lowering.
 *
 * (input [N,C,D..] log-probabilities, target [N,D..], weight? [C], ignore_index? int64 scalar input;
 * reduction = "mean") → loss; `l_i = −input[i, target_i]·w_i`, ignored targets contribute 0 to the sum and to
 * the mean's denominator Σ w. ORT runs these as function bodies (BuildNllLossInternalFunctionHelper): without
 * ignore_index nothing is ignored (unlike the SCE kernels' −1 default).
 * Lowering: standard NegativeLogLikelihoodLoss (opset ≥ 12) with ignore_index as attribute when it is constant
 * or absent and the input is float32; otherwise `emitNll`. ORT registers no gradient op for these: its
 * gradient graphs only see them fused into SoftmaxCrossEntropyLossInternal (whose grad is lowered).
 * Mean with every target ignored (Σ w = 0): NaN from the standard op (stock ORT, like ORT's function body),
 * 0 from the explicit form (like ORT's SCE kernels). Both are edge cases of an empty batch.
 */
import type { Node } from '../../../ir/graph.js';
import { DataType, dtypeName } from '../../../onnx/dtypes.js';
import type { LoweringContext } from '../rule.js';
import type { Value } from '../../../builder/index.js';
import { emitNll, LABEL_TYPES, reductionOf } from './loss-math.js';
import { floatTypeProblem, missingInputs, typed } from './common.js';
import { constantNumbers } from '../rule.js';

export function nllInternalProblem(n: Node, ctx: LoweringContext): string | undefined {
  const missing = missingInputs(n, { 0: 'input', 1: 'target' });
  if (missing) return missing;
  const red = n.attrString('reduction', 'mean');
  if (!reductionOf(red)) return `reduction="${red}" (must be none, sum or mean)`;
  const p = floatTypeProblem(ctx.shapes.dtype(n.inputs[0]), 'input');
  if (p) return p;
  const L = ctx.shapes.dtype(n.inputs[1]);
  if (L === undefined || !LABEL_TYPES.has(L)) return `target must be int32 or int64 (element type ${L === undefined ? 'unknown' : dtypeName(L)})`;
  return undefined;
}

export function lowerNllInternal(n: Node, ctx: LoweringContext): Value[] {
  const b = ctx.b;
  const T = ctx.shapes.dtype(n.inputs[0])!;
  const L = ctx.shapes.dtype(n.inputs[1])!;
  const input = typed(n.inputs[0], T, ctx);
  const target = typed(n.inputs[1], L, ctx);
  const w = n.input(2);
  const weight = w ? typed(w, T, ctx) : undefined;
  const reduction = reductionOf(n.attrString('reduction', 'mean'))!;
  const ig = n.input(3);
  const c = ig ? constantNumbers(ctx.shapes, ig) : undefined;
  const ignore: number | Value | undefined = !ig ? undefined : c && c.length === 1 ? c[0] : typed(ig, undefined, ctx);
  if (typeof ignore !== 'object' && ctx.opset >= 12 && T === DataType.FLOAT) {
    return [b.op.NegativeLogLikelihoodLoss(input, target, weight, { reduction, ignore_index: ignore })];
  }
  return [emitNll(b, { logProb: input, label: target, weight, ignore, reduction, T, L })];
}
