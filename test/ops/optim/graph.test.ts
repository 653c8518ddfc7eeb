/**
 * The optimizer graph as API: input/output names, shapes and dtypes, initial state, node naming, standard ops
 * only, scalar math shared across parameters, determinism, in-graph schedules, the update_signal gate, the
 * AdafactorSchedule equivalent.
 */
import test from 'ava';
import { encodeModel } from '../../../src/onnx/io.js';
import { adafactorScheduleLr, adafactorScheduleOutput } from '../../../src/ops/optim/adafactor-schedule.js';
import { buildOptimizerGraph } from '../../../src/ops/optim/build.js';
import { initialState, stateName } from '../../../src/ops/optim/io.js';
import type { OptimizerSpec } from '../../../src/ops/optim/spec.js';
import { OPTIMIZER_TYPES } from '../../../src/ops/optim/spec.js';
import { valueAt } from '../../../src/ops/schedules/value-at.js';
import type { ScheduleSpec } from '../../../src/ops/schedules/spec.js';
import { randomArray, rng } from '../../reference/optim.js';
import { errorRatio, maxUlps, Runner } from './harness.js';

const PARAMS = [{ name: 'fc1.weight', shape: [4, 3] }, { name: 'fc1.bias', shape: [3] }];
const EVERY: OptimizerSpec[] = [
  { type: 'adamw' }, { type: 'adamw_torch', amsgrad: true }, { type: 'adafactor', beta1: 0.9 }, { type: 'adam_weight_decay', amsgrad: true },
  { type: 'ort_adamw' }, { type: 'onnx_adam' }, { type: 'onnx_adagrad' }, { type: 'onnx_momentum', alpha: 0.9, beta: 1, mode: 'standard', norm_coefficient: 0 },
  { type: 'sgd', momentum: 0.9 },
];

test('optim graph › every optimizer type › covered by this table', (t) => {
  t.deepEqual(EVERY.map((s) => s.type).sort(), [...OPTIMIZER_TYPES].sort());
});

test('optim graph › adamw interface › names, dtypes and shapes are the documented API', (t) => {
  const { io } = buildOptimizerGraph({ type: 'adamw', weight_decay: 0.01 }, PARAMS);
  t.deepEqual(io.inputs, [
    { name: 'step', dtype: 'int64', shape: [1] },
    { name: 'lr', dtype: 'float32', shape: [1] },
    { name: 'fc1.weight', dtype: 'float32', shape: [4, 3] },
    { name: 'fc1.weight.grad', dtype: 'float32', shape: [4, 3] },
    { name: 'fc1.weight.exp_avg', dtype: 'float32', shape: [4, 3] },
    { name: 'fc1.weight.exp_avg_sq', dtype: 'float32', shape: [4, 3] },
    { name: 'fc1.bias', dtype: 'float32', shape: [3] },
    { name: 'fc1.bias.grad', dtype: 'float32', shape: [3] },
    { name: 'fc1.bias.exp_avg', dtype: 'float32', shape: [3] },
    { name: 'fc1.bias.exp_avg_sq', dtype: 'float32', shape: [3] },
  ]);
  t.deepEqual(io.outputs.map((o) => o.name), ['fc1.weight.out', 'fc1.weight.exp_avg.out', 'fc1.weight.exp_avg_sq.out', 'fc1.bias.out', 'fc1.bias.exp_avg.out', 'fc1.bias.exp_avg_sq.out']);
  t.deepEqual(io.step, { name: 'step', convention: 'count' });
  t.deepEqual(io.lr, { kind: 'input', input: 'lr' });
  t.is(stateName('fc1.weight', 'exp_avg'), 'fc1.weight.exp_avg');
  t.deepEqual(io.optimizer, { type: 'adamw', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-6, weight_decay: 0.01, correct_bias: true });
});

test('optim graph › extras › lr_used, lr_t, updated_flag, grad_norm, R and T', (t) => {
  const af = buildOptimizerGraph({ type: 'adafactor' }, PARAMS).io;
  t.deepEqual(af.params.map((p) => p.extras), [{ lr_used: 'fc1.weight.lr_used' }, { lr_used: 'fc1.bias.lr_used' }]);
  t.deepEqual(af.lr, { kind: 'none' });
  t.false(af.inputs.some((i) => i.name === 'lr'));
  const awd = buildOptimizerGraph({ type: 'adam_weight_decay', learning_rate: { type: 'create_optimizer', init_lr: 0.01, num_train_steps: 10, num_warmup_steps: 2, min_lr_ratio: 0, power: 1 } as ScheduleSpec }, PARAMS).io;
  t.is(awd.extras.lr_t, 'lr_t');
  t.deepEqual(awd.lr, { kind: 'schedule' });
  t.deepEqual(awd.params[0].slots.map((s) => s.slot), ['m', 'v']);
  const ort = buildOptimizerGraph({ type: 'ort_adamw' }, PARAMS).io;
  t.is(ort.updateSignal, 'update_signal');
  t.deepEqual(ort.outputs.find((o) => o.name === 'updated_flag'), { name: 'updated_flag', dtype: 'bool', shape: [1] });
  const clip = buildOptimizerGraph({ type: 'adamw' }, PARAMS, { maxGradNorm: 1 }).io;
  t.deepEqual(clip.outputs.at(-1), { name: 'grad_norm', dtype: 'float32', shape: [1] });
  t.is(clip.extras.grad_norm, 'grad_norm');
  const onnx = buildOptimizerGraph({ type: 'onnx_adam' }, PARAMS).io;
  t.deepEqual(onnx.inputs.slice(0, 2).map((i) => i.name), ['T', 'R']);
  t.deepEqual(onnx.step, { name: 'T', convention: 'onnx_T' });
  t.deepEqual(onnx.params[1].slots.map((s) => s.input), ['fc1.bias.V', 'fc1.bias.H']);
});

