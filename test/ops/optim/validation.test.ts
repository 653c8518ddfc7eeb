/**
 * Argument validation: what upstream rejects (ValueError / TypeError) is an OnnxTrainError('BAD_ARGUMENT') with
 * upstream's message; bad parameters and options name the problem.
 */
import test from 'ava';
import { OnnxTrainError } from '../../../src/errors.js';
import { buildOptimizerGraph, resolveOptimizer, type BuildOptions } from '../../../src/ops/optim/build.js';
import { chain } from '../../../src/ops/optim/chain.js';
import type { OptimizerSpec } from '../../../src/ops/optim/spec.js';
import { decays, pyRegex } from '../../../src/ops/optim/transforms/decay-weights.js';
import type { ParamInfo } from '../../../src/ops/optim/types.js';

const P: ParamInfo[] = [{ name: 'w', shape: [2, 2] }];

const specErrors: [string, unknown, RegExp][] = [
  ['unknown type', { type: 'lamb' }, /unknown optimizer type "lamb"/],
  ['unknown key', { type: 'adamw', momentum: 0.9 }, /got an unexpected keyword argument "momentum"/],
  ['adamw negative lr', { type: 'adamw', lr: -0.1 }, /^Invalid learning rate: -0\.1 - should be >= 0\.0$/],
  ['adamw beta 1.0', { type: 'adamw', betas: [0.9, 1.0] }, /^Invalid beta parameter: 1\.0 - should be in \[0\.0, 1\.0\)$/],
  ['adamw negative eps', { type: 'adamw', eps: -1e-6 }, /^Invalid epsilon value: -1e-06 - should be >= 0\.0$/],
  ['adamw betas not a pair', { type: 'adamw', betas: [0.9] }, /"betas" must be a pair of numbers/],
  ['adamw correct_bias not boolean', { type: 'adamw', correct_bias: 'yes' }, /"correct_bias" must be a boolean/],
  ['adamw_torch beta index 0', { type: 'adamw_torch', betas: [-0.1, 0.9] }, /^Invalid beta parameter at index 0: -0\.1$/],
  ['adamw_torch negative weight decay', { type: 'adamw_torch', weight_decay: -1 }, /^Invalid weight_decay value: -1\.0$/],
  ['adafactor lr with relative_step', { type: 'adafactor', lr: 1e-3 }, /^Cannot combine manual `lr` and `relative_step=True` options$/],
  ['adafactor warmup_init without relative_step', { type: 'adafactor', lr: 1e-3, relative_step: false, warmup_init: true }, /^`warmup_init=True` requires `relative_step=True`$/],
  ['adam_weight_decay both clipnorms', { type: 'adam_weight_decay', clipnorm: 1, global_clipnorm: 1 }, /Cannot accept both `clipnorm` and `global_clipnorm`/],
  ['adam_weight_decay negative clipnorm', { type: 'adam_weight_decay', clipnorm: -1 }, /Expected clipnorm >= 0, received: -1\.0/],
  ['adam_weight_decay regex list', { type: 'adam_weight_decay', exclude_from_weight_decay: 'bias' }, /"exclude_from_weight_decay" must be a list/],
  ['ort_adamw mode 0 without bias correction', { type: 'ort_adamw', adam_mode: 0, correct_bias: 0 }, /The correct_bias should be 1 for adam_mode = 0/],
  ['ort_adamw mode 2', { type: 'ort_adamw', adam_mode: 2 }, /adam_mode is invalid: 2/],
  ['onnx_momentum missing attribute', { type: 'onnx_momentum', alpha: 0.9, beta: 1, mode: 'standard' }, /attribute "norm_coefficient" is required/],
  ['onnx_momentum mode', { type: 'onnx_momentum', alpha: 0.9, beta: 1, mode: 'heavy', norm_coefficient: 0 }, /mode must be "standard" or "nesterov"/],
  ['sgd nesterov with dampening', { type: 'sgd', momentum: 0.9, dampening: 0.1, nesterov: true }, /^Nesterov momentum requires a momentum and zero dampening$/],
  ['sgd negative momentum', { type: 'sgd', momentum: -0.9 }, /^Invalid momentum value: -0\.9$/],
  ['non-finite number', { type: 'sgd', lr: Number.NaN }, /"lr" must be a finite number/],
];
for (const [name, spec, re] of specErrors) {
  test(`optim validation › ${name} › BAD_ARGUMENT with upstream's message`, (t) => {
    const e = t.throws(() => buildOptimizerGraph(spec as OptimizerSpec, P), { instanceOf: OnnxTrainError });
    t.is(e?.code, 'BAD_ARGUMENT');
    t.regex(e!.what, re);
  });
}

