/**
 * Learning-rate schedules as plain JSON values (serialisable, diffable), one variant per upstream schedule.
 *
 * Two families:
 * - **Multiplier schedules** (Hugging Face transformers `optimization.py`, every `SchedulerType` except
 *   `reduce_lr_on_plateau`): torch `LambdaLR` with a multiplier `λ(s)`; the learning rate is `base_lr · λ(s)`,
 *   computed in float64 as Python does. `default_lr` is `optimizer.defaults["lr"]` (defaults to `base_lr`): it is
 *   polynomial's `lr_init` and what `min_lr` is divided by.
 * - **TensorFlow schedules** (transformers `optimization_tf.py` `WarmUp` / `create_optimizer`, Keras
 *   `PolynomialDecay`): they give the learning rate itself, computed in float32 as Keras does.
 *
 * Field names are the upstream keyword-argument names, so a spec reads like the Python call that it mirrors.
 * Step counts are integers. Semantics: `shared/reference/optimizer-semantics.md` §2 and §7.1.
 */

/** `base_lr` / `default_lr` carried by every multiplier schedule (see the module comment). */
export interface MultiplierBase {
  /** The param group's base lr; the schedule's lr is `base_lr · λ(s)`. */
  readonly base_lr: number;
  /** `optimizer.defaults["lr"]` at construction; defaults to `base_lr`. Used by `polynomial` and `min_lr`. */
  readonly default_lr?: number;
}

/** `get_constant_schedule`: λ(s) = 1. */
export interface ConstantSpec extends MultiplierBase {
  readonly type: 'constant';
}

/** `get_constant_schedule_with_warmup`: λ = s / max(1, W) for s < W, else 1. */
export interface ConstantWithWarmupSpec extends MultiplierBase {
  readonly type: 'constant_with_warmup';
  readonly num_warmup_steps: number;
}

/** `get_linear_schedule_with_warmup`: after warmup λ = max(0, (T − s) / max(1, T − W)). */
export interface LinearSpec extends MultiplierBase {
  readonly type: 'linear';
  readonly num_warmup_steps: number;
  readonly num_training_steps: number;
}

/**
 * `get_cosine_schedule_with_warmup`: after warmup λ = max(0, ½(1 + cos(2π·c·p))), p = (s − W) / max(1, T − W),
 * p not clamped. Default `num_cycles` 0.5.
 */
export interface CosineSpec extends MultiplierBase {
  readonly type: 'cosine';
  readonly num_warmup_steps: number;
  readonly num_training_steps: number;
  readonly num_cycles: number;
}

/**
 * `get_cosine_with_hard_restarts_schedule_with_warmup`: after warmup λ = 0 if p ≥ 1, else
 * max(0, ½(1 + cos(π·((c·p) mod 1)))). Default `num_cycles` 1.
 */
export interface CosineWithRestartsSpec extends MultiplierBase {
  readonly type: 'cosine_with_restarts';
  readonly num_warmup_steps: number;
  readonly num_training_steps: number;
  readonly num_cycles: number;
}

/**
 * `get_polynomial_decay_schedule_with_warmup`: λ = ((lr_init − lr_end)·q^power + lr_end) / lr_init with
 * q = 1 − (s − W)/(T − W) for W ≤ s ≤ T, and lr_end / lr_init for s > T. `lr_init` = `default_lr ?? base_lr`.
 * Defaults `lr_end` 1e-7, `power` 1.
 */
export interface PolynomialSpec extends MultiplierBase {
  readonly type: 'polynomial';
  readonly num_warmup_steps: number;
  readonly num_training_steps: number;
  readonly lr_end: number;
  readonly power: number;
}

/**
 * `get_inverse_sqrt_schedule`: after warmup λ = 1 / sqrt((s + τ − W) / τ); `timescale` τ absent means
 * `W || 10000` (resolved as upstream does at construction).
 */
export interface InverseSqrtSpec extends MultiplierBase {
  readonly type: 'inverse_sqrt';
  readonly num_warmup_steps: number;
  readonly timescale?: number;
}

