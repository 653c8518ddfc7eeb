/**
 * The vocabulary of optimizer transforms (optax's `init`/`update` pair, as graph emitters).
 *
 * A {@link Transform} declares the state it needs per parameter ({@link SlotSpec}) and emits nodes that turn an
 * incoming {@link Update} into an outgoing one. Updates are kept in a small *affine form* so that scalar factors
 * (bias corrections, learning rates, clip coefficients, decoupled weight decay) stay on scalars and are applied to
 * the big tensors once, at the end:
 *
 *     p_new = post · (keep · p − scale · dir)
 *
 * `dir` is a tensor of the parameter's shape; `scale` is a scalar; `keep` and `post` are scalars or, in the
 * multi-tensor (flat) mode with a weight-decay mask, per-element tensors. A fresh update is the gradient:
 * `{dir: g, scale: 1, keep: 1, post: 1}` (plain descent with step 1).
 */
import type { GraphBuilder, Value } from '../../builder/index.js';
import type { StepContext } from './context.js';

/**
 * One parameter tensor the optimizer updates. `name` is the API key of everything derived from it
 * (`<name>.grad`, `<name>.<slot>`, `<name>.out`, …). Only float32 parameters are supported.
 */
export interface ParamInfo {
  readonly name: string;
  /** The tensor's shape ([] for a scalar). */
  readonly shape: readonly number[];
  /** Multi-tensor mode only: where each original parameter lives inside this flat [N] buffer. */
  readonly segments?: readonly Segment[];
}

/** One original parameter inside a flat multi-tensor buffer (row-major data at `[offset, offset + size)`). */
export interface Segment {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

/** One state tensor of one parameter, as a transform declares it. */
export interface SlotSpec {
  /** The state name segment: graph input `<param>.<name>`, output `<param>.<name>.out`. */
  readonly name: string;
  readonly shape: readonly number[];
  /** The upstream initial value (every element); all built-in optimizers start their state at 0. */
  readonly init: number;
}

/**
 * A coefficient of the affine update: a build-time number (folded on the host), or a graph value — a scalar
 * (shape [] or [1], float32 or float64) or, for `keep`/`post` in flat mode, a float32 tensor of the param's shape.
 */
export type Coef = number | Value;

/** The running update in affine form: the parameter becomes `post · (keep · p − scale · dir)`. */
export interface Update {
  readonly dir: Value;
  readonly scale: Coef;
  readonly keep: Coef;
  readonly post: Coef;
}

/** What a transform's `emit` receives for one parameter. */
export interface UpdateArgs {
  readonly param: ParamInfo;
  /** The parameter as fed to the graph (before this update). */
  readonly p: Value;
  /** The raw gradient input. */
  readonly g: Value;
  /** The update produced by the transforms before this one (the gradient for the first). */
  readonly update: Update;
  /** This transform's slot inputs, keyed by slot name. */
  readonly slots: Readonly<Record<string, Value>>;
  /** Values published by earlier transforms of the chain for this parameter (e.g. `step_size`). */
  readonly vars: Readonly<Record<string, Coef>>;
  readonly ctx: StepContext;
  /**
   * A constant with one value per element of this parameter (e.g. a multi-tensor weight-decay mask), `data` laid
   * out as the parameter; the builder decides where it lives (an initializer of the main graph, outside any If).
   */
  readonly constant: (name: string, dtype: number, data: Uint8Array | Float32Array) => Value;
}

/** What a transform's `emit` returns. */
export interface UpdateResult {
  readonly update: Update;
  /** The new value of every slot the transform declared, keyed by slot name. */
  readonly slots?: Readonly<Record<string, Value>>;
  /** Values for later transforms of the chain (same parameter). */
  readonly vars?: Readonly<Record<string, Coef>>;
  /** Per-parameter extra outputs, keyed by suffix (graph output `<param>.<suffix>`), e.g. `lr_used`. */
  readonly extras?: Readonly<Record<string, Value>>;
}

/** Arguments of a transform's whole-graph stage (one entry per parameter). */
export interface GlobalArgs {
  readonly param: ParamInfo;
  readonly p: Value;
  readonly g: Value;
}

/** What a whole-graph stage returns: graph-level extra outputs keyed by output name (e.g. `grad_norm`). */
export interface GlobalResult {
  readonly extras?: Readonly<Record<string, Value>>;
}

/**
 * An optimizer building block (optax `GradientTransformation` as a graph emitter).
 * - `name` is also the scope segment of its nodes;
 * - `spec` is plain JSON (serialisable, diffable);
 * - `slots` declares state and allocates nothing;
 * - `emit` writes the nodes of one parameter's update;
 * - `prepare` (optional) runs once before any `emit`, with every parameter (cross-parameter work such as the
 *   global gradient norm); what it computes is shared through the {@link StepContext}.
 */
export interface Transform<S = unknown> {
  readonly name: string;
  readonly spec: S;
  slots(p: ParamInfo): readonly SlotSpec[];
  emit(b: GraphBuilder, u: UpdateArgs): UpdateResult;
  prepare?(b: GraphBuilder, all: readonly GlobalArgs[], ctx: StepContext): GlobalResult;
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}
