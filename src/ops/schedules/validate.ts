/**
 * Validation of a {@link ScheduleSpec}: the errors upstream raises when the schedule is constructed (with the
 * upstream wording), plus structural checks that a plain-JSON value needs (known fields, finite numbers,
 * integral step counts).
 */
import { OnnxTrainError } from '../../errors.js';
import { pyFloatRepr, pyRepr } from './py-format.js';
import type { ScheduleSpec, ScheduleType } from './spec.js';

/** The fields each schedule type may carry (anything else is refused: a typo must not be silently ignored). */
export const SCHEDULE_FIELDS: Readonly<Record<ScheduleType, readonly string[]>> = {
  constant: ['base_lr', 'default_lr'],
  constant_with_warmup: ['base_lr', 'default_lr', 'num_warmup_steps'],
  linear: ['base_lr', 'default_lr', 'num_warmup_steps', 'num_training_steps'],
  cosine: ['base_lr', 'default_lr', 'num_warmup_steps', 'num_training_steps', 'num_cycles'],
  cosine_with_restarts: ['base_lr', 'default_lr', 'num_warmup_steps', 'num_training_steps', 'num_cycles'],
  polynomial: ['base_lr', 'default_lr', 'num_warmup_steps', 'num_training_steps', 'lr_end', 'power'],
  inverse_sqrt: ['base_lr', 'default_lr', 'num_warmup_steps', 'timescale'],
  cosine_with_min_lr: ['base_lr', 'default_lr', 'num_warmup_steps', 'num_training_steps', 'num_cycles', 'min_lr',
    'min_lr_rate'],
  cosine_warmup_with_min_lr: ['base_lr', 'default_lr', 'num_warmup_steps', 'num_training_steps', 'num_cycles',
    'min_lr', 'min_lr_rate', 'warmup_lr_rate'],
  warmup_stable_decay: ['base_lr', 'default_lr', 'num_warmup_steps', 'num_decay_steps', 'num_training_steps',
    'num_stable_steps', 'warmup_type', 'decay_type', 'min_lr_ratio', 'num_cycles'],
  tf_polynomial_decay: ['initial_learning_rate', 'decay_steps', 'end_learning_rate', 'power', 'cycle'],
  tf_warmup: ['initial_learning_rate', 'warmup_steps', 'power', 'decay_schedule'],
  create_optimizer: ['init_lr', 'num_train_steps', 'num_warmup_steps', 'min_lr_ratio', 'power'],
};

const WSD_SHAPES = ['linear', 'cosine', '1-sqrt'];

function bad(type: string, what: string, fix?: string): OnnxTrainError {
  return new OnnxTrainError('BAD_ARGUMENT', what, fix, type);
}

interface NumRule {
  readonly optional?: boolean;
  /** integral value (a step count) */
  readonly integer?: boolean;
  /** inclusive lower bound */
  readonly min?: number;
  /** strictly positive */
  readonly positive?: boolean;
}

function checkNum(rec: Record<string, unknown>, type: string, key: string, rule: NumRule = {}): number | undefined {
  const v = rec[key];
  if (v === undefined || v === null) {
    if (rule.optional) return undefined;
    throw bad(type, `${key} is required`, `set ${key}`);
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw bad(type, `${key} must be a finite number, got ${pyRepr(v)}`, `set ${key} to a number`);
  }
  if (rule.integer && !Number.isSafeInteger(v)) {
    throw bad(type, `${key} must be an integer (a number of steps), got ${pyRepr(v)}`, `round ${key}`);
  }
  if (rule.min !== undefined && v < rule.min) {
    throw bad(type, `${key} must be >= ${rule.min}, got ${pyRepr(v)}`, `use ${key} >= ${rule.min}`);
  }
  if (rule.positive && !(v > 0)) {
    throw bad(type, `${key} must be > 0, got ${pyRepr(v)}`, `use a positive ${key}`);
  }
  return v;
}

const STEPS: NumRule = { integer: true, min: 0 };

