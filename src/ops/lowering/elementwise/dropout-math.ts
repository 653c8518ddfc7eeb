/**
 * Dropout formulas shared by DropoutGrad, BitmaskDropoutGrad, the training-mode Dropout rule and
 * BitmaskDropout, plus the uint32 bitmask packing ORT's BitmaskDropout uses (element i ↦ word ⌊i/32⌋,
 * bit i mod 32, least-significant bit first; ⌈N/32⌉ words).
 */
import type { Value } from '../../../builder/index.js';
import { DataType } from '../../../onnx/dtypes.js';
import type { LoweringContext } from '../rule.js';
import { constScalar, elemType, rankOf, scalar } from './support.js';

/** ORT's ratio when the input is absent. */
export const DEFAULT_DROPOUT_RATIO = 0.5;
export const BITS_PER_WORD = 32;

/** The ratio as a scalar of `like`'s element type (`ratio` may be float/half/double, scalar or [1]). */
export function ratioLike(ctx: LoweringContext, ratio: Value | undefined, like: Value): Value {
  const b = ctx.b;
  if (!ratio) return scalar(ctx, DEFAULT_DROPOUT_RATIO, like);
  const c = constScalar(ctx, ratio.name);
  if (c !== undefined) return scalar(ctx, c, like);
  const t = like.dtype ?? elemType(ctx, like.name);
  let r = (ratio.dtype ?? elemType(ctx, ratio.name)) === t && t !== undefined ? ratio : t !== undefined ? b.op.Cast(ratio, t) : b.op.CastLike(ratio, like);
  // A [1]-shaped ratio would broadcast a scalar dY to [1]; make it a true scalar unless known to be one.
  if (rankOf(ctx, ratio.name) !== 0) r = b.op.Reshape(r, b.i64([]));
  return r;
}

/**
 * dX = Where(mask, dY / (1 − ratio), 0) (ORT's DropoutGrad fn body). A constant ratio of 0 gives dY itself, as
 * the kernel does regardless of the mask.
 */
export function emitDropoutGrad(ctx: LoweringContext, dY: Value, mask: Value, ratio: Value | undefined): Value {
  const b = ctx.b;
  const c = ratio ? constScalar(ctx, ratio.name) : DEFAULT_DROPOUT_RATIO;
  if (c === 0) return b.op.Identity(dY);
  const keep = b.op.Sub(scalar(ctx, 1, dY), ratioLike(ctx, ratio, dY));
  return b.op.Where(mask, b.op.Div(dY, keep), scalar(ctx, 0, dY));
}

/** 2^0 … 2^31 as int64 [32]. */
const bitWeights = (ctx: LoweringContext) => ctx.b.i64(Array.from({ length: BITS_PER_WORD }, (_, i) => 2 ** i));

/** Packs a bool tensor into uint32 words [⌈N/32⌉] (padding bits set, as ORT's inference path writes them). */
export function emitPackBitmask(ctx: LoweringContext, mask: Value): Value {
  const b = ctx.b;
  const flat = b.op.Cast(b.op.Reshape(mask, [-1]), DataType.INT64);
  const n = b.op.Reshape(b.op.Size(mask), [1]);
  const words = b.op.Div(b.op.Add(n, b.i64(BITS_PER_WORD - 1)), b.i64(BITS_PER_WORD));
  const padLen = b.op.Sub(b.op.Mul(words, b.i64(BITS_PER_WORD)), n);
  const padded = b.op.Pad(flat, b.op.Concat([b.i64([0]), padLen], 0), b.i64(1));
  const bits = b.op.Reshape(padded, [-1, BITS_PER_WORD]);
  const packed = b.op.ReduceSum(b.op.Mul(bits, bitWeights(ctx)), [1], 0);
  return b.op.Cast(packed, DataType.UINT32);
}

/** Unpacks uint32 words into a bool tensor shaped like `like` (the first Size(like) bits). */
export function emitUnpackBitmask(ctx: LoweringContext, words: Value, like: Value): Value {
  const b = ctx.b;
  const w = b.op.Reshape(b.op.Cast(words, DataType.INT64), [-1, 1]);
  // Integer division by 2^k then mod 2 extracts bit k (values < 2^32 are exact in int64).
  const bits = b.op.Mod(b.op.Div(w, bitWeights(ctx)), b.i64(2));
  const flat = b.op.Slice(b.op.Reshape(bits, [-1]), [0], b.op.Reshape(b.op.Size(like), [1]), [0]);
  return b.op.Cast(b.op.Reshape(flat, b.op.Shape(like)), DataType.BOOL);
}

/**
 * A training-mode dropout: mask = U[0,1) ≥ ratio (ORT's CPU kernel draws the same comparison), Y = Where(mask,
 * X/(1 − ratio), 0). With a runtime `training` flag, training = false keeps everything and scales by 1.
 * Randomness comes from RandomUniformLike, so masks differ from ORT's RNG stream.
 */
export function emitTrainingDropout(ctx: LoweringContext, x: Value, ratio: Value | undefined, training: Value | undefined, seed: number | undefined): { y: Value; mask: Value } {
  const b = ctx.b;
  const t = x.dtype ?? elemType(ctx, x.name);
  // Draw in float (or double for double X) so the comparison with the ratio matches the kernel's float compare.
  const u = b.op.RandomUniformLike(x, { dtype: t === DataType.DOUBLE ? DataType.DOUBLE : DataType.FLOAT, seed });
  let r = ratioLike(ctx, ratio, u);
  if (training) r = b.op.Where(training, r, scalar(ctx, 0, u));
  const mask = b.op.GreaterOrEqual(u, r);
  const rx = t === DataType.FLOAT || t === DataType.DOUBLE ? r : t !== undefined ? b.op.Cast(r, t) : b.op.CastLike(r, x);
  const keep = b.op.Sub(scalar(ctx, 1, x), rx);
  return { y: b.op.Where(mask, b.op.Div(x, keep), scalar(ctx, 0, x)), mask };
}
