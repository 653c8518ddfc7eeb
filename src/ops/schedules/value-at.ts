/**
 * The JavaScript value of every schedule: float64 for the transformers multiplier schedules (as Python computes
 * them), float32 emulated with `Math.fround` for the TensorFlow / Keras ones (as Keras computes them).
 * Used for logging, CLI previews and as the reference that the emitted ONNX schedule graph is tested against.
 *
 * Semantics: `shared/reference/optimizer-semantics.md` §2 (transformers) and §7.1 (Keras / transformers TF).
 */
import { OnnxTrainError } from '../../errors.js';
import {
  expandCreateOptimizer,
  isTfSchedule,
  type MultiplierScheduleSpec,
  type ScheduleSpec,
  type TfPolynomialDecaySpec,
  type TfScheduleSpec,
  type TfWarmupSpec,
  type WsdShape,
} from './spec.js';

const f32 = Math.fround;

/**
 * The learning rate that update number `step` (0-based) uses.
 *
 * - Multiplier schedules: `base_lr · λ(step)` in float64 (torch `LambdaLR.get_lr`: `base_lr * lmbda(last_epoch)`).
 * - TF schedules: the float32 value Keras computes at `float32(step)` (the optimizer's `iterations` before the
 *   update), returned as a JS number that is exactly a float32.
 *
 * Where upstream raises at a particular step (polynomial with W = T at s = T: ZeroDivisionError; inverse_sqrt with
 * a non-positive timescale) this throws an OnnxTrainError('BAD_ARGUMENT') naming the upstream error.
 * @param step non-negative integer (the 0-based update index)
 */
export function valueAt(spec: ScheduleSpec, step: number): number {
  checkStep(step);
  if (isTfSchedule(spec)) return tfValueAt(spec, step);
  return spec.base_lr * lambdaAt(spec, step);
}

/**
 * The multiplier λ(step) of a transformers schedule (float64, upstream `lr_lambda` of
 * `src/transformers/optimization.py`). `valueAt` = `base_lr · multiplierAt`.
 */
export function multiplierAt(spec: MultiplierScheduleSpec, step: number): number {
  checkStep(step);
  return lambdaAt(spec, step);
}

/**
 * The resolved `min_lr_rate` r of `cosine_with_min_lr` / `cosine_warmup_with_min_lr`: `min_lr_rate`, or
 * `min_lr / default_lr` (upstream divides by `optimizer.defaults["lr"]`, not by the group's base lr).
 */
export function resolveMinLrRate(spec: {
  readonly type: string;
  readonly base_lr: number;
  readonly default_lr?: number;
  readonly min_lr?: number;
  readonly min_lr_rate?: number;
}): number {
  const hasMinLr = spec.min_lr !== undefined && spec.min_lr !== null;
  const hasRate = spec.min_lr_rate !== undefined && spec.min_lr_rate !== null;
  if (hasMinLr && hasRate) {
    throw new OnnxTrainError('BAD_ARGUMENT', `${spec.type}: Only one of min_lr or min_lr_rate should be set`,
      'remove either min_lr or min_lr_rate');
  }
  if (hasMinLr) return (spec.min_lr as number) / (spec.default_lr ?? spec.base_lr);
  if (!hasRate) {
    throw new OnnxTrainError('BAD_ARGUMENT',
      `${spec.type}: One of min_lr or min_lr_rate should be set through the \`lr_scheduler_kwargs\``,
      'set min_lr_rate (a ratio of the initial lr) or min_lr (an absolute lr)');
  }
  return spec.min_lr_rate as number;
}

/** The resolved inverse_sqrt timescale: `timescale`, or `W || 10000` (upstream `num_warmup_steps or 10_000`). */
export function resolveTimescale(spec: { readonly num_warmup_steps: number; readonly timescale?: number }): number {
  if (spec.timescale !== undefined && spec.timescale !== null) return spec.timescale;
  return spec.num_warmup_steps || 10_000;
}

/** The resolved WSD stable length: `num_stable_steps`, or `T − W − D` (unchecked, may be negative, as upstream). */
export function resolveStableSteps(spec: {
  readonly num_warmup_steps: number;
  readonly num_decay_steps: number;
  readonly num_training_steps?: number;
  readonly num_stable_steps?: number;
}): number {
  if (spec.num_stable_steps !== undefined && spec.num_stable_steps !== null) return spec.num_stable_steps;
  if (spec.num_training_steps === undefined || spec.num_training_steps === null) {
    throw new OnnxTrainError('BAD_ARGUMENT',
      'warmup_stable_decay: Either num_training_steps or num_stable_steps must be specified.',
      'pass num_training_steps (S = T − W − D) or num_stable_steps');
  }
  return spec.num_training_steps - spec.num_warmup_steps - spec.num_decay_steps;
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new OnnxTrainError('BAD_ARGUMENT', `schedule step must be a non-negative integer, got ${step}`,
      'pass the 0-based update index');
  }
}

