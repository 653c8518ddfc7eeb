import test from 'ava';
import { scheduleFromCase } from '../../../src/ops/schedules/from-case.js';
import { getScheduler } from '../../../src/ops/schedules/get-scheduler.js';
import type { ScheduleSpec } from '../../../src/ops/schedules/spec.js';
import { multiplierAt, valueAt } from '../../../src/ops/schedules/value-at.js';
import { loadCases, type ScheduleCase } from './cases.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const lrs = (spec: ScheduleSpec, n: number) => range(n).map((s) => valueAt(spec, s));

// ---------------------------------------------------------------------------------------------- conformance

for (const file of ['schedules.json', 'schedules_tf.json']) {
  const cases = loadCases<ScheduleCase>(file);
  if (!cases) {
    test.skip(`valueAt › ${file} › MISSING ../shared/conformance/cases/${file}`, () => {});
    continue;
  }
  for (const c of cases) {
    const tf = file === 'schedules_tf.json';
    test(`valueAt › ${c.id} › ${tf ? 'bit-equal to the float32 expectation' : 'float64 within 1e-12 relative'}`, (t) => {
      const spec = scheduleFromCase(c.schedule, { base_lr: c.base_lr, default_lr: c.default_lr });
      c.steps.forEach((s, i) => {
        const got = valueAt(spec, s);
        const want = c.expect_lr[i] as number;
        if (tf) {
          t.is(got, Math.fround(want), `step ${s}`);
        } else {
          t.true(Math.abs(got - want) <= 1e-12 * Math.abs(want) + 1e-15, `step ${s}: got ${got} want ${want}`);
        }
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------- upstream's own table

/**
 * transformers tests/optimization/test_optimization.py `ScheduleInitTest.test_schedulers`: AdamW(lr=10), warmup 2,
 * 10 training steps, the first 10 lrs compared with tol 1e-2.
 */
const UPSTREAM_TABLE: [string, ScheduleSpec, number[]][] = [
  ['get_constant_schedule', { type: 'constant', base_lr: 10 }, Array(10).fill(10.0)],
  ['get_constant_schedule_with_warmup', { type: 'constant_with_warmup', base_lr: 10, num_warmup_steps: 4 },
    [0.0, 2.5, 5.0, 7.5, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]],
  ['get_linear_schedule_with_warmup', { type: 'linear', base_lr: 10, num_warmup_steps: 2, num_training_steps: 10 },
    [0.0, 5.0, 10.0, 8.75, 7.5, 6.25, 5.0, 3.75, 2.5, 1.25]],
  ['get_cosine_schedule_with_warmup',
    { type: 'cosine', base_lr: 10, num_warmup_steps: 2, num_training_steps: 10, num_cycles: 0.5 },
    [0.0, 5.0, 10.0, 9.61, 8.53, 6.91, 5.0, 3.08, 1.46, 0.38]],
  ['get_cosine_with_hard_restarts_schedule_with_warmup',
    { type: 'cosine_with_restarts', base_lr: 10, num_warmup_steps: 2, num_training_steps: 10, num_cycles: 2 },
    [0.0, 5.0, 10.0, 8.53, 5.0, 1.46, 10.0, 8.53, 5.0, 1.46]],
  ['get_polynomial_decay_schedule_with_warmup',
    { type: 'polynomial', base_lr: 10, num_warmup_steps: 2, num_training_steps: 10, power: 2.0, lr_end: 1e-7 },
    [0.0, 5.0, 10.0, 7.656, 5.625, 3.906, 2.5, 1.406, 0.625, 0.156]],
  ['get_inverse_sqrt_schedule', { type: 'inverse_sqrt', base_lr: 10, num_warmup_steps: 2 },
    [0.0, 5.0, 10.0, 8.165, 7.071, 6.325, 5.774, 5.345, 5.0, 4.714]],
];

for (const [fn, spec, expected] of UPSTREAM_TABLE) {
  test(`valueAt › transformers test_schedulers ${fn} › matches the expected lrs (tol 1e-2)`, (t) => {
    const got = lrs(spec, 10);
    got.forEach((g, i) => t.true(Math.abs(g - (expected[i] as number)) <= 1e-2, `step ${i}: ${g} vs ${expected[i]}`));
  });
}

// ---------------------------------------------------------------------------------------------- edge cases

test('valueAt › cosine past T › unclamped: λ(T + k) = λ(T − k)', (t) => {
  const spec: ScheduleSpec = { type: 'cosine', base_lr: 1, num_warmup_steps: 2, num_training_steps: 10, num_cycles: 0.5 };
  for (let k = 1; k <= 8; k++) t.true(Math.abs(valueAt(spec, 10 + k) - valueAt(spec, 10 - k)) < 1e-15);
});

test('valueAt › cosine with W = T › alternates 1, 0, 1, 0 after warmup', (t) => {
  const spec: ScheduleSpec = { type: 'cosine', base_lr: 1, num_warmup_steps: 4, num_training_steps: 4, num_cycles: 0.5 };
  t.deepEqual(lrs(spec, 8).map((x) => Math.round(x * 1e12) / 1e12), [0, 0.25, 0.5, 0.75, 1, 0, 1, 0]);
});

test('valueAt › linear with W = T › 0 from W on', (t) => {
  const spec: ScheduleSpec = { type: 'linear', base_lr: 1, num_warmup_steps: 3, num_training_steps: 3 };
  t.deepEqual(lrs(spec, 6), [0, 1 / 3, 2 / 3, 0, 0, 0]);
});

test('valueAt › cosine_with_restarts › 0 from p ≥ 1 on', (t) => {
  const spec: ScheduleSpec = { type: 'cosine_with_restarts', base_lr: 1, num_warmup_steps: 0, num_training_steps: 4, num_cycles: 1 };
  t.deepEqual(lrs(spec, 7).map((x) => Math.round(x * 1e12) / 1e12), [1, 0.853553390593, 0.5, 0.146446609407, 0, 0, 0]);
});

test('valueAt › polynomial › normalised by default_lr: another base lr ends at base·lr_end/lr_init', (t) => {
  const spec: ScheduleSpec = { type: 'polynomial', base_lr: 4, default_lr: 2, num_warmup_steps: 0, num_training_steps: 4,
    lr_end: 0.5, power: 1 };
  t.is(valueAt(spec, 0), 4);
  t.is(valueAt(spec, 4), 1); // 4 · 0.5/2
  t.is(valueAt(spec, 9), 1);
  t.is(multiplierAt(spec, 2), (1.5 * 0.5 + 0.5) / 2);
});

test('valueAt › polynomial with W = T › throws at s = T (upstream ZeroDivisionError), fine elsewhere', (t) => {
  const spec: ScheduleSpec = { type: 'polynomial', base_lr: 1, num_warmup_steps: 3, num_training_steps: 3, lr_end: 0.1, power: 1 };
  t.is(valueAt(spec, 2), 2 / 3);
  t.throws(() => valueAt(spec, 3), { message: /ZeroDivisionError/ });
  t.is(valueAt(spec, 4), 0.1);
});

test('valueAt › inverse_sqrt › timescale defaults to W, or 10 000 when W = 0', (t) => {
  const w2: ScheduleSpec = { type: 'inverse_sqrt', base_lr: 1, num_warmup_steps: 2 };
  t.is(valueAt(w2, 2), 1);
  t.is(valueAt(w2, 4), 1 / Math.sqrt(2));
  const w0: ScheduleSpec = { type: 'inverse_sqrt', base_lr: 1, num_warmup_steps: 0 };
  t.is(valueAt(w0, 0), 1);
  t.is(valueAt(w0, 10_000), 1 / Math.sqrt(2));
});

test('valueAt › cosine_with_min_lr › min_lr is divided by default_lr, not the base lr', (t) => {
  const spec: ScheduleSpec = { type: 'cosine_with_min_lr', base_lr: 4, default_lr: 2, num_warmup_steps: 0,
    num_training_steps: 10, num_cycles: 0.5, min_lr: 0.5 };
  t.true(Math.abs(valueAt(spec, 10) - 1) < 1e-15); // r = 0.5/2, lr = 4·r
});

test('valueAt › cosine_warmup_with_min_lr › (s+1)/W warmup, reaches r at T − 1, warmup_lr_rate variant', (t) => {
  const spec: ScheduleSpec = { type: 'cosine_warmup_with_min_lr', base_lr: 1, num_warmup_steps: 4,
    num_training_steps: 12, num_cycles: 0.5, min_lr_rate: 0.1 };
  t.deepEqual(lrs(spec, 4), [0.25, 0.5, 0.75, 1]);
  t.true(Math.abs(valueAt(spec, 11) - 0.1) < 1e-15);
  const wr: ScheduleSpec = { ...spec, warmup_lr_rate: 0.1 };
  t.deepEqual(lrs(wr, 4).map((x) => Math.round(x * 1e12) / 1e12), [0.1, 0.4, 0.7, 1]);
});

test('valueAt › warmup_stable_decay › warmup starts at min_lr_ratio; derived negative S starts decay early', (t) => {
  const spec: ScheduleSpec = { type: 'warmup_stable_decay', base_lr: 1, num_warmup_steps: 4, num_decay_steps: 8,
    num_training_steps: 10, warmup_type: 'linear', decay_type: 'linear', min_lr_ratio: 0.2, num_cycles: 0.5 };
  t.is(valueAt(spec, 0), 0.2);
  // S = 10 − 4 − 8 = −2: at s = W the decay is already 2/8 in
  t.true(Math.abs(valueAt(spec, 4) - (0.2 + 0.8 * 0.75)) < 1e-15);
  t.is(valueAt(spec, 10), 0.2);
  t.is(valueAt(spec, 50), 0.2);
});

test('valueAt › get_scheduler inverse_sqrt › drops timescale (upstream passes only num_warmup_steps)', (t) => {
  const warnings: string[] = [];
  const spec = getScheduler('inverse_sqrt', { baseLr: 1, numWarmupSteps: 4,
    schedulerSpecificKwargs: { timescale: 100 }, onWarning: (w) => warnings.push(w) }) as ScheduleSpec;
  t.is(valueAt(spec, 8), 1 / Math.sqrt(2)); // τ = W = 4, not 100
  t.is(warnings.length, 1);
});

test('valueAt › tf_polynomial_decay cycle › decay_steps grows by multiples; step 0 uses multiplier 1', (t) => {
  const spec: ScheduleSpec = { type: 'tf_polynomial_decay', initial_learning_rate: 1, decay_steps: 4,
    end_learning_rate: 0, power: 1, cycle: true };
  t.is(valueAt(spec, 0), 1);
  t.is(valueAt(spec, 4), 0); // ceil(4/4) = 1: p = 1
  t.is(valueAt(spec, 5), Math.fround(1 - Math.fround(5 / 8)));
});

test('valueAt › create_optimizer with W = 0 › no WarmUp wrapper: step 0 is init_lr', (t) => {
  const spec: ScheduleSpec = { type: 'create_optimizer', init_lr: 0.1, num_train_steps: 10, num_warmup_steps: 0,
    min_lr_ratio: 0.1, power: 1 };
  t.is(valueAt(spec, 0), Math.fround(0.1));
  t.is(valueAt(spec, 10), Math.fround(Math.fround(0.1 * 0.1)));
  t.is(valueAt(spec, 30), valueAt(spec, 10));
});

test('valueAt › step argument › refuses negative and fractional steps', (t) => {
  const spec: ScheduleSpec = { type: 'constant', base_lr: 1 };
  t.throws(() => valueAt(spec, -1), { message: /non-negative integer/ });
  t.throws(() => valueAt(spec, 1.5), { message: /non-negative integer/ });
});
