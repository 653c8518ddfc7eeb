/**
 * A lowering rule rewrites one ONNX Runtime training-only op into standard ONNX ops.
 *
 * `check` returns undefined when the rule applies to this node, or the reason it does not (a missing static
 * shape, an unsupported attribute value) so that the lowering pass can report every unsupported node at once.
 * `lower` emits replacement nodes with the builder and returns one Value per node output (undefined for an
 * output that is absent or unused); the pass wires them to the original output names, so a rule never has to
 * care about naming its results.
 *
 * Contract between a rule and the pass (`lowerTrainingOps`, src/transforms/lower.ts):
 * - `check` is called for every node first, with the context the node will be lowered in; `lower` is only
 *   called when every node of the model passed its check (nothing is written before that).
 * - `ctx.opset` is the default-domain opset the lowered model will have. It is the source model's opset, or
 *   higher when some rule present declares `minOpset` (the pass then upgrades the existing nodes first). Emit
 *   through `ctx.b.op.*`, which is opset-aware (axes as attribute or input, …).
 * - `ctx.b` is a fresh builder per node, scoped with the node's name; its constants are not shared with other
 *   nodes. Values the rule reads from the graph should come from {@link inputValue} so that numbers lifted
 *   to constants get the operand's element type (float64 graphs stay float64).
 * - A rule must not remove or rename existing nodes or values; it only adds nodes. The pass removes the
 *   lowered node afterwards.
 */
import { Value, type GraphBuilder } from '../../builder/index.js';
import type { Node } from '../../ir/graph.js';

/** A dimension: a number when static, a string when symbolic (`batch_size`) or unknown (`?<k>`, never equal to another). */
export type Dim = number | string;

/** Static facts the pass knows about values (from value_info, graph inputs, initializers, Constant nodes). */
export interface ShapeInfo {
  /** Element type, or undefined. */
  dtype(name: string): number | undefined;
  /**
   * Dims (numbers, or strings for symbolic dims), or undefined when unknown. A dim that the model leaves
   * completely unspecified is reported as a unique string `?<k>`, so two unknown dims never compare equal.
   */
  shape(name: string): readonly Dim[] | undefined;
  /** Rank when known. */
  rank(name: string): number | undefined;
  /**
   * The constant value of an initializer that is not also a graph input (those can be overridden at run time)
   * or of a Constant node output; undefined otherwise.
   */
  constant(name: string): { dims: number[]; data: ArrayLike<number | bigint> } | undefined;
}

export interface LoweringContext {
  readonly b: GraphBuilder;
  readonly shapes: ShapeInfo;
  /** Default-domain opset of the lowered model (the source model's, or higher; never below a rule's `minOpset`). */
  readonly opset: number;
  /**
   * Declares `value` to be the new value of graph input `stateInput`, which ONNX Runtime updated in place
   * (InPlaceAccumulatorV2's buffer, an optimizer's parameters and moments). The pass exposes it as the graph
   * output `<stateInput>.out` (see lower.ts for the naming contract). Absent in contexts made outside the pass;
   * then the value is only returned as an ordinary output, if the node has one.
   */
  readonly updateState?: (stateInput: string, value: Value) => void;
}

export interface LoweringRule {
  /** `domain::OpType` this rule lowers (e.g. 'com.microsoft::ReluGrad', 'ai.onnx::MaxPoolGrad'). */
  readonly op: string;
  /**
   * Lowest default-domain opset the emitted ops need (e.g. 16 for ScatterElements with reduction="add").
   * When the model's opset is lower, the pass upgrades the model to this opset before lowering. Omit when the
   * rule can emit at any opset the model can have (≥ 12 for every real artifact).
   */
  readonly minOpset?: number;
  check(n: Node, ctx: LoweringContext): string | undefined;
  lower(n: Node, ctx: LoweringContext): readonly (Value | undefined)[];
}

/** `domain::opType` with the default domain written as `ai.onnx` (the key format of RULES). */
export function qualifiedOp(domain: string, opType: string): string {
  return `${domain === '' ? 'ai.onnx' : domain}::${opType}`;
}

/**
 * A graph value as a builder Value carrying the element type and shape the pass knows, so that constants
 * lifted next to it (`b.op.Mul(x, 0.5)`) get its type. Returns undefined for a blank/absent optional input.
 */
export function inputValue(ctx: LoweringContext, name: string | undefined): Value | undefined {
  if (!name) return undefined;
  return new Value(name, ctx.shapes.dtype(name), ctx.shapes.shape(name));
}

/** Like {@link inputValue} for a required input (throws a bug error when absent; `check` should have caught it). */
export function requiredInput(ctx: LoweringContext, n: Node, index: number): Value {
  const v = inputValue(ctx, n.input(index));
  if (!v) throw new Error(`bug: ${n.qualifiedOp} node "${n.name}" has no input ${index}; its rule's check() should have refused it`);
  return v;
}

/** All dims when every one is a known number, else undefined. */
export function staticShape(shapes: ShapeInfo, name: string): number[] | undefined {
  const s = shapes.shape(name);
  if (!s || s.some((d) => typeof d !== 'number')) return undefined;
  return s as number[];
}

/** The constant as plain numbers (bigints converted), or undefined when `name` is not a constant. */
export function constantNumbers(shapes: ShapeInfo, name: string | undefined): number[] | undefined {
  if (!name) return undefined;
  const c = shapes.constant(name);
  return c ? Array.from(c.data as ArrayLike<number | bigint>, (x) => Number(x)) : undefined;
}
