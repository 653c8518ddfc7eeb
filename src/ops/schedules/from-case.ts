/**
 * The `schedule` object of a conformance case (shared/conformance/FORMAT.md, kind "schedule") as a
 * {@link ScheduleSpec}. Errors are OnnxTrainError('BAD_CASE') naming the field, so that the conformance runner can
 * report a malformed file (exit 2) instead of skipping the case.
 */
import { OnnxTrainError, isOnnxTrainError } from '../../errors.js';
import { createSchedule, getScheduler, isSchedulerType } from './get-scheduler.js';
import { pyRepr } from './py-format.js';
import type { ScheduleSpec, TfScheduleSpec } from './spec.js';
import { validateSchedule } from './validate.js';

/** The case-level learning rates of a schedule case. */
export interface CaseLrs {
  /** the case's `base_lr` (multiplier schedules only) */
  readonly base_lr?: number;
  /** the case's `default_lr` (optional; defaults to base_lr) */
  readonly default_lr?: number;
}

/** create_optimizer arguments that shape the optimizer, not the schedule: accepted and not used here. */
const CREATE_OPTIMIZER_NON_SCHEDULE = ['adam_beta1', 'adam_beta2', 'adam_epsilon', 'adam_clipnorm',
  'adam_global_clipnorm', 'weight_decay_rate', 'include_in_weight_decay'];

const TF_DEFAULTS: Readonly<Record<TfScheduleSpec['type'], { required: string[]; defaults: Record<string, unknown> }>> = {
  tf_polynomial_decay: {
    required: ['initial_learning_rate', 'decay_steps'],
    defaults: { end_learning_rate: 0.0001, power: 1.0, cycle: false },
  },
  tf_warmup: { required: ['initial_learning_rate', 'warmup_steps', 'decay_schedule'], defaults: { power: 1.0 } },
  create_optimizer: {
    required: ['init_lr', 'num_train_steps', 'num_warmup_steps'],
    defaults: { min_lr_ratio: 0.0, power: 1.0 },
  },
};

