/**
 * SimplifiedLayerNormalization(X, scale) -> (Y, inv_std_var?) — RMSNorm, an ORT contrib op in the default
 * domain (also accepted under com.microsoft), produced by ORT's `SimplifiedLayerNormFusion` from the HF
 * Llama/T5 pattern. Attributes axis (−1), epsilon (1e−5), stash_type (1 = float: inv_std_var's type). Over the
 * axes [axis, rank):
 *   inv_std_var = 1/√(mean(X²) + ε),  Y = X·inv_std_var·scale,
 * inv_std_var shaped like X with the normalised dims set to 1. No standard op before opset 23
 * (RMSNormalization, which has no inv_std_var output and which ORT 1.20 cannot load), so it is always
 * decomposed: Mul, ReduceMean, Add, Sqrt, Reciprocal, Mul, Mul. Statistics in float64 for float64 inputs, else
 * float32; inv_std_var is emitted in the stash type.
 */
import type { Value } from '../../../builder/index.js';
import { DataType } from '../../../onnx/dtypes.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext, LoweringRule } from '../rule.js';
import {
  MIN_OPSET, MS_DOMAIN, castTo, floatAttr, dtypeOf, floatTypeReason, inputValue, opsetReason, planned, rankOf, statisticsType,
  trailingAxes, wanted,
} from './common.js';

function plan(n: Node, ctx: LoweringContext): { axes: number[] } | string {
  if (!n.input(0) || !n.input(1)) return 'SimplifiedLayerNormalization needs its inputs X and scale';
  const tooOld = opsetReason(ctx, MIN_OPSET, 'the SimplifiedLayerNormalization lowering');
  if (tooOld) return tooOld;
  const axes = trailingAxes(n.attrInt('axis', -1), rankOf(ctx, n.input(0)));
  if (typeof axes === 'string') return axes;
  return floatTypeReason(ctx, n, [0, 1]) ?? { axes };
}

function lower(n: Node, ctx: LoweringContext): (Value | undefined)[] {
  const { axes } = planned(plan(n, ctx), n);
  const { b } = ctx;
  const x = inputValue(ctx, n, 0)!;
  const scale = inputValue(ctx, n, 1)!;
  const stash = n.attrInt('stash_type', DataType.FLOAT);
  const t = dtypeOf(ctx, n.input(0));
  const xs = castTo(b, x, statisticsType(t, stash));
  const invStd = b.op.Reciprocal(b.op.Sqrt(b.op.Add(b.op.ReduceMean(b.op.Mul(xs, xs), axes, 1), floatAttr(n, 'epsilon', 1e-5))));
  const y = b.op.Mul(castTo(b, b.op.Mul(xs, invStd), t), scale);
  return [y, wanted(n, 1) ? castTo(b, invStd, t === undefined ? undefined : stash) : undefined];
}

const check = (n: Node, ctx: LoweringContext) => {
  const p = plan(n, ctx);
  return typeof p === 'string' ? p : undefined;
};

/** Default-domain SimplifiedLayerNormalization (where ORT registers it). */
export const simplifiedLayerNormalization: LoweringRule = { op: 'ai.onnx::SimplifiedLayerNormalization', minOpset: MIN_OPSET, check, lower };
/** com.microsoft::SimplifiedLayerNormalization, same schema. */
export const simplifiedLayerNormalizationMs: LoweringRule = { op: `${MS_DOMAIN}::SimplifiedLayerNormalization`, minOpset: MIN_OPSET, check, lower };
