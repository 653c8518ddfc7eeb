import test from 'ava';
import { GraphBuilder } from '../../../src/builder/index.js';
import { DataType } from '../../../src/onnx/dtypes.js';
import { emitSchedule } from '../../../src/ops/schedules/emit.js';
import { scheduleFromCase } from '../../../src/ops/schedules/from-case.js';
import { isTfSchedule, type ScheduleSpec, type WsdShape } from '../../../src/ops/schedules/spec.js';
import { valueAt } from '../../../src/ops/schedules/value-at.js';
import { i64, loadModel, ort } from '../../helpers/ort.js';
import { loadCases, within, type ScheduleCase } from './cases.js';

/** One ORT session computing `spec` for any step; `stepShape` [] (scalar) or [1]. */
async function scheduleSession(spec: ScheduleSpec, stepShape: number[] = [], stepType: number = DataType.INT64) {
  const b = GraphBuilder.create('schedule');
  const step = b.input('step', stepType, stepShape);
  b.output(emitSchedule(b, spec, step), 'lr', DataType.FLOAT, []);
  const model = b.toModel();
  const session = await loadModel(model);
  const at = async (s: number): Promise<number> => {
    const feed = stepType === DataType.INT32
      ? new ort.Tensor('int32', Int32Array.from([s]), stepShape)
      : i64([s], stepShape);
    const out = await session.run({ step: feed });
    if (out.lr.dims.length !== 0) throw new Error(`lr has shape [${out.lr.dims.join(', ')}], want []`);
    return (out.lr.data as Float32Array)[0] as number;
  };
  return { at, model, release: () => session.release() };
}

const ulp = (x: number) => 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -126))) - 23);

// ---------------------------------------------------------------------------------------------- conformance cases