test('optim graph › adafactor state › factored shapes for ≥ 2-D, full for 1-D, zeros', (t) => {
  const { io } = buildOptimizerGraph({ type: 'adafactor', beta1: 0 }, [{ name: 'k', shape: [2, 5, 3, 4] }, { name: 'w', shape: [6, 7] }, { name: 'b', shape: [7] }, { name: 's', shape: [] }]);
  const shapes = Object.fromEntries(io.params.flatMap((p) => p.slots.map((s) => [s.input, s.shape])));
  t.deepEqual(shapes, {
    'k.exp_avg_sq_row': [2, 5, 3], 'k.exp_avg_sq_col': [2, 5, 4], 'k.exp_avg': [2, 5, 3, 4],
    'w.exp_avg_sq_row': [6], 'w.exp_avg_sq_col': [7], 'w.exp_avg': [6, 7],
    'b.exp_avg_sq': [7], 'b.exp_avg': [7],
    's.exp_avg_sq': [], 's.exp_avg': [],
  });
  const init = initialState(io);
  t.is(init['k.exp_avg_sq_row'].length, 30);
  t.true(Object.values(init).every((a) => a.every((x) => x === 0)));
});

test('optim graph › every optimizer › standard ops of the default domain, opset 17, scoped node names', (t) => {
  for (const spec of EVERY) {
    const { model } = buildOptimizerGraph(spec, PARAMS, spec.type === 'adafactor' || spec.type.startsWith('onnx') ? {} : { maxGradNorm: 1 });
    t.deepEqual([...model.opsets.entries()], [['', 17]], spec.type);
    const nodes = [...model.graph.nodes, ...model.graph.nodes.flatMap((n) => [...n.subgraphs.values()].flat().flatMap((g) => g.nodes))];
    for (const n of nodes) {
      t.is(n.domain, '', `${spec.type}: ${n.name}`);
      t.true(n.name.startsWith(`optim/${spec.type}/`), `${spec.type}: ${n.name}`);
    }
    t.true(nodes.some((n) => n.name.startsWith(`optim/${spec.type}/fc1.weight/`)), spec.type);
  }
});

test('optim graph › bias corrections › emitted once per graph, not per parameter', (t) => {
  const many = Array.from({ length: 8 }, (_, i) => ({ name: `p${i}`, shape: [3] }));
  for (const spec of [{ type: 'adamw' }, { type: 'adamw_torch' }, { type: 'adam_weight_decay' }, { type: 'ort_adamw', adam_mode: 1 }] as OptimizerSpec[]) {
    const { model } = buildOptimizerGraph(spec, many);
    const all = [...model.graph.nodes, ...model.graph.nodes.flatMap((n) => [...n.subgraphs.values()].flat().flatMap((g) => g.nodes))];
    t.is(all.filter((n) => n.opType === 'Pow').length, 2, spec.type);
    t.is(all.filter((n) => n.opType === 'Sqrt').length, 8 + 1, spec.type);
  }
});

test('optim graph › outputs › produced directly, no Identity copies', (t) => {
  const { model } = buildOptimizerGraph({ type: 'adamw', weight_decay: 0.01 }, PARAMS, { multiTensor: true });
  t.false(model.graph.nodes.some((n) => n.opType === 'Identity'));
});

test('optim graph › build twice › identical bytes', (t) => {
  for (const spec of EVERY) {
    const a = encodeModel(buildOptimizerGraph(spec, PARAMS).model.toProto());
    const b = encodeModel(buildOptimizerGraph(spec, PARAMS).model.toProto());
    t.deepEqual(a, b, spec.type);
  }
});

test('optim graph › in-graph schedule at step − 1 › same as feeding the host schedule value', async (t) => {
  const schedule: ScheduleSpec = { type: 'linear', base_lr: 0.05, num_warmup_steps: 3, num_training_steps: 10 };
  const next = rng(3);
  const init = { 'fc1.weight': randomArray(next, 12), 'fc1.bias': randomArray(next, 3) };
  const inGraph = await Runner.create({ type: 'adamw', weight_decay: 0.1 }, PARAMS, init, { lr: schedule });
  const fed = await Runner.create({ type: 'adamw', weight_decay: 0.1 }, PARAMS, init);
  t.deepEqual(inGraph.io.lr, { kind: 'schedule' });
  try {
    for (let k = 0; k < 12; k++) {
      const grads = { 'fc1.weight': randomArray(next, 12), 'fc1.bias': randomArray(next, 3) };
      await inGraph.step({ grads });
      await fed.step({ grads, lr: valueAt(schedule, k) });
      for (const p of PARAMS) t.true(errorRatio(inGraph.params.get(p.name)!, fed.params.get(p.name)!, 1e-6, 1e-7) <= 1, `${p.name} @${k + 1}`);
    }
    // The first update has lr 0 under warmup: AdamW leaves params unchanged apart from... nothing (decay is lr·wd).
  } finally {
    await inGraph.release();
    await fed.release();
  }
});

