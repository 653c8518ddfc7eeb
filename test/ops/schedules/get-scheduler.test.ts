import test from 'ava';
import { OnnxTrainError, type ErrorCode } from '../../../src/errors.js';
import { scheduleFromCase } from '../../../src/ops/schedules/from-case.js';
import { createSchedule, getScheduler, validateSchedule } from '../../../src/ops/schedules/get-scheduler.js';
import { pyFloatRepr } from '../../../src/ops/schedules/py-format.js';
import type { ScheduleSpec } from '../../../src/ops/schedules/spec.js';

function throwsArg(t: import('ava').ExecutionContext, fn: () => unknown, message: string | RegExp,
  code: ErrorCode = 'BAD_ARGUMENT') {
  const e = t.throws(fn, { instanceOf: OnnxTrainError });
  t.is(e?.code, code);
  if (typeof message === 'string') t.is(e?.what, message);
  else t.regex(e?.what ?? '', message);
  t.truthy(e?.fix, 'every error carries a fix');
}

// ---------------------------------------------------------------------------------------------- get_scheduler

test('getScheduler › unknown name › upstream SchedulerType message listing the values', (t) => {
  throwsArg(t, () => getScheduler('cosine_annealing', { baseLr: 1 }),
    "cosine_annealing is not a valid SchedulerType, please select one of ['linear', 'cosine', 'cosine_with_restarts', " +
    "'polynomial', 'constant', 'constant_with_warmup', 'inverse_sqrt', 'reduce_lr_on_plateau', 'cosine_with_min_lr', " +
    "'cosine_warmup_with_min_lr', 'warmup_stable_decay']");
});

test('getScheduler › constant › ignores every other argument', (t) => {
  const spec = getScheduler('constant', { baseLr: 3, numWarmupSteps: 5, numTrainingSteps: 7,
    schedulerSpecificKwargs: { nonsense: 1 } });
  t.deepEqual(spec, { type: 'constant', base_lr: 3 });
});

test('getScheduler › missing num_warmup_steps › upstream message', (t) => {
  for (const name of ['linear', 'cosine', 'constant_with_warmup', 'inverse_sqrt', 'warmup_stable_decay', 'polynomial']) {
    throwsArg(t, () => getScheduler(name, { baseLr: 1, numTrainingSteps: 10 }),
      `${name} requires \`num_warmup_steps\`, please provide that argument.`);
  }
});

test('getScheduler › missing num_training_steps › upstream message (not for wsd, constant_with_warmup, inverse_sqrt)', (t) => {
  for (const name of ['linear', 'cosine', 'cosine_with_restarts', 'polynomial', 'cosine_with_min_lr',
    'cosine_warmup_with_min_lr']) {
    throwsArg(t, () => getScheduler(name, { baseLr: 1, numWarmupSteps: 2, schedulerSpecificKwargs: { min_lr_rate: 0.1 } }),
      `${name} requires \`num_training_steps\`, please provide that argument.`);
  }
  t.notThrows(() => getScheduler('constant_with_warmup', { baseLr: 1, numWarmupSteps: 2 }));
  t.notThrows(() => getScheduler('inverse_sqrt', { baseLr: 1, numWarmupSteps: 2 }));
  t.notThrows(() => getScheduler('warmup_stable_decay', { baseLr: 1, numWarmupSteps: 2,
    schedulerSpecificKwargs: { num_decay_steps: 3, num_stable_steps: 4 } }));
});

test('getScheduler › constant_with_warmup and inverse_sqrt › kwargs dropped (with a warning here)', (t) => {
  const warnings: string[] = [];
  const spec = getScheduler('constant_with_warmup', { baseLr: 1, numWarmupSteps: 3, numTrainingSteps: 9,
    schedulerSpecificKwargs: { whatever: 1 }, onWarning: (w) => warnings.push(w) });
  t.deepEqual(spec, { type: 'constant_with_warmup', base_lr: 1, num_warmup_steps: 3 });
  t.regex(warnings[0] ?? '', /drops scheduler_specific_kwargs/);
});

