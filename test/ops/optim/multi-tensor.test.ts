/**
 * Multi-tensor (flat) mode: one buffer for all parameters gives the same numbers as one graph per tensor (the
 * elementwise ops are identical; only cross-tensor reductions may round differently), the node count does not
 * depend on the number of tensors, and weight-decay masks select segments.
 */
import test from 'ava';
import { buildOptimizerGraph, type BuildOptions } from '../../../src/ops/optim/build.js';
import { flatParam, packFlat, unpackFlat } from '../../../src/ops/optim/flat.js';
import type { OptimizerSpec } from '../../../src/ops/optim/spec.js';
import type { ParamInfo } from '../../../src/ops/optim/types.js';
import { OnnxTrainError } from '../../../src/errors.js';
import { randomArray, rng } from '../../reference/optim.js';
import { errorRatio, maxUlps, Runner } from './harness.js';

const PARAMS: ParamInfo[] = [
  { name: 'embed.weight', shape: [6, 4] },
  { name: 'fc.weight', shape: [4, 3] },
  { name: 'fc.bias', shape: [3] },
  { name: 'ln.weight', shape: [3] },
];
const numel = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/**
 * Worst difference between the flat and the per-tensor run: in ulps of each element (`exact`), or — where a
 * global reduction makes the clip coefficient differ by an ulp — as an error ratio with rtol = atol/max = 1e-6.
 */
async function compare(spec: OptimizerSpec, opts: BuildOptions, exact: boolean, steps = 6): Promise<{ params: number; state: number }> {
  const metric = exact ? maxUlps : (a: ArrayLike<number>, b: ArrayLike<number>) => errorRatio(a, b, 1e-6, 1e-6);
  const next = rng(11);
  const init: Record<string, Float32Array> = {};
  for (const p of PARAMS) init[p.name] = randomArray(next, numel(p.shape));
  const per = await Runner.create(spec, PARAMS, init, opts);
  const flat = await Runner.create(spec, PARAMS, { flat: packFlat(flatParam('flat', PARAMS).segments!, init) }, { ...opts, multiTensor: true });
  const segs = flat.io.flat!.segments;
  let worstP = 0;
  let worstS = 0;
  try {
    for (let k = 0; k < steps; k++) {
      const grads: Record<string, Float32Array> = {};
      for (const p of PARAMS) grads[p.name] = randomArray(next, numel(p.shape), k % 2 ? 1e-3 : 1);
      const lr = 0.01 + 0.001 * k;
      await per.step({ grads, lr });
      await flat.step({ grads: { flat: packFlat(segs, grads) }, lr });
      const fp = unpackFlat(segs, flat.params.get('flat')!);
      for (const p of PARAMS) worstP = Math.max(worstP, metric(fp[p.name], per.params.get(p.name)!));
      for (const s of flat.io.params[0].slots) {
        const fs = unpackFlat(segs, flat.slot('flat', s.slot));
        for (const p of PARAMS) worstS = Math.max(worstS, metric(fs[p.name], per.slot(p.name, s.slot)));
      }
    }
  } finally {
    await per.release();
    await flat.release();
  }
  return { params: worstP, state: worstS };
}