function badCase(where: string, what: string, fix?: string): OnnxTrainError {
  return new OnnxTrainError('BAD_CASE', what, fix, where);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Re-raise an argument error from the schedule builders as a case error located at `where`. */
function asCaseError(e: unknown, where: string): never {
  if (isOnnxTrainError(e) && e.code === 'BAD_ARGUMENT') {
    throw badCase(e.where ? `${where} (${e.where})` : where, e.what, e.fix);
  }
  throw e;
}

/**
 * Parses a case's `schedule` object:
 * - `{"type": <SchedulerType>, ...factory kwargs}`: the upstream factory called with those keyword arguments
 *   (defaults, TypeError-style errors for unknown / missing ones; see `createSchedule`);
 * - `{"type": <SchedulerType>, "get_scheduler": {num_warmup_steps, num_training_steps,
 *   scheduler_specific_kwargs}}`: built as transformers `get_scheduler` does (it drops or ignores some);
 * - `tf_polynomial_decay` (Keras defaults end 1e-4, power 1, cycle false), `tf_warmup` (power 1, nested
 *   `decay_schedule`), `create_optimizer` (min_lr_ratio 0, power 1; its optimizer-only arguments are accepted and
 *   not used).
 * Multiplier schedules need `lrs.base_lr`; TF schedules must not have one (they give the lr itself).
 * @throws OnnxTrainError('BAD_CASE') naming the field (`where` = `schedule.<field>`)
 */
export function scheduleFromCase(obj: unknown, lrs: CaseLrs = {}, where = 'schedule'): ScheduleSpec {
  if (!isRecord(obj)) throw badCase(where, `expected an object with a "type", got ${pyRepr(obj)}`, 'see FORMAT.md, kind "schedule"');
  const type = obj.type;
  if (typeof type !== 'string') {
    throw badCase(`${where}.type`, `expected a schedule type string, got ${pyRepr(type)}`,
      'use a transformers SchedulerType value or tf_warmup, tf_polynomial_decay, create_optimizer');
  }
  if (type === 'tf_polynomial_decay' || type === 'tf_warmup' || type === 'create_optimizer') {
    if (lrs.base_lr !== undefined) {
      throw badCase('base_lr', `${type} gives the lr itself; base_lr must be absent`, 'remove base_lr');
    }
    return tfFromCase(type, obj, where);
  }
  if (type === 'reduce_lr_on_plateau') {
    throw badCase(`${where}.type`, 'reduce_lr_on_plateau is not a function of the step',
      'write it as a case of kind "plateau"');
  }
  if (!isSchedulerType(type)) {
    throw badCase(`${where}.type`, `unknown schedule type ${pyRepr(type)}`,
      'use a transformers SchedulerType value or tf_warmup, tf_polynomial_decay, create_optimizer');
  }
  if (typeof lrs.base_lr !== 'number' || !Number.isFinite(lrs.base_lr)) {
    throw badCase('base_lr', `a ${type} schedule needs a finite number base_lr, got ${pyRepr(lrs.base_lr)}`,
      'set the case\'s base_lr (the lr is base_lr times the multiplier)');
  }
  if (lrs.default_lr !== undefined && (typeof lrs.default_lr !== 'number' || !Number.isFinite(lrs.default_lr))) {
    throw badCase('default_lr', `expected a finite number, got ${pyRepr(lrs.default_lr)}`,
      'set default_lr to optimizer.defaults["lr"], or leave it out (defaults to base_lr)');
  }
  const lrArgs = { baseLr: lrs.base_lr, defaultLr: lrs.default_lr };

  if ('get_scheduler' in obj) {
    const gsWhere = `${where}.get_scheduler`;
    for (const k of Object.keys(obj)) {
      if (k !== 'type' && k !== 'get_scheduler') {
        throw badCase(`${where}.${k}`, 'with "get_scheduler", the schedule\'s arguments go inside it',
          `move ${k} into get_scheduler.scheduler_specific_kwargs`);
      }
    }
    const gs = obj.get_scheduler;
    if (!isRecord(gs)) {
      throw badCase(gsWhere, `expected an object, got ${pyRepr(gs)}`,
        'use {"num_warmup_steps", "num_training_steps", "scheduler_specific_kwargs"}');
    }
    for (const k of Object.keys(gs)) {
      if (!['num_warmup_steps', 'num_training_steps', 'scheduler_specific_kwargs'].includes(k)) {
        throw badCase(`${gsWhere}.${k}`, 'unknown get_scheduler argument',
          'use num_warmup_steps, num_training_steps, scheduler_specific_kwargs');
      }
    }
    const kw = gs.scheduler_specific_kwargs;
    if (kw !== undefined && kw !== null && !isRecord(kw)) {
      throw badCase(`${gsWhere}.scheduler_specific_kwargs`, `expected an object, got ${pyRepr(kw)}`,
        'give the keyword arguments as an object, or null');
    }
    for (const k of ['num_warmup_steps', 'num_training_steps']) {
      const v = gs[k];
      if (v !== undefined && v !== null && typeof v !== 'number') {
        throw badCase(`${gsWhere}.${k}`, `expected an integer or null, got ${pyRepr(v)}`, `set ${k} to a number of steps`);
      }
    }
    try {
      return getScheduler(type, {
        ...lrArgs,
        numWarmupSteps: gs.num_warmup_steps as number | null | undefined,
        numTrainingSteps: gs.num_training_steps as number | null | undefined,
        schedulerSpecificKwargs: kw as Record<string, unknown> | null | undefined,
      }) as ScheduleSpec;
    } catch (e) {
      asCaseError(e, gsWhere);
    }
  }

  const kwargs: Record<string, unknown> = { ...obj };
  delete kwargs.type;
  try {
    return createSchedule(type, kwargs, lrArgs) as ScheduleSpec;
  } catch (e) {
    asCaseError(e, where);
  }
}

function tfFromCase(type: TfScheduleSpec['type'], obj: Record<string, unknown>, where: string): TfScheduleSpec {
  const { required, defaults } = TF_DEFAULTS[type];
  const known = [...required, ...Object.keys(defaults)];
  const spec: Record<string, unknown> = { type };
  for (const k of Object.keys(obj)) {
    if (k === 'type') continue;
    if (type === 'create_optimizer' && CREATE_OPTIMIZER_NON_SCHEDULE.includes(k)) continue;
    if (!known.includes(k)) {
      throw badCase(`${where}.${k}`, `unknown ${type} argument`, `${type} takes ${known.join(', ')}`);
    }
  }
  for (const k of required) {
    if (obj[k] === undefined || obj[k] === null) {
      throw badCase(`${where}.${k}`, `required by ${type}`, `set ${k}`);
    }
  }
  for (const k of known) {
    const v = obj[k] !== undefined && obj[k] !== null ? obj[k] : defaults[k];
    if (k === 'decay_schedule') {
      const innerType = isRecord(v) ? v.type : undefined;
      if (innerType !== 'tf_polynomial_decay' && innerType !== 'tf_warmup' && innerType !== 'create_optimizer') {
        throw badCase(`${where}.decay_schedule.type`, `expected a TF schedule, got ${pyRepr(innerType ?? v)}`,
          'WarmUp wraps tf_polynomial_decay, tf_warmup or create_optimizer');
      }
      spec[k] = scheduleFromCase(v, {}, `${where}.decay_schedule`);
    } else {
      spec[k] = v;
    }
  }
  const result = spec as unknown as TfScheduleSpec;
  try {
    validateSchedule(result);
  } catch (e) {
    asCaseError(e, where);
  }
  return result;
}