test('getScheduler › wsd without num_decay_steps › TypeError-style missing argument', (t) => {
  throwsArg(t, () => getScheduler('warmup_stable_decay', { baseLr: 1, numWarmupSteps: 2, numTrainingSteps: 10 }),
    "get_wsd_schedule() missing 1 required positional argument: 'num_decay_steps'");
});

test('getScheduler › wsd with neither T nor S › upstream ValueError message', (t) => {
  throwsArg(t, () => getScheduler('warmup_stable_decay', { baseLr: 1, numWarmupSteps: 2,
    schedulerSpecificKwargs: { num_decay_steps: 3 } }), 'Either num_training_steps or num_stable_steps must be specified.');
});

test('getScheduler › wsd with both T and S › S wins, upstream warning', (t) => {
  const warnings: string[] = [];
  const spec = getScheduler('warmup_stable_decay', { baseLr: 1, numWarmupSteps: 2, numTrainingSteps: 100,
    schedulerSpecificKwargs: { num_decay_steps: 3, num_stable_steps: 4 }, onWarning: (w) => warnings.push(w) });
  t.like(spec, { num_stable_steps: 4, num_training_steps: 100 });
  t.deepEqual(warnings, ['Both num_training_steps and num_stable_steps are specified. num_stable_steps will be used.']);
});

test('getScheduler › unknown kwarg › TypeError-style unexpected keyword naming the factory', (t) => {
  throwsArg(t, () => getScheduler('cosine', { baseLr: 1, numWarmupSteps: 2, numTrainingSteps: 10,
    schedulerSpecificKwargs: { min_lr_rate: 0.1 } }),
  "get_cosine_schedule_with_warmup() got an unexpected keyword argument 'min_lr_rate'");
  throwsArg(t, () => getScheduler('linear', { baseLr: 1, numWarmupSteps: 2, numTrainingSteps: 10,
    schedulerSpecificKwargs: { num_cycles: 2 } }),
  "get_linear_schedule_with_warmup() got an unexpected keyword argument 'num_cycles'");
});

test('getScheduler › kwarg repeating W or T › got multiple values', (t) => {
  throwsArg(t, () => getScheduler('linear', { baseLr: 1, numWarmupSteps: 2, numTrainingSteps: 10,
    schedulerSpecificKwargs: { num_training_steps: 5 } }),
  "get_linear_schedule_with_warmup() got multiple values for keyword argument 'num_training_steps'");
});

test('getScheduler › reduce_lr_on_plateau › kwargs passed through, torch names checked', (t) => {
  t.deepEqual(getScheduler('reduce_lr_on_plateau', { schedulerSpecificKwargs: { patience: 3, factor: 0.5 } }),
    { type: 'reduce_lr_on_plateau', kwargs: { patience: 3, factor: 0.5 } });
  throwsArg(t, () => getScheduler('reduce_lr_on_plateau', { schedulerSpecificKwargs: { patients: 3 } }),
    "ReduceLROnPlateau.__init__() got an unexpected keyword argument 'patients'");
  throwsArg(t, () => getScheduler('reduce_lr_on_plateau', { schedulerSpecificKwargs: { factor: 1.0 } }),
    'Factor should be < 1.0.');
});

test('getScheduler › no baseLr for a multiplier schedule › says which lr is missing', (t) => {
  throwsArg(t, () => getScheduler('linear', { numWarmupSteps: 1, numTrainingSteps: 2 }), /baseLr is required/);
});

// ---------------------------------------------------------------------------------------------- factories

