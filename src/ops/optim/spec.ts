/**
 * Optimizer specs as plain JSON, one variant per upstream optimizer. Keys are the upstream constructor argument
 * names (so a spec reads like the Python call it mirrors); a key left out takes the upstream default. Semantics:
 * shared/reference/optimizer-semantics.md §4 (adamw), §5 (adamw_torch), §6 (adafactor), §7.2
 * (adam_weight_decay), §8.1 (ort_adamw), §8.2 (onnx_adam); ONNX Operators.md (onnx_adagrad, onnx_momentum);
 * torch `optim/sgd.py` (sgd).
 */
import type { ScheduleSpec } from '../schedules/spec.js';

/** transformers `AdamW` (deprecated, "HF AdamW"): decay after the update with the plain lr, ε on the raw root. */
export interface AdamWSpec {
  readonly type: 'adamw';
  /** default 1e-3 (the lr the host feeds when it has no schedule; the graph takes `lr` as an input) */
  readonly lr?: number;
  /** default [0.9, 0.999] */
  readonly betas?: readonly [number, number];
  /** default 1e-6 */
  readonly eps?: number;
  /** default 0 (applied only when > 0) */
  readonly weight_decay?: number;
  /** default true; false removes all bias correction (BERT-TF behaviour) */
  readonly correct_bias?: boolean;
  /** accepted and ignored (upstream only silences a warning) */
  readonly no_deprecation_warning?: boolean;
}

/** `torch.optim.AdamW`: decoupled decay `p·(1 − lr·wd)` first, ε after the bias correction of the root. */
export interface AdamWTorchSpec {
  readonly type: 'adamw_torch';
  /** default 1e-3 */
  readonly lr?: number;
  /** default [0.9, 0.999] */
  readonly betas?: readonly [number, number];
  /** default 1e-8 */
  readonly eps?: number;
  /** default 1e-2 */
  readonly weight_decay?: number;
  /** default false; adds state `max_exp_avg_sq` */
  readonly amsgrad?: boolean;
  /** default false; ascends the objective (`grad = −grad`) */
  readonly maximize?: boolean;
}

/** transformers `Adafactor`. */
export interface AdafactorSpec {
  readonly type: 'adafactor';
  /** default null; required when relative_step is false, forbidden when it is true */
  readonly lr?: number | null;
  /** default [1e-30, 1e-3] */
  readonly eps?: readonly [number, number];
  /** default 1 */
  readonly clip_threshold?: number;
  /** default −0.8 */
  readonly decay_rate?: number;
  /** default null (no first moment); a number (even 0) adds state `exp_avg` */
  readonly beta1?: number | null;
  /** default 0 */
  readonly weight_decay?: number;
  /** default true */
  readonly scale_parameter?: boolean;
  /** default true */
  readonly relative_step?: boolean;
  /** default false; requires relative_step */
  readonly warmup_init?: boolean;
}

/** transformers (TF) `AdamWeightDecay` (a Keras `Adam` with decoupled, name-selected decay before the update). */
export interface AdamWeightDecaySpec {
  readonly type: 'adam_weight_decay';
  /** default 1e-3; a number (constant) or a TensorFlow schedule (e.g. `{type: 'create_optimizer', …}`) run in-graph */
  readonly learning_rate?: number | ScheduleSpec;
  /** default 0.9 */
  readonly beta_1?: number;
  /** default 0.999 */
  readonly beta_2?: number;
  /** default 1e-7 */
  readonly epsilon?: number;
  /** default false; adds state `vhat` */
  readonly amsgrad?: boolean;
  /** default 0 (no decay at all) */
  readonly weight_decay_rate?: number;
  /** regexes (Python `re.search`) forcing decay; win over exclude */
  readonly include_in_weight_decay?: readonly string[] | null;
  /** regexes excluding a parameter from decay */
  readonly exclude_from_weight_decay?: readonly string[] | null;
  /** Keras per-tensor clipping `g·c/max(‖g‖, c)` */
  readonly clipnorm?: number | null;
  /** Keras global clipping `g·c/max(‖G‖, c)`; not together with clipnorm */
  readonly global_clipnorm?: number | null;
  /** accepted for create_optimizer / Keras compatibility; must be "AdamWeightDecay" when given */
  readonly name?: string;
}

/** ONNX Runtime `com.microsoft::AdamWOptimizer` as standard ops. */
export interface OrtAdamWSpec {
  readonly type: 'ort_adamw';
  /** default 0.9 */
  readonly alpha?: number;
  /** default 0.999 */
  readonly beta?: number;
  /** default 1e-8 */
  readonly epsilon?: number;
  /** default 1e-2 (the schema default; ORT's CPU kernel falls back to 0 when the attribute is absent) */
  readonly weight_decay?: number;
  /** default 0 (torch); 1 = transformers (a JSON boolean is read as 1/0, as onnx.helper stores Python bools) */
  readonly adam_mode?: 0 | 1;
  /** default 1; mode 0 requires 1 (true/false are read as 1/0) */
  readonly correct_bias?: 0 | 1;
}

/** ONNX `ai.onnx.preview.training::Adam` as standard ops. */
export interface OnnxAdamSpec {
  readonly type: 'onnx_adam';
  /** default 0.9 */
  readonly alpha?: number;
  /** default 0.999 */
  readonly beta?: number;
  /** default 1e-6 */
  readonly epsilon?: number;
  /** default 0: coupled L2, `ĝ = norm_coefficient·X + G` */
  readonly norm_coefficient?: number;
  /** default 0: `X ← (1 − norm_coefficient_post)·X` after the update (not lr-scaled) */
  readonly norm_coefficient_post?: number;
}

/** ONNX `ai.onnx.preview.training::Adagrad` as standard ops. */
export interface OnnxAdagradSpec {
  readonly type: 'onnx_adagrad';
  /** default 0: `r = R / (1 + T·decay_factor)` */
  readonly decay_factor?: number;
  /** default 0 */
  readonly epsilon?: number;
  /** default 0 */
  readonly norm_coefficient?: number;
}

/** ONNX `ai.onnx.preview.training::Momentum` as standard ops (every attribute is required upstream). */
export interface OnnxMomentumSpec {
  readonly type: 'onnx_momentum';
  readonly alpha: number;
  readonly beta: number;
  readonly mode: 'standard' | 'nesterov';
  readonly norm_coefficient: number;
}

/** `torch.optim.SGD`. */
export interface SgdSpec {
  readonly type: 'sgd';
  /** default 1e-3 */
  readonly lr?: number;
  /** default 0 */
  readonly momentum?: number;
  /** default 0 */
  readonly dampening?: number;
  /** default 0 (coupled: `g + wd·p`) */
  readonly weight_decay?: number;
  /** default false */
  readonly nesterov?: boolean;
  /** default false */
  readonly maximize?: boolean;
}

/** Every optimizer the project emits. */
export type OptimizerSpec =
  | AdamWSpec
  | AdamWTorchSpec
  | AdafactorSpec
  | AdamWeightDecaySpec
  | OrtAdamWSpec
  | OnnxAdamSpec
  | OnnxAdagradSpec
  | OnnxMomentumSpec
  | SgdSpec;

/** The `type` of every {@link OptimizerSpec}. */
export type OptimizerType = OptimizerSpec['type'];

/** Every optimizer type, in documentation order. */
export const OPTIMIZER_TYPES: readonly OptimizerType[] = [
  'adamw', 'adamw_torch', 'adafactor', 'adam_weight_decay', 'ort_adamw', 'onnx_adam', 'onnx_adagrad', 'onnx_momentum', 'sgd',
];