const rows: [string, OptimizerSpec, BuildOptions, boolean][] = [
  ['adamw, weight decay, no-decay group (mask)', { type: 'adamw', weight_decay: 0.1 }, { noWeightDecay: ['fc.bias', 'ln.weight'] }, true],
  ['adamw_torch amsgrad, mask', { type: 'adamw_torch', amsgrad: true, weight_decay: 0.1 }, { noWeightDecay: ['fc.bias'] }, true],
  ['adam_weight_decay exclude regexes, amsgrad', { type: 'adam_weight_decay', learning_rate: 0.01, weight_decay_rate: 0.1, amsgrad: true, exclude_from_weight_decay: ['bias', '^ln'] }, {}, true],
  ['ort_adamw mode 0', { type: 'ort_adamw', adam_mode: 0 }, {}, true],
  ['ort_adamw mode 1', { type: 'ort_adamw', adam_mode: 1 }, {}, true],
  ['onnx_adam', { type: 'onnx_adam', norm_coefficient: 0.01, norm_coefficient_post: 0.01 }, {}, true],
  ['sgd momentum nesterov', { type: 'sgd', momentum: 0.9, nesterov: true, weight_decay: 0.01 }, {}, true],
  // The global norm is one reduction over the flat buffer instead of a sum of per-tensor sums.
  ['adamw with maxGradNorm', { type: 'adamw', weight_decay: 0.01 }, { maxGradNorm: 0.5 }, false],
  ['adam_weight_decay global_clipnorm', { type: 'adam_weight_decay', learning_rate: 0.01, global_clipnorm: 0.5 }, {}, false],
];
for (const [title, spec, opts, exact] of rows) {
  test(`optim multi-tensor › ${title} › flat equals per-tensor ${exact ? 'bit for bit' : 'within 1e-6 relative'}`, async (t) => {
    const r = await compare(spec, opts, exact);
    const limit = exact ? 0 : 1;
    t.true(r.params <= limit, `params differ by ${r.params} ${exact ? 'ulps' : '(error ratio)'}`);
    t.true(r.state <= limit, `state differs by ${r.state} ${exact ? 'ulps' : '(error ratio)'}`);
  });
}

test('optim multi-tensor › node count › independent of the number of tensors', (t) => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `layer${i}.${i % 2 ? 'bias' : 'weight'}`, shape: [i + 1, 2] }));
  for (const spec of [{ type: 'adamw', weight_decay: 0.01 }, { type: 'adamw_torch' }, { type: 'ort_adamw' }] as OptimizerSpec[]) {
    const counts = [3, 40].map((n) => buildOptimizerGraph(spec, many(n), { multiTensor: true, noWeightDecay: many(n).filter((p) => p.name.endsWith('bias')).map((p) => p.name), maxGradNorm: 1 }).model.graph.nodes.length);
    t.is(counts[0], counts[1], spec.type);
  }
});

test('optim multi-tensor › interface › flat names, layout and initial state', (t) => {
  const { io } = buildOptimizerGraph({ type: 'adamw_torch', amsgrad: true }, PARAMS, { multiTensor: { name: 'all' } });
  t.deepEqual(io.flat?.segments.map((s) => [s.name, s.offset, s.size]), [['embed.weight', 0, 24], ['fc.weight', 24, 12], ['fc.bias', 36, 3], ['ln.weight', 39, 3]]);
  t.is(io.flat?.numel, 42);
  t.deepEqual(io.inputs.map((i) => i.name), ['step', 'lr', 'all', 'all.grad', 'all.exp_avg', 'all.exp_avg_sq', 'all.max_exp_avg_sq']);
  t.deepEqual(io.outputs.map((i) => i.name), ['all.out', 'all.exp_avg.out', 'all.exp_avg_sq.out', 'all.max_exp_avg_sq.out']);
  t.deepEqual(io.params[0].shape, [42]);
});

test('optim multi-tensor › per-tensor transforms › rejected with the reason', (t) => {
  for (const spec of [{ type: 'adafactor' }, { type: 'adam_weight_decay', clipnorm: 1 }] as OptimizerSpec[]) {
    const e = t.throws(() => buildOptimizerGraph(spec, PARAMS, { multiTensor: true }), { instanceOf: OnnxTrainError });
    t.is(e?.code, 'BAD_ARGUMENT');
    t.regex(e!.what, /cannot run in multi-tensor mode/);
  }
});

test('optim multi-tensor › packFlat / unpackFlat › round trip, and missing or short tensors rejected', (t) => {
  const segs = flatParam('flat', PARAMS).segments!;
  const data = Object.fromEntries(PARAMS.map((p, i) => [p.name, Float32Array.from({ length: numel(p.shape) }, (_, k) => i * 100 + k)]));
  const back = unpackFlat(segs, packFlat(segs, data));
  for (const p of PARAMS) t.deepEqual(back[p.name], data[p.name]);
  t.is(t.throws(() => packFlat(segs, { ...data, 'fc.bias': new Float32Array(2) }), { instanceOf: OnnxTrainError })?.code, 'SHAPE_MISMATCH');
  const { ['ln.weight']: _drop, ...rest } = data;
  t.regex(t.throws(() => packFlat(segs, rest), { instanceOf: OnnxTrainError })!.what, /"ln\.weight" is missing/);
});

