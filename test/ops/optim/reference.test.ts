/**
 * Every optimizer graph against the independent float32 reference (test/reference/optim.ts) for hand-picked
 * configurations, on NodeEngine('cpu'): 12 updates of random data (every third with gradients 1000× smaller, where ε
 * dominates), params / every state tensor / lr_used within the FORMAT.md tolerance of the family.
 */
import test from 'ava';
import type { OptimizerSpec } from '../../../src/ops/optim/spec.js';
import * as R from '../../reference/optim.js';
import { drive, type DriveOptions, type RefStep } from './drive.js';

interface Row {
  readonly title: string;
  readonly spec: OptimizerSpec;
  readonly ref: RefStep;
  readonly opts?: DriveOptions;
}

const ADAM_TOL = { rtol: 1e-5, k: 5e-6 };
const ADAFACTOR_TOL = { rtol: 1e-4, k: 1e-5 };

const hf = (c: Partial<R.HfAdamWConfig>): RefStep => (_n, _s, p, g, s, t, lr) =>
  R.hfAdamW(p, g, s as never, t, lr, { betas: [0.9, 0.999], eps: 1e-6, weight_decay: 0, correct_bias: true, ...c });
const torch = (c: Partial<R.TorchAdamWConfig>): RefStep => (_n, _s, p, g, s, t, lr) =>
  R.torchAdamW(p, g, s as never, t, lr, { betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01, amsgrad: false, ...c });
const AF: R.AdafactorConfig = { lr: null, eps: [1e-30, 1e-3], clip_threshold: 1, decay_rate: -0.8, beta1: null, weight_decay: 0, scale_parameter: true, relative_step: true, warmup_init: false };
const af = (c: Partial<R.AdafactorConfig>): RefStep => (_n, shape, p, g, s, t, lr) => R.adafactor(p, shape, g, s, t, lr, { ...AF, ...c });
const ort = (c: Partial<R.OrtConfig>): RefStep => (_n, _s, p, g, s, t, lr) =>
  R.ortAdamW(p, g, s as never, t, lr, { alpha: 0.9, beta: 0.999, epsilon: 1e-8, weight_decay: 0.01, adam_mode: 0, correct_bias: 1, ...c });
const keras = (c: Partial<R.KerasConfig>, lrT: number, decays: (name: string) => boolean = () => true): RefStep => (n, _s, p, g, s, t) =>
  R.kerasAdamWeightDecay(p, g, s as never, t, lrT, { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false, weight_decay_rate: 0, decay: decays(n), ...c });