/**
 * `get_cosine_with_min_lr_schedule_with_warmup`: after warmup λ = max(0, r + (1 − r)·½(1 + cos(2π·c·p))),
 * r = `min_lr_rate`, or `min_lr / default_lr`; exactly one of the two. Default `num_cycles` 0.5.
 */
export interface CosineWithMinLrSpec extends MultiplierBase {
  readonly type: 'cosine_with_min_lr';
  readonly num_warmup_steps: number;
  readonly num_training_steps: number;
  readonly num_cycles: number;
  readonly min_lr?: number;
  readonly min_lr_rate?: number;
}

/**
 * `get_cosine_with_min_lr_schedule_with_warmup_lr_rate`: warmup (s + 1)/max(1, W), or with `warmup_lr_rate` w:
 * w + (1 − w)·s / max(1, W − 1); then like `cosine_with_min_lr` with p′ = (s − W + 1)/max(1, T − W).
 */
export interface CosineWarmupWithMinLrSpec extends MultiplierBase {
  readonly type: 'cosine_warmup_with_min_lr';
  readonly num_warmup_steps: number;
  readonly num_training_steps: number;
  readonly num_cycles: number;
  readonly min_lr?: number;
  readonly min_lr_rate?: number;
  readonly warmup_lr_rate?: number;
}

/** Shapes of the WSD warmup and decay phases. */
export type WsdShape = 'linear' | 'cosine' | '1-sqrt';

/**
 * `get_wsd_schedule` (current upstream): warmup from `min_lr_ratio` to 1 (shape `warmup_type`), stable at 1 for
 * S steps, decay to `min_lr_ratio` over D steps (shape `decay_type`), then `min_lr_ratio`. S = `num_stable_steps`,
 * or T − W − D when absent (may be negative). Defaults: warmup linear, decay cosine, ratio 0, cycles 0.5.
 */
export interface WarmupStableDecaySpec extends MultiplierBase {
  readonly type: 'warmup_stable_decay';
  readonly num_warmup_steps: number;
  readonly num_decay_steps: number;
  readonly num_training_steps?: number;
  readonly num_stable_steps?: number;
  readonly warmup_type: WsdShape;
  readonly decay_type: WsdShape;
  readonly min_lr_ratio: number;
  readonly num_cycles: number;
}

/**
 * Keras `PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate=1e-4, power=1, cycle=False)`,
 * float32: lr = (init − end)·(1 − s′/d)^power + end with s′ = min(s, d), or with `cycle`
 * d ← d·max(1, ceil(s/d)) (s = 0 → 1).
 */
export interface TfPolynomialDecaySpec {
  readonly type: 'tf_polynomial_decay';
  readonly initial_learning_rate: number;
  readonly decay_steps: number;
  readonly end_learning_rate: number;
  readonly power: number;
  readonly cycle: boolean;
}

/**
 * transformers (TF) `WarmUp(initial_learning_rate, decay_schedule_fn, warmup_steps, power=1.0)`, float32:
 * s < warmup_steps → init·(s/warmup_steps)^power, else `decay_schedule(s − warmup_steps)`.
 */
export interface TfWarmupSpec {
  readonly type: 'tf_warmup';
  readonly initial_learning_rate: number;
  readonly warmup_steps: number;
  readonly power: number;
  readonly decay_schedule: TfScheduleSpec;
}

/**
 * The schedule of transformers (TF) `create_optimizer(init_lr, num_train_steps, num_warmup_steps,
 * min_lr_ratio=0, power=1)`: `PolynomialDecay(init_lr, T − W, init_lr·min_lr_ratio, power)`, wrapped in
 * `WarmUp(init_lr, …, W)` (power 1) when W ≠ 0.
 */
export interface CreateOptimizerScheduleSpec {
  readonly type: 'create_optimizer';
  readonly init_lr: number;
  readonly num_train_steps: number;
  readonly num_warmup_steps: number;
  readonly min_lr_ratio: number;
  readonly power: number;
}