test('optim graph › warmup step 0 › lr 0 leaves params unchanged but moves the moments', async (t) => {
  const schedule: ScheduleSpec = { type: 'constant_with_warmup', base_lr: 0.1, num_warmup_steps: 4 };
  const init = { 'fc1.weight': randomArray(rng(5), 12), 'fc1.bias': randomArray(rng(6), 3) };
  const r = await Runner.create({ type: 'adamw_torch' }, PARAMS, init, { lr: schedule });
  await r.step({ grads: { 'fc1.weight': randomArray(rng(1), 12), 'fc1.bias': randomArray(rng(2), 3) } });
  t.deepEqual(r.params.get('fc1.weight'), init['fc1.weight']);
  t.true(r.slot('fc1.weight', 'exp_avg').some((x) => x !== 0));
  await r.release();
});

test('optim graph › adam_weight_decay create_optimizer › lr_t is the Keras float32 schedule value', async (t) => {
  const lr: ScheduleSpec = { type: 'create_optimizer', init_lr: 0.01, num_train_steps: 12, num_warmup_steps: 3, min_lr_ratio: 0.1, power: 2 } as ScheduleSpec;
  const init = { 'fc1.weight': randomArray(rng(5), 12), 'fc1.bias': randomArray(rng(6), 3) };
  const r = await Runner.create({ type: 'adam_weight_decay', learning_rate: lr, weight_decay_rate: 0.01 }, PARAMS, init);
  try {
    for (let k = 0; k < 15; k++) {
      const out = await r.step({ grads: { 'fc1.weight': randomArray(rng(k), 12), 'fc1.bias': randomArray(rng(k + 50), 3) } });
      t.true(maxUlps(out.lr_t.data as Float32Array, [valueAt(lr, k)]) <= 1, `step ${k}: ${(out.lr_t.data as Float32Array)[0]} vs ${valueAt(lr, k)}`);
    }
  } finally {
    await r.release();
  }
});

test('optim graph › update_signal false › nothing changes even with non-finite gradients; true updates', async (t) => {
  for (const spec of [{ type: 'ort_adamw', adam_mode: 0 }, { type: 'ort_adamw', adam_mode: 1 }, { type: 'adamw' }] as OptimizerSpec[]) {
    const init = { 'fc1.weight': randomArray(rng(5), 12), 'fc1.bias': randomArray(rng(6), 3) };
    const r = await Runner.create(spec, PARAMS, init, { updateSignal: true });
    const bad = { 'fc1.weight': new Float32Array(12).fill(Number.NaN), 'fc1.bias': new Float32Array(3).fill(Infinity) };
    const out = await r.step({ grads: bad, lr: 0.01, updateSignal: false });
    t.deepEqual(r.params.get('fc1.weight'), init['fc1.weight'], spec.type);
    t.true(r.slot('fc1.bias', 'exp_avg_sq').every((x) => x === 0), spec.type);
    t.is((out.updated_flag.data as Uint8Array)[0], 0);
    const out2 = await r.step({ grads: { 'fc1.weight': randomArray(rng(1), 12), 'fc1.bias': randomArray(rng(2), 3) }, lr: 0.01, updateSignal: true });
    t.is((out2.updated_flag.data as Uint8Array)[0], 1);
    t.notDeepEqual(r.params.get('fc1.weight'), init['fc1.weight']);
    await r.release();
  }
});

test('optim graph › AdafactorSchedule equivalent › initial_lr before stepping, first param lr_used after', async (t) => {
  const init = { 'fc1.weight': randomArray(rng(5), 12), 'fc1.bias': randomArray(rng(6), 3) };
  const r = await Runner.create({ type: 'adafactor' }, PARAMS, init);
  t.is(adafactorScheduleOutput(r.io), 'fc1.weight.lr_used');
  t.is(adafactorScheduleLr(r.io), 0);
  t.is(adafactorScheduleLr(r.io, undefined, 0.5), 0.5);
  const out = await r.step({ grads: { 'fc1.weight': randomArray(rng(1), 12), 'fc1.bias': randomArray(rng(2), 3) } });
  // relative step at t = 1: min(1e-2, 1/sqrt(1)) = 1e-2, scaled by max(1e-3, RMS(p)) of the first param.
  const p = init['fc1.weight'];
  const rms = Math.sqrt(p.reduce((a, x) => a + x * x, 0) / p.length);
  t.true(Math.abs(adafactorScheduleLr(r.io, out) - 1e-2 * Math.max(1e-3, rms)) <= 1e-8);
  await r.release();
});
