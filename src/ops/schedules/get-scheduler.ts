/**
 * Building schedules the way transformers does: each `get_*_schedule*` factory with its exact keyword arguments
 * and defaults ({@link createSchedule}), and the `get_scheduler` dispatcher with its argument handling
 * ({@link getScheduler}). Upstream: huggingface/transformers `src/transformers/optimization.py`
 * (`TYPE_TO_SCHEDULER_FUNCTION`, `get_scheduler`), `src/transformers/trainer_utils.py` (`SchedulerType`).
 */
import { OnnxTrainError } from '../../errors.js';
import { pyNameList, pyRepr } from './py-format.js';
import {
  SCHEDULER_TYPES,
  type PlateauKwargs,
  type ReduceLrOnPlateauSpec,
  type ScheduleSpec,
  type SchedulerType,
} from './spec.js';
import { validateSchedule } from './validate.js';

export { validateSchedule } from './validate.js';

/** A keyword parameter of an upstream factory; no `default` key means required (positional without default). */
interface Param {
  readonly name: string;
  readonly default?: unknown;
}

interface Factory {
  /** the upstream function name, used in TypeError-style messages */
  readonly fn: string;
  readonly params: readonly Param[];
}

const W: Param = { name: 'num_warmup_steps' };
const T: Param = { name: 'num_training_steps' };
const LAST_EPOCH: Param = { name: 'last_epoch', default: -1 };

/** The signature of every factory in `TYPE_TO_SCHEDULER_FUNCTION` (minus the optimizer), upstream order. */
export const FACTORIES: Readonly<Record<Exclude<SchedulerType, 'reduce_lr_on_plateau'>, Factory>> = {
  constant: { fn: 'get_constant_schedule', params: [LAST_EPOCH] },
  constant_with_warmup: { fn: 'get_constant_schedule_with_warmup', params: [W, LAST_EPOCH] },
  linear: { fn: 'get_linear_schedule_with_warmup', params: [W, T, LAST_EPOCH] },
  cosine: {
    fn: 'get_cosine_schedule_with_warmup',
    params: [W, T, { name: 'num_cycles', default: 0.5 }, LAST_EPOCH],
  },
  cosine_with_restarts: {
    fn: 'get_cosine_with_hard_restarts_schedule_with_warmup',
    params: [W, T, { name: 'num_cycles', default: 1 }, LAST_EPOCH],
  },
  polynomial: {
    fn: 'get_polynomial_decay_schedule_with_warmup',
    params: [W, T, { name: 'lr_end', default: 1e-7 }, { name: 'power', default: 1.0 }, LAST_EPOCH],
  },
  inverse_sqrt: { fn: 'get_inverse_sqrt_schedule', params: [W, { name: 'timescale', default: null }, LAST_EPOCH] },
  cosine_with_min_lr: {
    fn: 'get_cosine_with_min_lr_schedule_with_warmup',
    params: [W, T, { name: 'num_cycles', default: 0.5 }, LAST_EPOCH, { name: 'min_lr', default: null },
      { name: 'min_lr_rate', default: null }],
  },
  cosine_warmup_with_min_lr: {
    fn: 'get_cosine_with_min_lr_schedule_with_warmup_lr_rate',
    params: [W, T, { name: 'num_cycles', default: 0.5 }, LAST_EPOCH, { name: 'min_lr', default: null },
      { name: 'min_lr_rate', default: null }, { name: 'warmup_lr_rate', default: null }],
  },
  warmup_stable_decay: {
    fn: 'get_wsd_schedule',
    params: [W, { name: 'num_decay_steps' }, { name: 'num_training_steps', default: null },
      { name: 'num_stable_steps', default: null }, { name: 'warmup_type', default: 'linear' },
      { name: 'decay_type', default: 'cosine' }, { name: 'min_lr_ratio', default: 0 },
      { name: 'num_cycles', default: 0.5 }, LAST_EPOCH],
  },
};

/** torch `ReduceLROnPlateau.__init__` keyword arguments (current torch: no `verbose`). */
export const PLATEAU_KWARGS = ['mode', 'factor', 'patience', 'threshold', 'threshold_mode', 'cooldown', 'min_lr',
  'eps'] as const;

/** The learning rates a multiplier schedule needs besides its factory arguments. */
export interface ScheduleLrs {
  /** the param group's lr (the schedule's lr is baseLr · λ) */
  readonly baseLr?: number;
  /** `optimizer.defaults["lr"]`; defaults to baseLr (polynomial's lr_init, what min_lr is divided by) */
  readonly defaultLr?: number;
  /** receives upstream's warnings (and notes on arguments that upstream drops silently) */
  readonly onWarning?: (message: string) => void;
}