/** Every transformers multiplier schedule (a `LambdaLR`). */
export type MultiplierScheduleSpec =
  | ConstantSpec
  | ConstantWithWarmupSpec
  | LinearSpec
  | CosineSpec
  | CosineWithRestartsSpec
  | PolynomialSpec
  | InverseSqrtSpec
  | CosineWithMinLrSpec
  | CosineWarmupWithMinLrSpec
  | WarmupStableDecaySpec;

/** Every TensorFlow / Keras schedule (float32, gives the lr directly). */
export type TfScheduleSpec = TfPolynomialDecaySpec | TfWarmupSpec | CreateOptimizerScheduleSpec;

/** A learning-rate schedule: a pure function of the 0-based update index. */
export type ScheduleSpec = MultiplierScheduleSpec | TfScheduleSpec;

/** The `type` of every {@link ScheduleSpec}. */
export type ScheduleType = ScheduleSpec['type'];

/**
 * torch `ReduceLROnPlateau` keyword arguments as `get_scheduler("reduce_lr_on_plateau", …)` passes them on.
 * Defaults: mode "min", factor 0.1, patience 10, threshold 1e-4, threshold_mode "rel", cooldown 0, min_lr 0,
 * eps 1e-8. Not a function of the step: it runs on the host (`src/runtime/host/plateau.ts`).
 */
export interface PlateauKwargs {
  readonly mode?: 'min' | 'max';
  readonly factor?: number;
  readonly patience?: number;
  readonly threshold?: number;
  readonly threshold_mode?: 'rel' | 'abs';
  readonly cooldown?: number;
  readonly min_lr?: number | readonly number[];
  readonly eps?: number;
}

/** What `get_scheduler("reduce_lr_on_plateau", …)` describes: a host-side state machine, not a step function. */
export interface ReduceLrOnPlateauSpec {
  readonly type: 'reduce_lr_on_plateau';
  readonly kwargs: PlateauKwargs;
}

/** The transformers `SchedulerType` values, in upstream order. */
export const SCHEDULER_TYPES = [
  'linear',
  'cosine',
  'cosine_with_restarts',
  'polynomial',
  'constant',
  'constant_with_warmup',
  'inverse_sqrt',
  'reduce_lr_on_plateau',
  'cosine_with_min_lr',
  'cosine_warmup_with_min_lr',
  'warmup_stable_decay',
] as const;

/** A transformers `SchedulerType` value. */
export type SchedulerType = (typeof SCHEDULER_TYPES)[number];

/** The TensorFlow-side schedule types. */
export const TF_SCHEDULE_TYPES = ['tf_warmup', 'tf_polynomial_decay', 'create_optimizer'] as const;

/** True for the schedules that give the lr directly in float32 (TensorFlow / Keras). */
export function isTfSchedule(s: ScheduleSpec): s is TfScheduleSpec {
  return s.type === 'tf_warmup' || s.type === 'tf_polynomial_decay' || s.type === 'create_optimizer';
}

/** True for the transformers `LambdaLR` schedules (lr = base_lr · λ(s), float64). */
export function isMultiplierSchedule(s: ScheduleSpec): s is MultiplierScheduleSpec {
  return !isTfSchedule(s);
}

/**
 * `create_optimizer`'s schedule as the `WarmUp` / `PolynomialDecay` objects upstream builds:
 * `PolynomialDecay(init_lr, T − W, init_lr·min_lr_ratio (float64 product), power)`, wrapped in
 * `WarmUp(init_lr, decay, W, power=1.0)` only when W ≠ 0 (`if num_warmup_steps:` upstream).
 */
export function expandCreateOptimizer(s: CreateOptimizerScheduleSpec): TfPolynomialDecaySpec | TfWarmupSpec {
  const decay: TfPolynomialDecaySpec = {
    type: 'tf_polynomial_decay',
    initial_learning_rate: s.init_lr,
    decay_steps: s.num_train_steps - s.num_warmup_steps,
    end_learning_rate: s.init_lr * s.min_lr_ratio,
    power: s.power,
    cycle: false,
  };
  if (s.num_warmup_steps === 0) return decay;
  return {
    type: 'tf_warmup',
    initial_learning_rate: s.init_lr,
    warmup_steps: s.num_warmup_steps,
    power: 1.0,
    decay_schedule: decay,
  };
}