for (const file of ['schedules.json', 'schedules_tf.json']) {
  const cases = loadCases<ScheduleCase>(file);
  if (!cases) {
    test.skip(`emitSchedule › ${file} › MISSING ../shared/conformance/cases/${file}`, () => {});
    continue;
  }
  for (const c of cases) {
    test(`emitSchedule › ${c.id} › ORT graph within the case tolerance`, async (t) => {
      const spec = scheduleFromCase(c.schedule, { base_lr: c.base_lr, default_lr: c.default_lr });
      const s = await scheduleSession(spec);
      try {
        for (let i = 0; i < c.steps.length; i++) {
          const got = await s.at(c.steps[i] as number);
          const want = c.expect_lr[i] as number;
          t.true(within(got, want, c.tolerance), `step ${c.steps[i]}: got ${got} want ${want}`);
          // TF schedules repeat Keras's float32 ops: bit-equal to the float32 expectation
          if (isTfSchedule(spec)) t.is(got, Math.fround(want), `step ${c.steps[i]}`);
        }
      } finally {
        await s.release();
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------- graph vs valueAt

/** Configurations beyond the cases: W = 0, W = T, steps far past T, non-dyadic cycles, negative derived S. */
function sweepSpecs(): [string, ScheduleSpec][] {
  const out: [string, ScheduleSpec][] = [];
  for (const [W, T] of [[0, 10], [2, 10], [5, 5], [3, 37]] as const) {
    for (const bl of [10, 5e-5, 3.7]) {
      const tag = `W${W}_T${T}_lr${bl}`;
      out.push([`linear_${tag}`, { type: 'linear', base_lr: bl, num_warmup_steps: W, num_training_steps: T }]);
      out.push([`constant_with_warmup_${tag}`, { type: 'constant_with_warmup', base_lr: bl, num_warmup_steps: W }]);
      out.push([`inverse_sqrt_${tag}`, { type: 'inverse_sqrt', base_lr: bl, num_warmup_steps: W }]);
      out.push([`inverse_sqrt_tau7_${tag}`, { type: 'inverse_sqrt', base_lr: bl, num_warmup_steps: W, timescale: 7 }]);
      for (const c of [0.5, 2, 0.3, 1.25]) {
        const ct = `${tag}_c${c}`;
        out.push([`cosine_${ct}`, { type: 'cosine', base_lr: bl, num_warmup_steps: W, num_training_steps: T, num_cycles: c }]);
        out.push([`cosine_with_restarts_${ct}`, { type: 'cosine_with_restarts', base_lr: bl, num_warmup_steps: W,
          num_training_steps: T, num_cycles: c }]);
        out.push([`cosine_with_min_lr_${ct}`, { type: 'cosine_with_min_lr', base_lr: bl, num_warmup_steps: W,
          num_training_steps: T, num_cycles: c, min_lr: bl / 20 }]);
        out.push([`cosine_warmup_with_min_lr_${ct}`, { type: 'cosine_warmup_with_min_lr', base_lr: bl,
          num_warmup_steps: W, num_training_steps: T, num_cycles: c, min_lr_rate: 0.05,
          warmup_lr_rate: c === 2 ? 0.1 : undefined }]);
      }
      // (W = T polynomial raises at s = T upstream: tested separately below)
      for (const p of T > W ? [1, 2, 0.5] : []) {
        out.push([`polynomial_${tag}_p${p}`, { type: 'polynomial', base_lr: bl, default_lr: 2 * bl, num_warmup_steps: W,
          num_training_steps: T, lr_end: bl / 100, power: p }]);
      }
      for (const wt of ['linear', 'cosine', '1-sqrt'] as WsdShape[]) {
        for (const dt of ['linear', 'cosine', '1-sqrt'] as WsdShape[]) {
          out.push([`wsd_${wt}_${dt}_${tag}`, { type: 'warmup_stable_decay', base_lr: bl, num_warmup_steps: W,
            num_decay_steps: Math.max(1, Math.floor(T / 3)), num_training_steps: T, warmup_type: wt, decay_type: dt,
            min_lr_ratio: 0.1, num_cycles: 0.5 }]);
        }
      }
    }
  }
  // S = T − W − D < 0
  out.push(['wsd_negative_S', { type: 'warmup_stable_decay', base_lr: 1, num_warmup_steps: 4, num_decay_steps: 8,
    num_training_steps: 10, warmup_type: 'cosine', decay_type: '1-sqrt', min_lr_ratio: 0.2, num_cycles: 0.5 }]);
  out.push(['constant', { type: 'constant', base_lr: 0.25 }]);
  out.push(['tf_polynomial_decay_cycle_p2', { type: 'tf_polynomial_decay', initial_learning_rate: 0.01, decay_steps: 6,
    end_learning_rate: 1e-4, power: 2, cycle: true }]);
  out.push(['tf_polynomial_decay_p0.5', { type: 'tf_polynomial_decay', initial_learning_rate: 3e-4, decay_steps: 11,
    end_learning_rate: 1e-6, power: 0.5, cycle: false }]);
  // Keras takes a non-integer decay_steps (cast to float32)
  out.push(['tf_polynomial_decay_fractional', { type: 'tf_polynomial_decay', initial_learning_rate: 1, decay_steps: 2.5,
    end_learning_rate: 0, power: 1, cycle: false }]);
  out.push(['tf_polynomial_decay_fractional_cycle', { type: 'tf_polynomial_decay', initial_learning_rate: 1, decay_steps: 2.5,
    end_learning_rate: 0.1, power: 2, cycle: true }]);
  out.push(['create_optimizer_ratio_power', { type: 'create_optimizer', init_lr: 3e-5, num_train_steps: 23,
    num_warmup_steps: 4, min_lr_ratio: 0.1, power: 1 }]);
  out.push(['create_optimizer_W0', { type: 'create_optimizer', init_lr: 1e-3, num_train_steps: 9, num_warmup_steps: 0,
    min_lr_ratio: 0, power: 1 }]);
  out.push(['tf_warmup_nested', { type: 'tf_warmup', initial_learning_rate: 2e-3, warmup_steps: 3, power: 1.5,
    decay_schedule: { type: 'tf_warmup', initial_learning_rate: 1e-3, warmup_steps: 2, power: 1,
      decay_schedule: { type: 'tf_polynomial_decay', initial_learning_rate: 1e-3, decay_steps: 5,
        end_learning_rate: 0, power: 1, cycle: false } } }]);
  return out;
}

/**
 * Multiplier schedules: the float32 graph stays within 8 float32 ulps of the float64 value, or within
 * 2^-23·base_lr absolutely where λ is near 0 (measured worst: ~6 ulps, from the rounding of the cosine argument).
 * TF schedules: bit-equal to valueAt's float32 emulation of Keras.
 */
for (const [name, spec] of sweepSpecs()) {
  test(`emitSchedule › ${name} › graph on ORT equals valueAt for steps 0..3T`, async (t) => {
    const s = await scheduleSession(spec);
    const T = 'num_training_steps' in spec && spec.num_training_steps !== undefined ? spec.num_training_steps : 12;
    const scale = 'base_lr' in spec ? Math.abs(spec.base_lr) : 0;
    try {
      for (let step = 0; step <= 3 * Math.max(T, 4) + 3; step++) {
        const got = await s.at(step);
        const want = valueAt(spec, step);
        if (isTfSchedule(spec)) {
          t.is(got, want, `step ${step}`);
        } else {
          const err = Math.abs(got - want);
          t.true(err <= 8 * ulp(want) || err <= 2 ** -23 * scale, `step ${step}: got ${got} want ${want} ` +
            `(${(err / ulp(want)).toFixed(2)} ulps)`);
        }
      }
    } finally {
      await s.release();
    }
  });
}

test('emitSchedule › cosine far past T › periodic reduction keeps full precision at step 10^7', async (t) => {
  const spec: ScheduleSpec = { type: 'cosine', base_lr: 1, num_warmup_steps: 7, num_training_steps: 1007, num_cycles: 0.5 };
  const s = await scheduleSession(spec);
  try {
    for (const step of [10_000_000, 10_000_003, 12_345_678]) {
      const got = await s.at(step);
      const want = valueAt(spec, step);
      t.true(Math.abs(got - want) <= 8 * ulp(want) + 2 ** -24, `step ${step}: got ${got} want ${want}`);
    }
  } finally {
    await s.release();
  }
});

test('emitSchedule › polynomial with W = T › NaN at s = T where upstream raises, correct elsewhere', async (t) => {
  const spec: ScheduleSpec = { type: 'polynomial', base_lr: 1, num_warmup_steps: 3, num_training_steps: 3, lr_end: 0.1, power: 1 };
  const s = await scheduleSession(spec);
  try {
    t.is(await s.at(2), Math.fround(2 / 3));
    t.true(Number.isNaN(await s.at(3)));
    t.is(await s.at(4), Math.fround(0.1));
  } finally {
    await s.release();
  }
});

test('emitSchedule › step input [1] and int32 › accepted, lr is a scalar', async (t) => {
  const spec: ScheduleSpec = { type: 'linear', base_lr: 10, num_warmup_steps: 2, num_training_steps: 10 };
  for (const [shape, type] of [[[1], DataType.INT64], [[], DataType.INT32], [[1], DataType.INT32]] as const) {
    const s = await scheduleSession(spec, [...shape], type);
    try {
      t.is(await s.at(1), 5);
      t.is(await s.at(6), 5);
    } finally {
      await s.release();
    }
  }
});

test('emitSchedule › emitted graph › standard default-domain ops only, scoped node names', async (t) => {
  for (const [, spec] of sweepSpecs()) {
    const s = await scheduleSession(spec);
    await s.release();
    const g = s.model.graph;
    t.deepEqual([...s.model.opsets.keys()], ['']);
    for (const n of g.nodes) {
      t.is(n.domain, '');
      t.true(n.name.startsWith(`schedule/${spec.type}/`) || n.opType === 'Identity', n.name);
    }
  }
});

test('emitSchedule › invalid spec › refused before any node is written', (t) => {
  const b = GraphBuilder.create('bad');
  const step = b.input('step', DataType.INT64, []);
  t.throws(() => emitSchedule(b, { type: 'cosine_with_min_lr', base_lr: 1, num_warmup_steps: 1, num_training_steps: 3,
    num_cycles: 0.5 }, step), { message: /One of min_lr or min_lr_rate/ });
  t.is(b.graph.nodes.length, 0);
});