test('createSchedule › defaults › filled as the upstream signatures say', (t) => {
  t.deepEqual(createSchedule('cosine', { num_warmup_steps: 1, num_training_steps: 5 }, { baseLr: 2 }),
    { type: 'cosine', base_lr: 2, num_warmup_steps: 1, num_training_steps: 5, num_cycles: 0.5 });
  t.deepEqual(createSchedule('cosine_with_restarts', { num_warmup_steps: 1, num_training_steps: 5 }, { baseLr: 2 }),
    { type: 'cosine_with_restarts', base_lr: 2, num_warmup_steps: 1, num_training_steps: 5, num_cycles: 1 });
  t.deepEqual(createSchedule('polynomial', { num_warmup_steps: 1, num_training_steps: 5 }, { baseLr: 2 }),
    { type: 'polynomial', base_lr: 2, num_warmup_steps: 1, num_training_steps: 5, lr_end: 1e-7, power: 1 });
  t.deepEqual(createSchedule('warmup_stable_decay', { num_warmup_steps: 1, num_decay_steps: 2, num_stable_steps: 3 },
    { baseLr: 2 }), { type: 'warmup_stable_decay', base_lr: 2, num_warmup_steps: 1, num_decay_steps: 2,
    num_stable_steps: 3, warmup_type: 'linear', decay_type: 'cosine', min_lr_ratio: 0, num_cycles: 0.5 });
});

test('createSchedule › missing required arguments › Python wording, plural', (t) => {
  throwsArg(t, () => createSchedule('linear', {}, { baseLr: 1 }),
    "get_linear_schedule_with_warmup() missing 2 required positional arguments: 'num_warmup_steps' and 'num_training_steps'");
});

test('createSchedule › last_epoch › only -1 accepted', (t) => {
  t.notThrows(() => createSchedule('constant', { last_epoch: -1 }, { baseLr: 1 }));
  throwsArg(t, () => createSchedule('constant', { last_epoch: 5 }, { baseLr: 1 }), /last_epoch=5 is not supported/);
});

// ---------------------------------------------------------------------------------------------- validateSchedule

test('validateSchedule › polynomial lr_end ≥ lr_init › upstream message with Python float formatting', (t) => {
  throwsArg(t, () => validateSchedule({ type: 'polynomial', base_lr: 1e-7, num_warmup_steps: 0, num_training_steps: 5,
    lr_end: 1e-7, power: 1 }), 'lr_end (1e-07) must be smaller than initial lr (1e-07)');
  throwsArg(t, () => validateSchedule({ type: 'polynomial', base_lr: 100, default_lr: 10, num_warmup_steps: 0,
    num_training_steps: 5, lr_end: 20, power: 1 }), 'lr_end (20.0) must be smaller than initial lr (10.0)');
});

test('validateSchedule › min_lr and min_lr_rate › exactly one, upstream messages', (t) => {
  const base = { base_lr: 1, num_warmup_steps: 0, num_training_steps: 5, num_cycles: 0.5 };
  for (const type of ['cosine_with_min_lr', 'cosine_warmup_with_min_lr'] as const) {
    throwsArg(t, () => validateSchedule({ type, ...base, min_lr: 0.1, min_lr_rate: 0.1 }),
      'Only one of min_lr or min_lr_rate should be set');
    throwsArg(t, () => validateSchedule({ type, ...base }),
      'One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`');
  }
});

test('validateSchedule › wsd types › upstream messages', (t) => {
  const base = { type: 'warmup_stable_decay', base_lr: 1, num_warmup_steps: 1, num_decay_steps: 2, num_stable_steps: 3,
    min_lr_ratio: 0, num_cycles: 0.5 } as const;
  throwsArg(t, () => validateSchedule({ ...base, warmup_type: 'exp' as 'linear', decay_type: 'cosine' }),
    "Unknown warmup type: exp, expected 'linear', 'cosine' or '1-sqrt'");
  throwsArg(t, () => validateSchedule({ ...base, warmup_type: 'linear', decay_type: 'sqrt' as 'linear' }),
    "Unknown decay type: sqrt, expected 'linear', 'cosine' or '1-sqrt'");
});