function badArg(what: string, fix?: string): OnnxTrainError {
  return new OnnxTrainError('BAD_ARGUMENT', what, fix);
}

/** True when `name` is a transformers `SchedulerType` value. */
export function isSchedulerType(name: unknown): name is SchedulerType {
  return typeof name === 'string' && (SCHEDULER_TYPES as readonly string[]).includes(name);
}

function checkSchedulerType(name: unknown): SchedulerType {
  if (!isSchedulerType(name)) {
    throw badArg(`${String(name)} is not a valid SchedulerType, please select one of ${pyRepr([...SCHEDULER_TYPES])}`,
      `use one of ${SCHEDULER_TYPES.join(', ')}`);
  }
  return name;
}

/**
 * Calls the upstream factory of `type` with keyword arguments `kwargs`, as Python would: unknown keywords and
 * missing required arguments raise TypeError-style errors (`get_linear_schedule_with_warmup() got an unexpected
 * keyword argument 'foo'`, `… missing 1 required positional argument: 'num_training_steps'`), defaults fill the
 * rest, then {@link validateSchedule} runs the factory's own checks. `last_epoch` is accepted only as −1 (resuming
 * is done by feeding the step, not by rebuilding the scheduler). Null means Python's None.
 *
 * `reduce_lr_on_plateau` returns the torch kwargs (checked against `ReduceLROnPlateau.__init__`'s names, and
 * `factor < 1` as torch checks) for the host-side state machine.
 * @throws OnnxTrainError('BAD_ARGUMENT')
 */
export function createSchedule(type: SchedulerType, kwargs: Readonly<Record<string, unknown>>,
  lrs: ScheduleLrs = {}): ScheduleSpec | ReduceLrOnPlateauSpec {
  checkSchedulerType(type);
  if (type === 'reduce_lr_on_plateau') return plateauSpec(kwargs);
  const factory = FACTORIES[type];
  const names = factory.params.map((p) => p.name);
  for (const k of Object.keys(kwargs)) {
    if (!names.includes(k)) {
      throw badArg(`${factory.fn}() got an unexpected keyword argument '${k}'`,
        `${factory.fn} takes ${names.join(', ')}`);
    }
  }
  const missing = factory.params
    .filter((p) => !('default' in p) && kwargs[p.name] === undefined)
    .map((p) => p.name);
  if (missing.length > 0) {
    throw badArg(`${factory.fn}() missing ${missing.length} required positional argument${missing.length > 1 ? 's' : ''}: ` +
      pyNameList(missing), `pass ${missing.join(', ')}`);
  }
  const lastEpoch = kwargs.last_epoch;
  if (lastEpoch !== undefined && lastEpoch !== -1) {
    throw badArg(`${factory.fn}(): last_epoch=${pyRepr(lastEpoch)} is not supported`,
      'leave last_epoch at -1; to resume, feed the schedule the saved step');
  }
  if (lrs.baseLr === undefined) {
    throw badArg(`${type} is a multiplier schedule (lr = base lr · λ): baseLr is required`,
      'pass the param group\'s lr as baseLr');
  }
  const spec: Record<string, unknown> = { type, base_lr: lrs.baseLr };
  if (lrs.defaultLr !== undefined) spec.default_lr = lrs.defaultLr;
  for (const p of factory.params) {
    if (p.name === 'last_epoch') continue;
    const v = kwargs[p.name] !== undefined ? kwargs[p.name] : p.default;
    if (v === null) {
      if (!('default' in p)) {
        throw badArg(`${factory.fn}(): ${p.name} must be a number, got None`, `pass ${p.name}`);
      }
      continue; // None: stays absent in the spec
    }
    spec[p.name] = v;
  }
  const result = spec as unknown as ScheduleSpec;
  for (const w of validateSchedule(result)) lrs.onWarning?.(w);
  return result;
}

