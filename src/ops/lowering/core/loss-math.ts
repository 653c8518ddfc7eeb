/**
 * Standard-op building blocks shared by the loss rules (SoftmaxCrossEntropyLoss*, NegativeLogLikelihoodLoss*).
 * Semantics follow ORT's CPU kernels (orttraining/training_ops/cpu/loss/softmax_cross_entropy_loss.cc) and the
 * function bodies ORT registers for these ops (training_op_defs.cc, SCELossGradFunBuilder and
 * BuildNllLossInternalFunctionHelper), with two decisions where those differ:
 * - a `mean` whose denominator is 0 (every label ignored) gives 0, like the kernel, not NaN like the body;
 * - a missing ignore_index ignores nothing, like ONNX SoftmaxCrossEntropyLoss and the function body (some ORT
 *   kernel versions default it to −1; stock onnxruntime-node 1.30's forward kernel does not ignore −1 either,
 *   verified, so forward and lowered backward agree). Labels outside [0, C) are undefined behaviour anyway.
 *
 * Shapes: scores / log_prob [N, C, D1..Dk], labels [N, D1..Dk] (int32 or int64), weights [C].
 */
import type { GraphBuilder, Value } from '../../../builder/index.js';
import { DataType } from '../../../onnx/dtypes.js';

export type Reduction = 'none' | 'sum' | 'mean';
export const REDUCTIONS: readonly Reduction[] = ['none', 'sum', 'mean'];

/** The ignore index as a scalar of the label type: a constant, or a runtime tensor cast and reshaped. */
function ignoreScalar(b: GraphBuilder, ignore: number | Value, labelType: number): Value {
  if (typeof ignore === 'number') return b.const(ignore, labelType);
  const c = b.dtypeOf(ignore) === labelType ? ignore : b.op.Cast(ignore, labelType);
  return b.op.Reshape(c, []);
}

/** Replaces a zero denominator by 1 (the kernels skip the division then). */
function safeDenominator(b: GraphBuilder, den: Value): Value {
  return b.op.Where(b.op.Equal(den, 0), 1, den);
}

export interface LossWeights {
  /** Per-sample weight [N, D..]: weight[label] (or 1), 0 where the label is ignored. */
  readonly w: Value;
  /** Labels with ignored entries replaced by 0, safe for Gather/GatherElements. */
  readonly safeLabel: Value;
}

/**
 * Per-sample weights and safe labels (see {@link LossWeights}). `ignore` undefined = no label is ignored.
 * `needSafeLabel` = the caller indexes with the labels (NLL); the SCE gradient only needs the weights.
 */
export function sampleWeights(b: GraphBuilder, label: Value, weight: Value | undefined, ignore: number | Value | undefined, T: number, L: number, needSafeLabel = true): LossWeights {
  if (ignore === undefined) {
    // Unit weights: ones of the label's shape (Equal(x, x) is true everywhere for integers).
    return { w: weight ? b.op.Gather(weight, label) : b.op.Cast(b.op.Equal(label, label), T), safeLabel: label };
  }
  const ignored = b.op.Equal(label, ignoreScalar(b, ignore, L));
  const safeLabel = weight || needSafeLabel ? b.op.Where(ignored, b.const(0, L), label) : label;
  if (!weight) return { w: b.op.Cast(b.op.Not(ignored), T), safeLabel };
  return { w: b.op.Where(ignored, b.const(0, T), b.op.Gather(weight, safeLabel)), safeLabel };
}

export interface SceGradArgs {
  readonly dY: Value;
  readonly logProb: Value;
  readonly label: Value;
  readonly weight?: Value;
  /** Undefined: no label is ignored. */
  readonly ignore?: number | Value;
  readonly reduction: Reduction;
  /** Element type of log_prob / dY / weight. */
  readonly T: number;
  /** Element type of label (INT32 or INT64). */
  readonly L: number;
  /** Rank of log_prob when known (2 gets a smaller graph). */
  readonly rank?: number;
  /** Number of classes when static (the class index becomes a constant). */
  readonly classes?: number;
}

/**
 * d_logits of softmax cross-entropy, given log_prob = LogSoftmax(logits, axis 1):
 * `d[i,c] = (exp(log_prob[i,c]) − [c = label_i]) · s_i` with `s_i = dY_i·w_i` (none) or `dY·w_i` (sum) or
 * `dY·w_i / Σ_j w_j` (mean; the sum replaced by 1 when it is 0), `w_i = weight[label_i]` (1 without weights)
 * and `w_i = 0` for ignored labels.
 */