test('validateSchedule › structural checks › unknown field, non-integer steps, bad timescale, non-TF WarmUp inner', (t) => {
  throwsArg(t, () => validateSchedule({ type: 'linear', base_lr: 1, num_warmup_steps: 1, num_training_steps: 5,
    num_cycles: 1 } as ScheduleSpec), "unknown field 'num_cycles'");
  throwsArg(t, () => validateSchedule({ type: 'linear', base_lr: 1, num_warmup_steps: 1.5, num_training_steps: 5 }),
    /num_warmup_steps must be an integer/);
  throwsArg(t, () => validateSchedule({ type: 'linear', base_lr: 1, num_warmup_steps: -1, num_training_steps: 5 }),
    /num_warmup_steps must be >= 0/);
  throwsArg(t, () => validateSchedule({ type: 'inverse_sqrt', base_lr: 1, num_warmup_steps: 1, timescale: 0 }),
    /timescale must be > 0/);
  throwsArg(t, () => validateSchedule({ type: 'cosine', base_lr: NaN, num_warmup_steps: 1, num_training_steps: 5,
    num_cycles: 0.5 }), /base_lr must be a finite number/);
  throwsArg(t, () => validateSchedule({ type: 'tf_warmup', initial_learning_rate: 1, warmup_steps: 2, power: 1,
    decay_schedule: { type: 'constant', base_lr: 1 } as never }), /decay_schedule must be a TF schedule/);
});

test('pyFloatRepr › Python repr of floats › exponent and integral forms', (t) => {
  t.is(pyFloatRepr(1e-7), '1e-07');
  t.is(pyFloatRepr(10), '10.0');
  t.is(pyFloatRepr(0.0001), '0.0001');
  t.is(pyFloatRepr(0.00001), '1e-05');
  t.is(pyFloatRepr(1.5e16), '1.5e+16');
  t.is(pyFloatRepr(123456.789), '123456.789');
  t.is(pyFloatRepr(-2.5e-5), '-2.5e-05');
});

// ---------------------------------------------------------------------------------------------- case parser

test('scheduleFromCase › malformed schedules › BAD_CASE naming the field', (t) => {
  throwsArg(t, () => scheduleFromCase({ type: 'cosine', num_warmup_steps: 2, num_training_steps: 10 }, {}),
    /needs a finite number base_lr/, 'BAD_CASE');
  const e = t.throws(() => scheduleFromCase({ type: 'linear', num_warmup_steps: 2, num_training_steps: 10, warmup: 1 },
    { base_lr: 1 }), { instanceOf: OnnxTrainError });
  t.is(e?.code, 'BAD_CASE');
  t.regex(e?.message ?? '', /^schedule: get_linear_schedule_with_warmup\(\) got an unexpected keyword argument 'warmup'/);
  const e2 = t.throws(() => scheduleFromCase({ type: 'tf_warmup', initial_learning_rate: 1, warmup_steps: 2,
    decay_schedule: { type: 'tf_polynomial_decay', initial_learning_rate: 1 } }), { instanceOf: OnnxTrainError });
  t.is(e2?.where, 'schedule.decay_schedule.decay_steps');
  const e3 = t.throws(() => scheduleFromCase({ type: 'cosine', get_scheduler: { num_warmup_steps: 1 }, num_cycles: 2 },
    { base_lr: 1 }), { instanceOf: OnnxTrainError });
  t.is(e3?.where, 'schedule.num_cycles');
  const e4 = t.throws(() => scheduleFromCase({ type: 'cosine', get_scheduler: { num_warmup_steps: 1 } }, { base_lr: 1 }),
    { instanceOf: OnnxTrainError });
  t.is(e4?.where, 'schedule.get_scheduler');
  t.is(e4?.what, 'cosine requires `num_training_steps`, please provide that argument.');
  t.throws(() => scheduleFromCase({ type: 'tf_polynomial_decay', initial_learning_rate: 1, decay_steps: 3 }, { base_lr: 1 }),
    { message: /base_lr must be absent/ });
  t.throws(() => scheduleFromCase({ type: 'reduce_lr_on_plateau' }, { base_lr: 1 }), { message: /kind "plateau"/ });
});

test('scheduleFromCase › TF defaults › Keras PolynomialDecay end 1e-4, power 1, no cycle', (t) => {
  t.deepEqual(scheduleFromCase({ type: 'tf_polynomial_decay', initial_learning_rate: 0.01, decay_steps: 7 }),
    { type: 'tf_polynomial_decay', initial_learning_rate: 0.01, decay_steps: 7, end_learning_rate: 0.0001, power: 1,
      cycle: false });
});
