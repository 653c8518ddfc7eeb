/**
 * LayerNormalization(X, Scale, B?) -> (Y, Mean?, InvStdDev?) in ORT's contrib form: the default-domain
 * schema ORT registers since version 1 (standard ONNX only from opset 17), also accepted under com.microsoft.
 * Attributes axis (−1), epsilon (1e−5), stash_type (1 = float: the Mean/InvStdDev type). Same semantics as
 * ONNX LayerNormalization-17, over the axes [axis, rank):
 *   Mean = mean(X),  InvStdDev = 1/√(mean((X − Mean)²) + ε),  Y = (X − Mean)·InvStdDev·Scale + B,
 * Mean/InvStdDev shaped like X with the normalised dims set to 1.
 *
 * Lowering: at opset >= 17 the standard LayerNormalization (identical semantics); below, ReduceMean, Sub, Mul,
 * Add, Sqrt, Reciprocal (axes as attributes, negative when the rank is unknown). Statistics are computed in
 * float64 for float64 inputs and in the stash type (float32) otherwise; Mean/InvStdDev are emitted in the stash
 * type, as ORT does.
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
  if (!n.input(0) || !n.input(1)) return 'LayerNormalization needs its inputs X and Scale';
  const tooOld = opsetReason(ctx, MIN_OPSET, 'the LayerNormalization lowering');
  if (tooOld) return tooOld;
  const axes = trailingAxes(n.attrInt('axis', -1), rankOf(ctx, n.input(0)));
  if (typeof axes === 'string') return axes;
  return floatTypeReason(ctx, n, [0, 1, 2]) ?? { axes };
}

function lower(n: Node, ctx: LoweringContext): (Value | undefined)[] {
  const { axes } = planned(plan(n, ctx), n);
  const { b } = ctx;
  const x = inputValue(ctx, n, 0)!;
  const scale = inputValue(ctx, n, 1)!;
  const bias = inputValue(ctx, n, 2);
  const axis = n.attrInt('axis', -1);
  const epsilon = floatAttr(n, 'epsilon', 1e-5);
  const stash = n.attrInt('stash_type', DataType.FLOAT);
  const keep = (vs: Value[]) => vs.map((v, i) => (wanted(n, i) ? v : undefined));

  if (ctx.opset >= 17) {
    const count = Math.max(1, ...[0, 1, 2].filter((i) => wanted(n, i)).map((i) => i + 1));
    return keep(b.op.LayerNormalization(x, scale, bias, axis, epsilon, count, n.attr('stash_type') ? stash : undefined));
  }
  const t = dtypeOf(ctx, n.input(0));
  const st = statisticsType(t, stash);
  const xs = castTo(b, x, st);
  const mean = b.op.ReduceMean(xs, axes, 1);
  const centered = b.op.Sub(xs, mean);
  const invStd = b.op.Reciprocal(b.op.Sqrt(b.op.Add(b.op.ReduceMean(b.op.Mul(centered, centered), axes, 1), epsilon)));
  let y = b.op.Mul(castTo(b, b.op.Mul(centered, invStd), t), scale);
  if (bias) y = b.op.Add(y, bias);
  const outType = t === undefined ? undefined : stash;
  return [
    y,
    wanted(n, 1) ? castTo(b, mean, outType) : undefined,
    wanted(n, 2) ? castTo(b, invStd, outType) : undefined,
  ];
}

const check = (n: Node, ctx: LoweringContext) => {
  const p = plan(n, ctx);
  return typeof p === 'string' ? p : undefined;
};

/** Default-domain LayerNormalization (ORT contrib below opset 17; standard from 17, where this emits it as is). */
export const layerNormalization: LoweringRule = { op: 'ai.onnx::LayerNormalization', minOpset: MIN_OPSET, check, lower };
/** com.microsoft::LayerNormalization, same schema. */
export const layerNormalizationMs: LoweringRule = { op: `${MS_DOMAIN}::LayerNormalization`, minOpset: MIN_OPSET, check, lower };