function plateauSpec(kwargs: Readonly<Record<string, unknown>>): ReduceLrOnPlateauSpec {
  for (const k of Object.keys(kwargs)) {
    if (!(PLATEAU_KWARGS as readonly string[]).includes(k)) {
      throw badArg(`ReduceLROnPlateau.__init__() got an unexpected keyword argument '${k}'`,
        `ReduceLROnPlateau takes ${PLATEAU_KWARGS.join(', ')}`);
    }
  }
  const factor = kwargs.factor;
  if (typeof factor === 'number' && factor >= 1.0) throw badArg('Factor should be < 1.0.', 'use factor < 1');
  if (kwargs.mode !== undefined && kwargs.mode !== 'min' && kwargs.mode !== 'max') {
    throw badArg(`mode ${String(kwargs.mode)} is unknown!`, 'use mode "min" or "max"');
  }
  if (kwargs.threshold_mode !== undefined && kwargs.threshold_mode !== 'rel' && kwargs.threshold_mode !== 'abs') {
    throw badArg(`threshold mode ${String(kwargs.threshold_mode)} is unknown!`, 'use threshold_mode "rel" or "abs"');
  }
  return { type: 'reduce_lr_on_plateau', kwargs: { ...kwargs } as PlateauKwargs };
}

/** Arguments of {@link getScheduler}, named after upstream's `get_scheduler` parameters. */
export interface GetSchedulerOptions extends ScheduleLrs {
  readonly numWarmupSteps?: number | null;
  readonly numTrainingSteps?: number | null;
  readonly schedulerSpecificKwargs?: Readonly<Record<string, unknown>> | null;
}

/**
 * transformers `get_scheduler(name, optimizer, num_warmup_steps, num_training_steps, scheduler_specific_kwargs)`:
 * - unknown name: `… is not a valid SchedulerType, please select one of [...]`;
 * - `constant`: every other argument ignored;
 * - `reduce_lr_on_plateau`: only the kwargs, passed to torch `ReduceLROnPlateau`;
 * - any other name without `num_warmup_steps`: `<name> requires \`num_warmup_steps\`, please provide that argument.`;
 * - `constant_with_warmup`, `inverse_sqrt`: only `num_warmup_steps` — the kwargs are dropped (so `timescale`
 *   cannot be set this way; reported through `onWarning`, silently upstream);
 * - `warmup_stable_decay`: W, T (may be None) and the kwargs (`num_decay_steps` must be among them);
 * - the rest: `<name> requires \`num_training_steps\`, please provide that argument.` when T is None, else W, T
 *   and the kwargs. A kwarg repeating W or T is Python's `got multiple values for keyword argument`.
 * Then the factory's own argument handling and checks ({@link createSchedule}).
 *
 * (Upstream formats `<name>` with the enum; Python ≤ 3.11 prints the value, e.g. `linear`, Python ≥ 3.12
 * `SchedulerType.LINEAR`. The value form is used here.)
 * @throws OnnxTrainError('BAD_ARGUMENT') with upstream's wording and a fix
 */
export function getScheduler(name: string, opts: GetSchedulerOptions = {}): ScheduleSpec | ReduceLrOnPlateauSpec {
  const type = checkSchedulerType(name);
  const lrs: ScheduleLrs = { baseLr: opts.baseLr, defaultLr: opts.defaultLr, onWarning: opts.onWarning };
  if (type === 'constant') return createSchedule(type, {}, lrs);
  const kwargs = opts.schedulerSpecificKwargs ?? {};
  if (type === 'reduce_lr_on_plateau') return createSchedule(type, kwargs, lrs);
  const w = opts.numWarmupSteps;
  if (w === undefined || w === null) {
    throw badArg(`${type} requires \`num_warmup_steps\`, please provide that argument.`,
      'pass numWarmupSteps (0 for no warmup)');
  }
  if (type === 'constant_with_warmup' || type === 'inverse_sqrt') {
    const dropped = Object.keys(kwargs);
    if (dropped.length > 0) {
      opts.onWarning?.(`get_scheduler drops scheduler_specific_kwargs for ${type} (${dropped.join(', ')} ignored, ` +
        'as upstream does)');
    }
    return createSchedule(type, { num_warmup_steps: w }, lrs);
  }
  const t = opts.numTrainingSteps;
  if (type !== 'warmup_stable_decay' && (t === undefined || t === null)) {
    throw badArg(`${type} requires \`num_training_steps\`, please provide that argument.`,
      'pass numTrainingSteps (the total number of optimizer updates)');
  }
  const fn = FACTORIES[type].fn;
  for (const dup of ['optimizer', 'num_warmup_steps', 'num_training_steps']) {
    if (Object.hasOwn(kwargs, dup)) {
      throw badArg(`${fn}() got multiple values for keyword argument '${dup}'`,
        `remove ${dup} from scheduler_specific_kwargs; get_scheduler passes it itself`);
    }
  }
  return createSchedule(type, { num_warmup_steps: w, num_training_steps: t ?? null, ...kwargs }, lrs);
}