/** Python's `max(a, b)`: returns `a` unless `b > a` (so `max(0.0, nan)` is 0.0, unlike Math.max). */
function pyMax(a: number, b: number): number {
  return b > a ? b : a;
}

/** Python's float `a % b`: the result takes the sign of the divisor. */
function pyMod(a: number, b: number): number {
  let r = a % b;
  if (r !== 0 && (r < 0) !== (b < 0)) r += b;
  return r;
}

/** The common linear warmup `s / max(1, W)` (constant_with_warmup's `max(1.0, W)` is the same value). */
function warmup(s: number, w: number): number {
  return s / Math.max(1, w);
}

function lambdaAt(spec: MultiplierScheduleSpec, s: number): number {
  switch (spec.type) {
    case 'constant':
      return 1;
    case 'constant_with_warmup':
      return s < spec.num_warmup_steps ? warmup(s, spec.num_warmup_steps) : 1.0;
    case 'linear': {
      const { num_warmup_steps: W, num_training_steps: T } = spec;
      if (s < W) return warmup(s, W);
      return pyMax(0.0, (T - s) / Math.max(1, T - W));
    }
    case 'cosine':
      return cosineWithMinLr(s, spec.num_warmup_steps, spec.num_training_steps, spec.num_cycles, 0.0);
    case 'cosine_with_min_lr':
      return cosineWithMinLr(s, spec.num_warmup_steps, spec.num_training_steps, spec.num_cycles,
        resolveMinLrRate(spec));
    case 'cosine_with_restarts': {
      const { num_warmup_steps: W, num_training_steps: T, num_cycles: c } = spec;
      if (s < W) return warmup(s, W);
      const progress = (s - W) / Math.max(1, T - W);
      if (progress >= 1.0) return 0.0;
      return pyMax(0.0, 0.5 * (1.0 + Math.cos(Math.PI * pyMod(c * progress, 1.0))));
    }
    case 'polynomial': {
      const { num_warmup_steps: W, num_training_steps: T, lr_end, power } = spec;
      const lrInit = spec.default_lr ?? spec.base_lr;
      if (s < W) return warmup(s, W);
      if (s > T) return lr_end / lrInit;
      const decaySteps = T - W;
      if (decaySteps === 0) {
        throw new OnnxTrainError('BAD_ARGUMENT',
          `polynomial: step ${s} divides by zero (num_warmup_steps == num_training_steps == ${T}); ` +
          'upstream raises ZeroDivisionError here', 'use num_training_steps > num_warmup_steps');
      }
      const pctRemaining = 1 - (s - W) / decaySteps;
      if (pctRemaining === 0 && power < 0) {
        throw new OnnxTrainError('BAD_ARGUMENT',
          `polynomial: step ${s} raises 0.0 to the negative power ${power}; upstream raises ZeroDivisionError`,
          'use power >= 0');
      }
      const decay = (lrInit - lr_end) * pctRemaining ** power + lr_end;
      return decay / lrInit;
    }
    case 'inverse_sqrt': {
      const W = spec.num_warmup_steps;
      if (s < W) return warmup(s, W);
      const timescale = resolveTimescale(spec);
      const shift = timescale - W;
      const ratio = (s + shift) / timescale;
      if (!(ratio > 0)) {
        throw new OnnxTrainError('BAD_ARGUMENT',
          `inverse_sqrt: step ${s} takes 1/sqrt(${ratio}) with timescale ${timescale}; upstream raises ` +
          (ratio === 0 ? 'ZeroDivisionError' : 'ValueError (math domain error)'), 'use a positive timescale');
      }
      return 1.0 / Math.sqrt(ratio);
    }
    case 'cosine_warmup_with_min_lr': {
      // Upstream converts step, W and T to float first; the arithmetic below is that float arithmetic.
      const { num_warmup_steps: W, num_training_steps: T, num_cycles: c } = spec;
      const r = resolveMinLrRate(spec);
      if (s < W) {
        const w = spec.warmup_lr_rate;
        if (w === undefined || w === null) return (s + 1.0) / Math.max(1.0, W);
        return w + ((1.0 - w) * s) / Math.max(1, W - 1);
      }
      const progress = (s - W + 1.0) / Math.max(1.0, T - W);
      let factor = 0.5 * (1.0 + Math.cos(Math.PI * c * 2.0 * progress));
      factor = factor * (1 - r) + r;
      return pyMax(0, factor);
    }
    case 'warmup_stable_decay':
      return wsdLambda(spec.num_warmup_steps, resolveStableSteps(spec), spec.num_decay_steps, spec.warmup_type,
        spec.decay_type, spec.min_lr_ratio, spec.num_cycles, s);
  }
}