/**
 * Checks a schedule as upstream does when constructing it, and returns upstream's warnings (empty when none).
 * Throws OnnxTrainError('BAD_ARGUMENT', …) with `where` = the schedule type.
 *
 * Upstream errors reproduced: polynomial `lr_end (…) must be smaller than initial lr (…)` (lr_init =
 * `default_lr ?? base_lr`); cosine(-warmup)-with-min-lr `Only one of min_lr or min_lr_rate should be set` /
 * `One of min_lr or min_lr_rate should be set through the \`lr_scheduler_kwargs\``; WSD `Either
 * num_training_steps or num_stable_steps must be specified.`, `Unknown warmup type: …` / `Unknown decay type: …`;
 * `min_lr` with a zero `default_lr` (ZeroDivisionError upstream).
 * Warnings reproduced: WSD with both num_training_steps and num_stable_steps (`num_stable_steps will be used`).
 *
 * Checks added here (upstream would fail later, or compute nonsense silently): unknown fields; numbers must be
 * finite; step counts non-negative integers (WSD `num_stable_steps` may be negative, as the derived
 * T − W − D may be upstream); inverse_sqrt `timescale` > 0 (upstream raises at the first post-warmup step);
 * a `tf_warmup` decay schedule must itself be a TF schedule.
 */
