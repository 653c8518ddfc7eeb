/**
 * The graph interface of an optimizer graph (what other runtimes feed and fetch), by name. Names are API:
 *
 * | name | dtype, shape | meaning |
 * | --- | --- | --- |
 * | `<param>` | float32, param shape | the parameter before the update |
 * | `<param>.grad` | float32, param shape | its gradient |
 * | `<param>.<slot>` | float32, slot shape | optimizer state, e.g. `fc1.weight.exp_avg` |
 * | `step` | int64 [1] | the 1-based count of this update (1 for the first); ORT's step input for `ort_adamw` |
 * | `T` | int64 [1] | ONNX preview-training ops only: the op's `T` (Adam: 1-based count, 0 disables the correction) |
 * | `lr` / `R` | float32 [1] | the learning rate of this update, when it is an input |
 * | `update_signal` | bool [1] | `ort_adamw`: false leaves everything unchanged |
 * | `<param>.out`, `<param>.<slot>.out` | as the inputs | the updated parameter and state |
 * | `<param>.lr_used` | float32 [1] | Adafactor: the step size ℓ this parameter used |
 * | `lr_t` | float32 [1] | `adam_weight_decay`: the learning rate Keras used |
 * | `updated_flag` | bool [1] | `ort_adamw`: whether the update was applied |
 * | `grad_norm` | float32 [1] | with global-norm clipping: the gradient norm before clipping |
 *
 * In multi-tensor mode the parameters are one flat float32 buffer named `flat` (configurable) with the same
 * suffixes (`flat.grad`, `flat.exp_avg`, …) and `segments` saying where each original tensor lives.
 */
import type { OptimizerSpec } from './spec.js';
import type { Segment } from './types.js';

/** Host element types of the graph interface. */
export type IODType = 'float32' | 'int64' | 'bool';

/** One graph input or output. */
export interface TensorIO {
  readonly name: string;
  readonly dtype: IODType;
  readonly shape: readonly number[];
}

/** One state tensor of one parameter. */
export interface SlotIO {
  /** The state name (`exp_avg`, …). */
  readonly slot: string;
  /** Graph input `<param>.<slot>`. */
  readonly input: string;
  /** Graph output `<param>.<slot>.out`. */
  readonly output: string;
  readonly shape: readonly number[];
  /** Initial value of every element (upstream initialisation). */
  readonly init: number;
}

/** Everything named after one parameter (or the flat buffer in multi-tensor mode). */
export interface ParamIO {
  readonly name: string;
  readonly shape: readonly number[];
  /** Graph input `<param>`. */
  readonly input: string;
  /** Graph input `<param>.grad`. */
  readonly grad: string;
  /** Graph output `<param>.out`. */
  readonly output: string;
  readonly slots: readonly SlotIO[];
  /** Per-parameter extra outputs by kind, e.g. `{lr_used: 'fc.weight.lr_used'}`. */
  readonly extras: Readonly<Record<string, string>>;
  /** Multi-tensor mode: where each original parameter lives in this buffer. */
  readonly segments?: readonly Segment[];
}

/** Where the learning rate of the graph comes from. */
export type LrKind = 'input' | 'constant' | 'schedule' | 'none';

/** The complete interface of a built optimizer graph. */
export interface OptimizerIO {
  /** The resolved spec (every default filled in). */
  readonly optimizer: OptimizerSpec;
  /** Every graph input, in graph order. */
  readonly inputs: readonly TensorIO[];
  /** Every graph output, in graph order. */
  readonly outputs: readonly TensorIO[];
  readonly params: readonly ParamIO[];
  /**
   * The step-counter input: `convention: 'count'` = the 1-based number of this update (feed 1, 2, 3, …; schedules
   * see `step − 1`); `'onnx_T'` = the ONNX op's `T`, fed verbatim.
   */
  readonly step: { readonly name: string; readonly convention: 'count' | 'onnx_T' };
  /** The learning rate: its kind, and the input name when it is an input. */
  readonly lr: { readonly kind: LrKind; readonly input?: string };
  /** The `update_signal` input, when the graph has one. */
  readonly updateSignal?: string;
  /** Graph-level extra outputs that exist. */
  readonly extras: { readonly lr_t?: string; readonly updated_flag?: string; readonly grad_norm?: string };
  /** Multi-tensor mode: the flat buffer's name, length and layout. */
  readonly flat?: { readonly name: string; readonly numel: number; readonly segments: readonly Segment[] };
}

/** `<param>.<slot>`: the graph input of a state tensor (names are API). */
export function stateName(param: string, slot: string): string {
  return `${param}.${slot}`;
}

/** `<name>.out`: the graph output that carries the updated value of input `name`. */
export function outName(name: string): string {
  return `${name}.out`;
}

/** `<param>.grad`: the gradient input of a parameter. */
export function gradName(param: string): string {
  return `${param}.grad`;
}

/** The initial value of every state input of `io`, keyed by input name (upstream initialisation: zeros). */
export function initialState(io: OptimizerIO): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const p of io.params) {
    for (const s of p.slots) out[s.input] = new Float32Array(s.shape.reduce((a, d) => a * d, 1)).fill(s.init);
  }
  return out;
}
