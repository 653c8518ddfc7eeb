/**
 * Helpers shared by the element-wise lowering rules: typed access to a node's inputs, constants of an input's
 * element type, zeros of a runtime shape, and static facts (constant ints, shape-input dims) read from the
 * lowering context. Nothing here emits an ORT-only op.
 */
import { Value } from '../../../builder/index.js';
import type { Node } from '../../../ir/graph.js';
import { DataType } from '../../../onnx/dtypes.js';
import { inputValue, qualifiedOp, type LoweringContext } from '../rule.js';

export const MS_DOMAIN = 'com.microsoft';

/** Rule key of a com.microsoft op. */
export const msOp = (opType: string): string => qualifiedOp(MS_DOMAIN, opType);

/** Rule key of a default-domain op (`Node.qualifiedOp` writes the default domain as ai.onnx). */
export const onnxOp = (opType: string): string => qualifiedOp('', opType);

/** Element type of a value: the pass's static facts first, then what the builder tracked. */
export function elemType(ctx: LoweringContext, name: string): number | undefined {
  const t = ctx.shapes.dtype(name) ?? ctx.b.dtypeOf(name);
  return t === DataType.UNDEFINED ? undefined : t;
}

/** Input `i` of `n` as a builder Value carrying its known element type and shape; undefined when absent. */
export function input(ctx: LoweringContext, n: Node, i: number): Value | undefined {
  const v = inputValue(ctx, n.input(i));
  if (!v || v.dtype !== undefined) return v;
  // The pass may not know a type the builder tracked (e.g. from value_info it read itself).
  const t = elemType(ctx, v.name);
  return t === undefined ? v : new Value(v.name, t, v.shape);
}

/** Input `i`, which `check` has already required. */
export function req(ctx: LoweringContext, n: Node, i: number): Value {
  const v = input(ctx, n, i);
  if (!v) throw new Error(`${n.qualifiedOp} "${n.name}": input ${i} is required (check() should have rejected this node)`);
  return v;
}

/** Is output `i` of `n` present (named)? */
export const wantsOutput = (n: Node, i: number): boolean => (n.outputs[i] ?? '') !== '';

/** The reason a node lacks required inputs, or undefined. `names` are the schema's input names. */
export function missingInputs(n: Node, names: readonly string[]): string | undefined {
  const missing = names.filter((_, i) => n.input(i) === undefined);
  return missing.length ? `required input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} missing` : undefined;
}

/**
 * Why constants of input `i`'s element type cannot be made: its type is unknown and CastLike (opset 15) is not
 * available. Undefined when they can.
 */
export function typeReason(ctx: LoweringContext, n: Node, i: number): string | undefined {
  const name = n.input(i);
  if (name === undefined || elemType(ctx, name) !== undefined || ctx.opset >= 15) return undefined;
  return `the element type of "${name}" is unknown and CastLike needs opset 15 (model has ${ctx.opset}); add value_info for it`;
}

const isFloatLike = (t: number) => t === DataType.FLOAT16 || t === DataType.BFLOAT16;

/** A scalar constant of `like`'s element type (CastLike when that type is unknown). */
export function scalar(ctx: LoweringContext, v: number, like: Value): Value {
  const b = ctx.b;
  const t = like.dtype ?? elemType(ctx, like.name);
  if (t === undefined) return b.op.CastLike(b.f32(v), like);
  if (isFloatLike(t)) return b.op.Cast(b.f32(v), t);
  return b.const(v, t);
}

/** Zeros of element type `like` and the runtime int64 `shape`. */
export function zerosOfShape(ctx: LoweringContext, shape: Value, like: Value): Value {
  const b = ctx.b;
  const t = like.dtype ?? elemType(ctx, like.name);
  if (t === DataType.FLOAT || t === DataType.DOUBLE || t === DataType.INT64 || t === DataType.INT32) return b.op.ConstantOfShape(shape, 0, t);
  return b.op.Expand(scalar(ctx, 0, like), shape);
}

/** `v` as int64 (a Cast unless its type is known to be int64 already). */
export function asInt64(ctx: LoweringContext, v: Value): Value {
  return (v.dtype ?? elemType(ctx, v.name)) === DataType.INT64 ? v : ctx.b.op.Cast(v, DataType.INT64);
}

/**
 * The constant contents of a value (initializer or Constant output) as numbers. Half-precision constants are
 * not decoded (their arrays hold raw bits) and read as unknown.
 */
export function constInts(ctx: LoweringContext, name: string | undefined): number[] | undefined {
  if (name === undefined) return undefined;
  const t = elemType(ctx, name);
  if (t === DataType.FLOAT16 || t === DataType.BFLOAT16) return undefined;
  const c = ctx.shapes.constant(name);
  return c ? Array.from(c.data, (x) => Number(x)) : undefined;
}

/** The constant scalar value of a value (first element), or undefined. */
export function constScalar(ctx: LoweringContext, name: string | undefined): number | undefined {
  const v = constInts(ctx, name);
  return v && v.length === 1 ? v[0] : undefined;
}

/** Known rank of a value. */
export function rankOf(ctx: LoweringContext, name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  return ctx.shapes.rank(name) ?? ctx.shapes.shape(name)?.length;
}

/** Dims when every one of them is a number. */
export function staticDims(ctx: LoweringContext, name: string | undefined): number[] | undefined {
  if (name === undefined) return undefined;
  const s = ctx.shapes.shape(name);
  return s && s.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
}

/**
 * What is statically known about the *contents* of an int64 shape tensor (e.g. the `shape` input of GatherGrad,
 * SliceGrad, BroadcastGradientArgs): its constant value, or the static shape of X when it is `Shape(X)`
 * (honouring Shape-15 start/end). Dims may be symbolic strings. Undefined when nothing is known.
 */
export function shapeContents(ctx: LoweringContext, name: string | undefined): readonly (number | string)[] | undefined {
  if (name === undefined) return undefined;
  const c = constInts(ctx, name);
  if (c) return c;
  const p = ctx.b.graph.producer(name);
  if (!p || p.opType !== 'Shape' || (p.domain !== '' && p.domain !== 'ai.onnx')) return undefined;
  const src = p.input(0);
  const s = src === undefined ? undefined : ctx.shapes.shape(src);
  if (!s) return undefined;
  const r = s.length;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  return s.slice(clamp(p.attrInt('start', 0)), clamp(p.attrInt('end', r)));
}

/** Normalises a possibly negative axis against `rank`. */
export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** [lo, lo+1, …, hi-1] */
export const range = (lo: number, hi: number): number[] => Array.from({ length: Math.max(0, hi - lo) }, (_, i) => lo + i);