export function validateSchedule(spec: ScheduleSpec): string[] {
  if (spec === null || typeof spec !== 'object') {
    throw new OnnxTrainError('BAD_ARGUMENT', `a schedule must be an object, got ${pyRepr(spec)}`,
      'pass a ScheduleSpec such as {"type": "linear", ...}');
  }
  const type = (spec as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(SCHEDULE_FIELDS, type)) {
    throw new OnnxTrainError('BAD_ARGUMENT', `unknown schedule type ${pyRepr(type)}`,
      `use one of ${Object.keys(SCHEDULE_FIELDS).join(', ')}`);
  }
  const rec = spec as unknown as Record<string, unknown>;
  const allowed = SCHEDULE_FIELDS[type as ScheduleType];
  for (const k of Object.keys(rec)) {
    if (k !== 'type' && !allowed.includes(k) && rec[k] !== undefined) {
      throw bad(type, `unknown field ${pyRepr(k)}`, `${type} takes ${allowed.join(', ')}`);
    }
  }
  const warnings: string[] = [];
  const s = spec;
  switch (s.type) {
    case 'tf_polynomial_decay':
      checkNum(rec, type, 'initial_learning_rate');
      // Keras casts decay_steps to float32: any finite number is taken (0 gives NaN there as here).
      checkNum(rec, type, 'decay_steps');
      checkNum(rec, type, 'end_learning_rate');
      checkNum(rec, type, 'power');
      if (typeof s.cycle !== 'boolean') {
        throw bad(type, `cycle must be a boolean, got ${pyRepr(s.cycle)}`, 'set cycle to true or false');
      }
      return warnings;
    case 'tf_warmup': {
      checkNum(rec, type, 'initial_learning_rate');
      checkNum(rec, type, 'warmup_steps', STEPS);
      checkNum(rec, type, 'power');
      const inner = s.decay_schedule as unknown;
      const innerType = inner !== null && typeof inner === 'object' ? (inner as { type?: unknown }).type : undefined;
      if (innerType !== 'tf_polynomial_decay' && innerType !== 'tf_warmup' && innerType !== 'create_optimizer') {
        throw bad(type, `decay_schedule must be a TF schedule (tf_polynomial_decay, tf_warmup, create_optimizer), ` +
          `got ${pyRepr(innerType ?? inner)}`, 'WarmUp wraps a Keras schedule evaluated in float32');
      }
      return warnings.concat(validateSchedule(s.decay_schedule));
    }
    case 'create_optimizer':
      checkNum(rec, type, 'init_lr');
      checkNum(rec, type, 'num_train_steps', STEPS);
      checkNum(rec, type, 'num_warmup_steps', STEPS);
      checkNum(rec, type, 'min_lr_ratio');
      checkNum(rec, type, 'power');
      return warnings;
    default:
      break;
  }

  // Multiplier schedules.
  checkNum(rec, type, 'base_lr');
  const defaultLr = checkNum(rec, type, 'default_lr', { optional: true }) ?? s.base_lr;
  if (s.type !== 'constant') checkNum(rec, type, 'num_warmup_steps', STEPS);
  switch (s.type) {
    case 'constant':
    case 'constant_with_warmup':
      break;
    case 'linear':
      checkNum(rec, type, 'num_training_steps', STEPS);
      break;
    case 'cosine':
    case 'cosine_with_restarts':
      checkNum(rec, type, 'num_training_steps', STEPS);
      checkNum(rec, type, 'num_cycles');
      break;
    case 'polynomial': {
      checkNum(rec, type, 'num_training_steps', STEPS);
      checkNum(rec, type, 'lr_end');
      checkNum(rec, type, 'power');
      if (!(defaultLr > s.lr_end)) {
        throw bad(type, `lr_end (${pyFloatRepr(s.lr_end)}) must be smaller than initial lr (${pyFloatRepr(defaultLr)})`,
          'polynomial decays from the optimizer default lr to lr_end: use lr_end < default_lr');
      }
      break;
    }
    case 'inverse_sqrt':
      checkNum(rec, type, 'timescale', { optional: true, positive: true });
      break;
    case 'cosine_with_min_lr':
    case 'cosine_warmup_with_min_lr': {
      checkNum(rec, type, 'num_training_steps', STEPS);
      checkNum(rec, type, 'num_cycles');
      const minLr = checkNum(rec, type, 'min_lr', { optional: true });
      const rate = checkNum(rec, type, 'min_lr_rate', { optional: true });
      if (minLr !== undefined && rate !== undefined) {
        throw bad(type, 'Only one of min_lr or min_lr_rate should be set', 'remove either min_lr or min_lr_rate');
      }
      if (minLr === undefined && rate === undefined) {
        throw bad(type, 'One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`',
          'set min_lr_rate (a ratio of the initial lr) or min_lr (an absolute lr)');
      }
      if (minLr !== undefined && defaultLr === 0) {
        throw bad(type, 'min_lr / optimizer.defaults["lr"] divides by zero (float division by zero upstream)',
          'use min_lr_rate, or a non-zero default_lr');
      }
      if (s.type === 'cosine_warmup_with_min_lr') checkNum(rec, type, 'warmup_lr_rate', { optional: true });
      break;
    }
    case 'warmup_stable_decay': {
      checkNum(rec, type, 'num_decay_steps', STEPS);
      const t = checkNum(rec, type, 'num_training_steps', { optional: true, integer: true, min: 0 });
      const st = checkNum(rec, type, 'num_stable_steps', { optional: true, integer: true });
      if (t === undefined && st === undefined) {
        throw bad(type, 'Either num_training_steps or num_stable_steps must be specified.',
          'pass num_training_steps (then S = T − W − D) or num_stable_steps');
      }
      if (t !== undefined && st !== undefined) {
        warnings.push('Both num_training_steps and num_stable_steps are specified. num_stable_steps will be used.');
      }
      if (!WSD_SHAPES.includes(s.warmup_type)) {
        throw bad(type, `Unknown warmup type: ${s.warmup_type}, expected 'linear', 'cosine' or '1-sqrt'`,
          'set warmup_type to linear, cosine or 1-sqrt');
      }
      if (!WSD_SHAPES.includes(s.decay_type)) {
        throw bad(type, `Unknown decay type: ${s.decay_type}, expected 'linear', 'cosine' or '1-sqrt'`,
          'set decay_type to linear, cosine or 1-sqrt');
      }
      checkNum(rec, type, 'min_lr_ratio');
      checkNum(rec, type, 'num_cycles');
      break;
    }
  }
  return warnings;
}
