/**
 * Helpers shared by the convolution / pooling / normalisation lowering rules: reading static facts from the
 * lowering context, typed access to a node's inputs, precision handling and small shape sub-graphs.
 */
import { Value, type GraphBuilder } from '../../../builder/index.js';
import { DataType, dtypeName } from '../../../onnx/dtypes.js';
import type { Node } from '../../../ir/graph.js';
import { inputValue as valueOf, type LoweringContext } from '../rule.js';
import { OnnxTrainError } from '../../../errors.js';

export const MS_DOMAIN = 'com.microsoft';

/**
 * The lowest default-domain opset these rules emit for (declared as each rule's `minOpset`): Slice with tensor
 * inputs (10), Pad with a pads input, negative reduction / Flatten axes and ScatterElements (11). Every
 * training artifact seen so far is at 12 or later, so the pass never has to upgrade for these rules.
 */
export const MIN_OPSET = 11;

/** Reason for `check` when the model's opset is below `min`, else undefined. */
export function opsetReason(ctx: LoweringContext, min: number, what: string): string | undefined {
  if (ctx.opset >= min) return undefined;
  return `${what} needs default-domain opset >= ${min} but the model is at opset ${ctx.opset}; the pass must upgrade the model first`;
}

/** A dim that is a known positive integer (0 and symbolic dims count as unknown). */
export function knownDim(d: number | string | undefined): number | undefined {
  return typeof d === 'number' && Number.isInteger(d) && d > 0 ? d : undefined;
}

/** The static dims of `name` from index `from` on, or undefined when the rank or any of those dims is unknown. */
export function staticDims(ctx: LoweringContext, name: string | undefined, from = 0): number[] | undefined {
  if (!name) return undefined;
  const s = ctx.shapes.shape(name);
  if (!s) return undefined;
  const out: number[] = [];
  for (let i = from; i < s.length; i++) {
    const d = knownDim(s[i]);
    if (d === undefined) return undefined;
    out.push(d);
  }
  return out;
}

/** A single static dim of `name`, or undefined. */
export function staticDim(ctx: LoweringContext, name: string | undefined, axis: number): number | undefined {
  if (!name) return undefined;
  return knownDim(ctx.shapes.shape(name)?.[axis]);
}

/** Rank of `name` when known (from its shape or the rank table). */
export function rankOf(ctx: LoweringContext, name: string | undefined): number | undefined {
  if (!name) return undefined;
  return ctx.shapes.rank(name) ?? ctx.shapes.shape(name)?.length;
}

/** Element type of `name` when known (shape table first, then what the builder recorded). */
export function dtypeOf(ctx: LoweringContext, name: string | undefined): number | undefined {
  if (!name) return undefined;
  const d = ctx.shapes.dtype(name) ?? ctx.b.dtypeOf(name);
  return d === DataType.UNDEFINED ? undefined : d;
}

/**
 * Node input `i` as a builder Value carrying its element type and shape (rule.ts's inputValue, with the
 * builder's record of the type as a fallback), or undefined when absent.
 */
export function inputValue(ctx: LoweringContext, n: Node, i: number): Value | undefined {
  const v = valueOf(ctx, n.input(i));
  return v && v.dtype === undefined ? new Value(v.name, dtypeOf(ctx, v.name), v.shape) : v;
}

/** Is output `i` of `n` present (listed with a non-empty name)? */
export function wanted(n: Node, i: number): boolean {
  return (n.outputs[i] ?? '') !== '';
}

/** 16-bit float types are computed in float32 (as the ORT kernels and the ONNX stash_type do). */
export function computeType(dtype: number | undefined): number | undefined {
  return dtype === DataType.FLOAT16 || dtype === DataType.BFLOAT16 ? DataType.FLOAT : dtype;
}

/** Casts `v` to `to` when both types are known and differ; otherwise returns `v`. */
export function castTo(b: GraphBuilder, v: Value, to: number | undefined): Value {
  const from = b.dtypeOf(v);
  if (to === undefined || from === undefined || from === to) return v;
  return b.op.Cast(v, to);
}

/** Reason when any of the float inputs has a non-float element type. */
export function floatTypeReason(ctx: LoweringContext, n: Node, inputs: readonly number[]): string | undefined {
  const ok = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);
  for (const i of inputs) {
    const t = dtypeOf(ctx, n.input(i));
    if (t !== undefined && !ok.has(t)) return `input ${i} ("${n.input(i)}") has element type ${dtypeName(t)}; a float type is expected`;
  }
  return undefined;
}

/** `Shape(x)[start:end]` as a 1-D int64 tensor (Slice on Shape works at every opset >= 10). */
export function shapeSlice(b: GraphBuilder, x: Value, start: number, end: number): Value {
  return b.op.Slice(b.op.Shape(x), [start], [end], [0]);
}

/** Name used in error messages: the node name, else its op. */
export function nodeLabel(n: Node): string {
  return n.name ? `"${n.name}"` : n.opType;
}

/** The plan computed by a rule, or an OnnxTrainError carrying the reason `check` would have given. */
export function planned<P>(p: P | string, n: Node): P {
  if (typeof p === 'string') {
    throw new OnnxTrainError('UNSUPPORTED_OP', `node ${nodeLabel(n)} (${n.qualifiedOp}) cannot be lowered: ${p}`,
      'call the rule\'s check() before lower(); it reports this reason without throwing');
  }
  return p;
}

/**
 * The normalised axes [axis, …, rank−1] of a LayerNormalization-style op: positive when the rank is known,
 * negative ([axis, …, −1]) when it is not and axis < 0 (reductions accept negative axes from opset 11).
 * Returns a reason when axis >= 0 and the rank is unknown, or axis is out of range.
 */
export function trailingAxes(axis: number, rank: number | undefined): number[] | string {
  if (rank !== undefined) {
    if (axis < -rank || axis >= rank) return `axis ${axis} is out of range for rank ${rank}`;
    const a = axis < 0 ? axis + rank : axis;
    return Array.from({ length: rank - a }, (_, i) => a + i);
  }
  if (axis >= 0) return `axis ${axis} >= 0 needs the rank of X, which is unknown`;
  return Array.from({ length: -axis }, (_, i) => axis + i);
}

/**
 * Precision of LayerNormalization statistics: float64 inputs keep float64 (as ORT's CPU kernels do),
 * otherwise the stash type (float32 by default), so 16-bit inputs are normalised in float32.
 */
export function statisticsType(x: number | undefined, stash: number): number | undefined {
  if (x === DataType.DOUBLE) return DataType.DOUBLE;
  return x === undefined ? undefined : stash;
}

/**
 * A FLOAT attribute as the kernels read it: a float32 value (ONNX stores FLOAT attributes as float32; an
 * attribute built in memory may still hold a double, which is rounded here the same way).
 */
export function floatAttr(n: Node, name: string, dflt: number): number {
  return Math.fround(n.attrFloat(name, dflt));
}
