/**
 * A lowering rule rewrites one ONNX Runtime training-only op into standard ONNX ops.
 *
 * `check` returns undefined when the rule applies to this node, or the reason it does not (a missing static
 * shape, an unsupported attribute value) so that the lowering pass can report every unsupported node at once.
 * `lower` emits replacement nodes with the builder and returns one Value per node output (undefined for an
 * output that is absent or unused); the pass wires them to the original output names.
 */
import type { GraphBuilder, Value } from '../../builder/index.js';
import type { Node } from '../../ir/graph.js';

/** Static facts the pass knows about values (from value_info, graph inputs, initializers). */
export interface ShapeInfo {
  /** Element type, or undefined. */
  dtype(name: string): number | undefined;
  /** Dims (numbers, or strings for symbolic dims), or undefined when unknown. */
  shape(name: string): readonly (number | string)[] | undefined;
  /** Rank when known. */
  rank(name: string): number | undefined;
  /** The constant value of an initializer / Constant output, or undefined. */
  constant(name: string): { dims: number[]; data: ArrayLike<number | bigint> } | undefined;
}

export interface LoweringContext {
  readonly b: GraphBuilder;
  readonly shapes: ShapeInfo;
  /** Default-domain opset of the model being lowered. */
  readonly opset: number;
}

export interface LoweringRule {
  /** `domain::OpType` this rule lowers (e.g. 'com.microsoft::ReluGrad'). */
  readonly op: string;
  check(n: Node, ctx: LoweringContext): string | undefined;
  lower(n: Node, ctx: LoweringContext): readonly (Value | undefined)[];
}