/** Upstream's shared cosine lambda (the later definition of `_get_cosine_schedule_with_warmup_lr_lambda`). */
function cosineWithMinLr(s: number, W: number, T: number, c: number, r: number): number {
  if (s < W) return warmup(s, W);
  const progress = (s - W) / Math.max(1, T - W);
  let factor = 0.5 * (1.0 + Math.cos(Math.PI * c * 2.0 * progress));
  factor = factor * (1 - r) + r;
  return pyMax(0, factor);
}

function wsdLambda(W: number, S: number, D: number, warmupType: WsdShape, decayType: WsdShape, rho: number,
  c: number, s: number): number {
  if (s < W) {
    const progress = s / Math.max(1, W);
    let factor: number;
    if (warmupType === 'linear') factor = progress;
    else if (warmupType === 'cosine') factor = 0.5 * (1.0 - Math.cos(Math.PI * progress));
    else factor = 1.0 - Math.sqrt(1.0 - progress);
    factor = factor * (1.0 - rho) + rho;
    return pyMax(0.0, factor);
  }
  if (s < W + S) return 1.0;
  if (s < W + S + D) {
    const progress = (s - W - S) / Math.max(1, D);
    let factor: number;
    if (decayType === 'linear') factor = 1.0 - progress;
    else if (decayType === 'cosine') factor = 0.5 * (1.0 + Math.cos(Math.PI * c * 2.0 * progress));
    else factor = 1.0 - Math.sqrt(progress);
    factor = factor * (1.0 - rho) + rho;
    return pyMax(0.0, factor);
  }
  return rho;
}

/** A TF schedule at float32 step `gs` (Keras passes `float32(iterations)`; WarmUp passes `gs − warmup_steps`). */
function tfValueAt(spec: TfScheduleSpec, gs: number): number {
  switch (spec.type) {
    case 'tf_polynomial_decay':
      return kerasPolynomialDecay(spec, f32(gs));
    case 'tf_warmup':
      return tfWarmup(spec, f32(gs));
    case 'create_optimizer':
      return tfValueAt(expandCreateOptimizer(spec), gs);
  }
}

/**
 * Keras `PolynomialDecay.__call__` in float32 (every constant cast to float32 first):
 * `p = s′/d`, `lr = (init − end)·pow(1 − p, power) + end`.
 */
function kerasPolynomialDecay(spec: TfPolynomialDecaySpec, gs: number): number {
  const init = f32(spec.initial_learning_rate);
  const end = f32(spec.end_learning_rate);
  const power = f32(spec.power);
  let step = f32(gs);
  let decaySteps = f32(spec.decay_steps);
  if (spec.cycle) {
    // First multiple of decay_steps above the step; the multiplier is 1 at step 0.
    const multiplier = step === 0 ? 1.0 : Math.ceil(f32(step / f32(spec.decay_steps)));
    decaySteps = f32(decaySteps * multiplier);
  } else {
    step = Math.min(step, decaySteps);
  }
  const p = f32(step / decaySteps);
  return f32(f32(f32(init - end) * f32(Math.pow(f32(1 - p), power))) + end);
}

/**
 * transformers TF `WarmUp.__call__` in float32: `init · pow(s/w, power)` while `s < w`, else
 * `decay(s − w)`.
 */
function tfWarmup(spec: TfWarmupSpec, gs: number): number {
  const step = f32(gs);
  const warmupSteps = f32(spec.warmup_steps);
  if (step < warmupSteps) {
    const pct = f32(step / warmupSteps);
    return f32(f32(spec.initial_learning_rate) * f32(Math.pow(pct, f32(spec.power))));
  }
  return tfValueAt(spec.decay_schedule, f32(step - warmupSteps));
}