export function emitSceGrad(b: GraphBuilder, a: SceGradArgs): Value {
  const { T, L } = a;
  // dLoss: the factor of each sample's (prob − one_hot); a scalar when it is the same for every sample.
  let dLoss: Value;
  let scalar = false;
  if (a.weight === undefined && a.ignore === undefined) {
    if (a.reduction === 'none') {
      dLoss = a.dY;
    } else {
      scalar = true;
      const dY = b.op.Reshape(a.dY, []);
      dLoss = a.reduction === 'mean' ? b.op.Div(dY, b.op.Cast(b.op.Size(a.label), T)) : dY;
    }
  } else {
    const { w } = sampleWeights(b, a.label, a.weight, a.ignore, T, L, false);
    if (a.reduction === 'mean') {
      const den = safeDenominator(b, b.op.ReduceSum(w, undefined, 0));
      dLoss = b.op.Mul(w, b.op.Div(b.op.Reshape(a.dY, []), den));
    } else if (a.reduction === 'sum') {
      dLoss = b.op.Mul(w, b.op.Reshape(a.dY, []));
    } else {
      dLoss = b.op.Mul(w, a.dY);
    }
  }
  const classIndex = (): Value => {
    if (a.classes !== undefined) return b.const(Array.from({ length: a.classes }, (_, i) => i), L);
    const c = b.op.Gather(b.op.Shape(a.logProb), b.i64(1));
    const r = b.op.Range(b.i64(0), c, b.i64(1));
    return L === DataType.INT64 ? r : b.op.Cast(r, L);
  };
  if (a.rank === 2) {
    const prob = b.op.Exp(a.logProb);
    const oneHot = b.op.Cast(b.op.Equal(b.op.Unsqueeze(a.label, [1]), classIndex()), T);
    return b.op.Mul(b.op.Sub(prob, oneHot), scalar ? dLoss : b.op.Unsqueeze(dLoss, [1]));
  }
  // General rank: work on [N, C, D] with D = D1·…·Dk, then restore log_prob's shape.
  const prob = b.op.Exp(b.op.Reshape(a.logProb, [0, 0, -1]));
  const label = b.op.Reshape(a.label, [0, 1, -1]);
  const oneHot = b.op.Cast(b.op.Equal(label, b.op.Reshape(classIndex(), [1, -1, 1])), T);
  const d = b.op.Mul(b.op.Sub(prob, oneHot), scalar ? dLoss : b.op.Reshape(dLoss, [0, 1, -1]));
  return b.op.Reshape(d, b.op.Shape(a.logProb));
}

export interface NllArgs {
  readonly logProb: Value;
  readonly label: Value;
  readonly weight?: Value;
  /** Undefined: no label is ignored. */
  readonly ignore?: number | Value;
  readonly reduction: Reduction;
  readonly T: number;
  readonly L: number;
}

/**
 * Negative log-likelihood: `l_i = −log_prob[i, label_i]·w_i`; none → l, sum → Σ l, mean → Σ l / Σ w (0 when
 * Σ w = 0); without weights and without ignore_index mean is ReduceMean.
 */
export function emitNll(b: GraphBuilder, a: NllArgs): Value {
  const unweighted = a.weight === undefined && a.ignore === undefined;
  const sw = unweighted ? undefined : sampleWeights(b, a.label, a.weight, a.ignore, a.T, a.L);
  const label = sw?.safeLabel ?? a.label;
  const picked = b.op.Squeeze(b.op.GatherElements(a.logProb, b.op.Unsqueeze(label, [1]), 1), [1]);
  const loss = sw ? b.op.Mul(b.op.Neg(picked), sw.w) : b.op.Neg(picked);
  if (a.reduction === 'none') return loss;
  if (a.reduction === 'sum') return b.op.ReduceSum(loss, undefined, 0);
  if (!sw) return b.op.ReduceMean(loss, undefined, 0);
  return b.op.Div(b.op.ReduceSum(loss, undefined, 0), safeDenominator(b, b.op.ReduceSum(sw.w, undefined, 0)));
}

/**
 * LogSoftmax over axis 1 of a [N, C, D..] tensor at any opset. Below 13 LogSoftmax normalises the flattened
 * dims [axis, rank), so for rank > 2 the class axis is moved last first.
 */
export function emitLogSoftmaxAxis1(b: GraphBuilder, x: Value, rank: number | undefined, opset: number): Value {
  if (rank === 2 || opset >= 13) return b.op.LogSoftmax(x, 1);
  const ndc = b.op.Transpose(b.op.Reshape(x, [0, 0, -1]), [0, 2, 1]);
  const ls = b.op.Transpose(b.op.LogSoftmax(ndc, 2), [0, 2, 1]);
  return b.op.Reshape(ls, b.op.Shape(x));
}

/** The `reduction` attribute, validated; undefined when it is not one of none/sum/mean. */
export function reductionOf(value: string): Reduction | undefined {
  return (REDUCTIONS as readonly string[]).includes(value) ? (value as Reduction) : undefined;
}

export const FLOAT_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);
export const LABEL_TYPES: ReadonlySet<number> = new Set([DataType.INT32, DataType.INT64]);