const buildErrors: [string, ParamInfo[], BuildOptions, RegExp, OptimizerSpec?][] = [
  ['no parameters', [], {}, /no parameters to optimize/],
  ['duplicate parameter', [{ name: 'w', shape: [1] }, { name: 'w', shape: [2] }], {}, /parameter "w" appears twice/],
  ['reserved name', [{ name: 'lr', shape: [1] }], {}, /parameter name "lr" is reserved/],
  ['bad shape', [{ name: 'w', shape: [2, -1] }], {}, /invalid shape \[2,-1\]/],
  ['derived name collision', [{ name: 'a', shape: [1] }, { name: 'a.grad', shape: [1] }], {}, /would be named "a\.grad"/],
  ['maxGradNorm 0', P, { maxGradNorm: 0 }, /maxGradNorm must be a positive number/],
  ['lr for relative_step adafactor', P, { lr: 0.1 }, /uses no learning rate/, { type: 'adafactor' }],
  ['multiTensor adafactor', P, { multiTensor: true }, /adafactor cannot run in multi-tensor mode/, { type: 'adafactor' }],
  ['update_signal with per-parameter extras', P, { updateSignal: true }, /per-parameter extra outputs/, { type: 'adafactor' }],
];
for (const [name, params, opts, re, spec] of buildErrors) {
  test(`optim validation › ${name} › BAD_ARGUMENT naming the problem`, (t) => {
    const e = t.throws(() => buildOptimizerGraph(spec ?? { type: 'adamw' }, params, opts), { instanceOf: OnnxTrainError });
    t.is(e?.code, 'BAD_ARGUMENT');
    t.regex(e!.what, re);
  });
}

test('optim validation › defaults › filled in as upstream', (t) => {
  t.deepEqual(resolveOptimizer({ type: 'adamw_torch' }), { type: 'adamw_torch', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 1e-2, amsgrad: false, maximize: false });
  t.deepEqual(resolveOptimizer({ type: 'adafactor' }), {
    type: 'adafactor', lr: null, eps: [1e-30, 1e-3], clip_threshold: 1, decay_rate: -0.8, beta1: null, weight_decay: 0,
    scale_parameter: true, relative_step: true, warmup_init: false,
  });
  t.deepEqual(resolveOptimizer({ type: 'adam_weight_decay' }), {
    type: 'adam_weight_decay', learning_rate: 1e-3, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, weight_decay_rate: 0,
    include_in_weight_decay: null, exclude_from_weight_decay: null, clipnorm: null, global_clipnorm: null,
  });
  t.deepEqual(resolveOptimizer({ type: 'ort_adamw' }), { type: 'ort_adamw', alpha: 0.9, beta: 0.999, epsilon: 1e-8, weight_decay: 1e-2, adam_mode: 0, correct_bias: 1 });
  t.deepEqual(resolveOptimizer({ type: 'onnx_adam' }), { type: 'onnx_adam', alpha: 0.9, beta: 0.999, epsilon: 1e-6, norm_coefficient: 0, norm_coefficient_post: 0 });
});

test('optim validation › weight-decay selection › Keras include beats exclude; Python regex syntax', (t) => {
  const sel = { include: ['(?P<n>attention)\\.weight'], exclude: ['LayerNorm', 'bias', 'attention'] };
  t.true(decays('encoder/attention.weight', sel));
  t.false(decays('encoder/attention.bias', sel));
  t.false(decays('encoder/LayerNorm/gamma:0', sel));
  t.true(decays('dense/kernel:0', sel));
  t.false(decays('w', { exclude_names: ['w'] }));
  t.true(pyRegex('\\Aab\\Z').test('ab'));
  t.false(pyRegex('\\Aab\\Z').test('abc'));
  t.is(t.throws(() => pyRegex('(unclosed'), { instanceOf: OnnxTrainError })?.code, 'BAD_ARGUMENT');
});

test('optim validation › chain() › needs a transform, and slots must not clash', (t) => {
  t.is(t.throws(() => chain(), { instanceOf: OnnxTrainError })?.code, 'BAD_ARGUMENT');
  const slot = { name: 's', spec: {}, slots: () => [{ name: 'm', shape: [1], init: 0 }], emit: () => { throw new Error('unused'); } };
  t.regex(t.throws(() => chain(slot, slot).slots({ name: 'w', shape: [1] }), { instanceOf: OnnxTrainError })!.what, /two transforms of a chain declare the slot "m"/);
});

test('optim validation › adam_weight_decay create_optimizer › Keras defaults filled, bad fields named', (t) => {
  const r = resolveOptimizer({ type: 'adam_weight_decay', learning_rate: { type: 'create_optimizer', init_lr: 0.01, num_train_steps: 10, num_warmup_steps: 2 } as never });
  t.deepEqual((r as { learning_rate: unknown }).learning_rate, { type: 'create_optimizer', init_lr: 0.01, num_train_steps: 10, num_warmup_steps: 2, min_lr_ratio: 0, power: 1 });
  const e = t.throws(() => resolveOptimizer({ type: 'adam_weight_decay', learning_rate: { type: 'create_optimizer', init_lr: 0.01, num_train_steps: 10 } as never }), { instanceOf: OnnxTrainError });
  t.is(e?.code, 'BAD_ARGUMENT');
  t.regex(e!.what, /^"learning_rate": learning_rate\.num_warmup_steps: required by create_optimizer/);
});