const rows: Row[] = [
  { title: 'adamw › weight decay 0.01', spec: { type: 'adamw', weight_decay: 0.01 }, ref: hf({ weight_decay: 0.01 }) },
  { title: 'adamw › correct_bias false, eps 1e-8, wd 0.1', spec: { type: 'adamw', correct_bias: false, eps: 1e-8, weight_decay: 0.1 }, ref: hf({ correct_bias: false, eps: 1e-8, weight_decay: 0.1 }) },
  { title: 'adamw › betas (0.5, 0.9), large eps', spec: { type: 'adamw', betas: [0.5, 0.9], eps: 1e-2 }, ref: hf({ betas: [0.5, 0.9], eps: 1e-2 }) },
  { title: 'adamw › tiny gradients (eps dominates)', spec: { type: 'adamw', weight_decay: 0.01 }, ref: hf({ weight_decay: 0.01 }), opts: { gradScale: () => 1e-7 } },
  { title: 'adamw_torch › defaults', spec: { type: 'adamw_torch' }, ref: torch({}) },
  { title: 'adamw_torch › amsgrad, wd 0.1', spec: { type: 'adamw_torch', amsgrad: true, weight_decay: 0.1 }, ref: torch({ amsgrad: true, weight_decay: 0.1 }) },
  { title: 'adamw_torch › maximize, β1 0.3 (lerp ≥ ½ branch)', spec: { type: 'adamw_torch', maximize: true, betas: [0.3, 0.99] }, ref: torch({ maximize: true, betas: [0.3, 0.99] }) },
  { title: 'adamw_torch › wd 0, eps 1e-3, tiny gradients', spec: { type: 'adamw_torch', weight_decay: 0, eps: 1e-3 }, ref: torch({ weight_decay: 0, eps: 1e-3 }), opts: { gradScale: () => 1e-5 } },
  { title: 'adafactor › defaults (relative step, scale_parameter)', spec: { type: 'adafactor' }, ref: af({}), opts: ADAFACTOR_TOL },
  { title: 'adafactor › warmup_init, beta1 0.9, weight decay', spec: { type: 'adafactor', warmup_init: true, beta1: 0.9, weight_decay: 0.01 }, ref: af({ warmup_init: true, beta1: 0.9, weight_decay: 0.01 }), opts: ADAFACTOR_TOL },
  { title: 'adafactor › manual lr, no scale, clip 0.5, decay −0.5, beta1 0', spec: { type: 'adafactor', lr: 0.01, relative_step: false, scale_parameter: false, clip_threshold: 0.5, decay_rate: -0.5, beta1: 0 }, ref: af({ lr: 0.01, relative_step: false, scale_parameter: false, clip_threshold: 0.5, decay_rate: -0.5, beta1: 0 }), opts: ADAFACTOR_TOL },
  { title: 'adafactor › manual lr with scale_parameter, zero-init params use eps1', spec: { type: 'adafactor', lr: 0.05, relative_step: false }, ref: af({ lr: 0.05, relative_step: false }), opts: { ...ADAFACTOR_TOL, params: [{ name: 'zero.bias', shape: [3] }, { name: 'emb', shape: [6, 2] }] } },
  { title: 'adafactor › 4-D tensor (batched factoring), eps0 1e-3', spec: { type: 'adafactor', eps: [1e-3, 1e-3] }, ref: af({ eps: [1e-3, 1e-3] }), opts: { ...ADAFACTOR_TOL, params: [{ name: 'k', shape: [2, 2, 3, 5] }] } },
  { title: 'ort_adamw › mode 0, wd 0.1', spec: { type: 'ort_adamw', adam_mode: 0, weight_decay: 0.1 }, ref: ort({ weight_decay: 0.1 }) },
  { title: 'ort_adamw › mode 1, correct_bias 0', spec: { type: 'ort_adamw', adam_mode: 1, correct_bias: 0, epsilon: 1e-6, weight_decay: 0.05 }, ref: ort({ adam_mode: 1, correct_bias: 0, epsilon: 1e-6, weight_decay: 0.05 }) },
  { title: 'ort_adamw › mode 1, step input not sequential', spec: { type: 'ort_adamw', adam_mode: 1 }, ref: ort({ adam_mode: 1 }), opts: { stepInput: (k) => 3 * k + 2 } },
  { title: 'onnx_adam › norm coefficients', spec: { type: 'onnx_adam', norm_coefficient: 0.01, norm_coefficient_post: 0.001 }, ref: (_n, _s, p, g, s, t, lr) => R.onnxAdam(p, g, s as never, t, lr, { alpha: 0.9, beta: 0.999, epsilon: 1e-6, norm_coefficient: 0.01, norm_coefficient_post: 0.001 }) },
  { title: 'onnx_adam › T = 0 disables bias correction', spec: { type: 'onnx_adam', alpha: 0.8 }, ref: (_n, _s, p, g, s, t, lr) => R.onnxAdam(p, g, s as never, t, lr, { alpha: 0.8, beta: 0.999, epsilon: 1e-6, norm_coefficient: 0, norm_coefficient_post: 0 }), opts: { stepInput: () => 0 } },
  { title: 'onnx_adagrad › decay factor, eps, norm coefficient', spec: { type: 'onnx_adagrad', decay_factor: 0.1, epsilon: 1e-6, norm_coefficient: 0.01 }, ref: (_n, _s, p, g, s, t, lr) => R.onnxAdagrad(p, g, s as never, t, lr, { decay_factor: 0.1, epsilon: 1e-6, norm_coefficient: 0.01 }) },
  { title: 'onnx_momentum › standard, T from 0', spec: { type: 'onnx_momentum', alpha: 0.9, beta: 0.1, mode: 'standard', norm_coefficient: 0.01 }, ref: (_n, _s, p, g, s, t, lr) => R.onnxMomentum(p, g, s as never, t, lr, { alpha: 0.9, beta: 0.1, mode: 'standard', norm_coefficient: 0.01 }), opts: { stepInput: (k) => k } },
  { title: 'onnx_momentum › nesterov', spec: { type: 'onnx_momentum', alpha: 0.9, beta: 1, mode: 'nesterov', norm_coefficient: 0 }, ref: (_n, _s, p, g, s, t, lr) => R.onnxMomentum(p, g, s as never, t, lr, { alpha: 0.9, beta: 1, mode: 'nesterov', norm_coefficient: 0 }), opts: { stepInput: (k) => k } },
  { title: 'sgd › plain', spec: { type: 'sgd' }, ref: (_n, _s, p, g, s, t, lr) => R.torchSgd(p, g, s as never, t, lr, { momentum: 0, dampening: 0, weight_decay: 0, nesterov: false, maximize: false }) },
  { title: 'sgd › momentum, nesterov, weight decay', spec: { type: 'sgd', momentum: 0.9, nesterov: true, weight_decay: 0.01 }, ref: (_n, _s, p, g, s, t, lr) => R.torchSgd(p, g, s as never, t, lr, { momentum: 0.9, dampening: 0, weight_decay: 0.01, nesterov: true, maximize: false }) },
  { title: 'sgd › dampening, maximize', spec: { type: 'sgd', momentum: 0.5, dampening: 0.3, maximize: true }, ref: (_n, _s, p, g, s, t, lr) => R.torchSgd(p, g, s as never, t, lr, { momentum: 0.5, dampening: 0.3, weight_decay: 0, nesterov: false, maximize: true }) },
  { title: 'adam_weight_decay › constant lr, all decay', spec: { type: 'adam_weight_decay', learning_rate: 0.01, weight_decay_rate: 0.1 }, ref: keras({ weight_decay_rate: 0.1 }, 0.01) },
  {
    title: 'adam_weight_decay › include beats exclude, amsgrad',
    spec: { type: 'adam_weight_decay', learning_rate: 0.02, weight_decay_rate: 0.05, amsgrad: true, exclude_from_weight_decay: ['bias', 'norm'], include_in_weight_decay: ['^norm\\.w'] },
    ref: keras({ weight_decay_rate: 0.05, amsgrad: true }, 0.02, (n) => n === 'norm.weight' || !/bias|norm/.test(n)),
    opts: { params: [{ name: 'norm.weight', shape: [5] }, { name: 'norm.bias', shape: [5] }, { name: 'fc.bias', shape: [3] }, { name: 'fc.weight', shape: [4, 3] }] },
  },
  {
    title: 'adam_weight_decay › clipnorm per tensor',
    spec: { type: 'adam_weight_decay', learning_rate: 0.01, clipnorm: 0.5, epsilon: 1e-8 },
    ref: keras({ epsilon: 1e-8 }, 0.01),
    opts: { refGrads: (gs) => gs.map((g) => R.kerasClipNorm(g, 0.5)) },
  },
  {
    title: 'adam_weight_decay › global_clipnorm',
    spec: { type: 'adam_weight_decay', learning_rate: 0.01, global_clipnorm: 0.7, weight_decay_rate: 0.01 },
    ref: keras({ weight_decay_rate: 0.01 }, 0.01),
    opts: { refGrads: (gs) => R.kerasGlobalClip(gs, 0.7).grads },
  },
  {
    title: 'adamw_torch › maxGradNorm (Trainer clip_grad_norm_)',
    spec: { type: 'adamw_torch' },
    ref: torch({}),
    opts: { refGrads: (gs) => R.torchClipGradNorm(gs, 0.3).grads, build: { maxGradNorm: 0.3 } },
  },
  {
    title: 'adamw › maxGradNorm and a no-decay parameter group',
    spec: { type: 'adamw', weight_decay: 0.1 },
    ref: (n, s, p, g, st, t, lr) => hf({ weight_decay: n === 'fc.bias' ? 0 : 0.1 })(n, s, p, g, st, t, lr),
    opts: { refGrads: (gs) => R.torchClipGradNorm(gs, 1.0).grads, build: { maxGradNorm: 1.0, noWeightDecay: ['fc.bias'] }, params: [{ name: 'fc.weight', shape: [4, 3] }, { name: 'fc.bias', shape: [3] }] },
  },
];

for (const row of rows) {
  test(`optim reference › ${row.title} › graph within tolerance of the float32 reference`, async (t) => {
    const { rtol, k } = row.opts?.rtol !== undefined ? { rtol: row.opts.rtol, k: row.opts.k! } : ADAM_TOL;
    const { worst, where } = await drive(row.spec, row.ref, { rtol, k, ...row.opts });
    t.true(worst <= 1, `worst error ratio ${worst} at ${where}`);
    // The margin is large: the graph differs from the reference by a few float32 ulps only.
    t.true(worst < 0.25, `worst error ratio ${worst} at ${where} (expected a few ulps)`);
  });
}
