/**
 * `adamw_torch`: `torch.optim.AdamW` (`_single_tensor_adamw`; torch ≥ 2.6 `_single_tensor_adam` with decoupled
 * decay — same math; = ORT adam_mode 0 without amsgrad).
 *
 *     g ← −g if maximize;  p ← p·(1 − lr·weight_decay)        (first, on the pre-update p; skipped for wd = 0)
 *     m ← m + (1 − β1)(g − m);  v ← β2·v + (1 − β2)·g²;  amsgrad: v̂ ← max(v̂, v)
 *     p ← p − (lr/bc1)·m / (sqrt(v̂ or v)/sqrt(bc2) + eps),   bc1 = 1 − β1^t, bc2 = 1 − β2^t (float64)
 *
 * Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2, amsgrad false, maximize false. State:
 * `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` (amsgrad). Chain: [scale(−1)] → decayWeights(before) →
 * scaleByAdam(ε after the correction) → scaleByLr.
 */
import { pyFloatRepr } from '../../schedules/py-format.js';
import { chain } from '../chain.js';
import type { AdamWTorchSpec } from '../spec.js';
import { decayWeights } from '../transforms/decay-weights.js';
import { scale } from '../transforms/scale.js';
import { scaleByAdam } from '../transforms/scale-by-adam.js';
import { scaleByLr } from '../transforms/scale-by-lr.js';
import type { Transform } from '../types.js';
import { bool, check, checkKeys, num, pair, TORCH_INTERFACE, type OptimizerDef } from './def.js';

/** The `adamw_torch` definition (see the module comment). */
export const ADAMW_TORCH: OptimizerDef<AdamWTorchSpec> = {
  type: 'adamw_torch',
  resolve(spec) {
    checkKeys(spec, ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize']);
    const lr = num(spec, 'lr', 1e-3);
    const betas = pair(spec, 'betas', [0.9, 0.999]);
    const eps = num(spec, 'eps', 1e-8);
    const wd = num(spec, 'weight_decay', 1e-2);
    check(lr >= 0, 'adamw_torch', `Invalid learning rate: ${pyFloatRepr(lr)}`);
    check(eps >= 0, 'adamw_torch', `Invalid epsilon value: ${pyFloatRepr(eps)}`);
    check(betas[0] >= 0 && betas[0] < 1, 'adamw_torch', `Invalid beta parameter at index 0: ${pyFloatRepr(betas[0])}`);
    check(betas[1] >= 0 && betas[1] < 1, 'adamw_torch', `Invalid beta parameter at index 1: ${pyFloatRepr(betas[1])}`);
    check(wd >= 0, 'adamw_torch', `Invalid weight_decay value: ${pyFloatRepr(wd)}`);
    return { type: 'adamw_torch', lr, betas, eps, weight_decay: wd, amsgrad: bool(spec, 'amsgrad', false), maximize: bool(spec, 'maximize', false) };
  },
  transform(spec, opts) {
    const [b1, b2] = spec.betas!;
    const parts: Transform[] = [];
    if (spec.maximize) parts.push(scale(-1));
    parts.push(
      decayWeights({ rate: spec.weight_decay!, when: 'before', times: 'lr', precision: 'float64', select: { exclude_names: opts.noWeightDecay } }),
      scaleByAdam({
        b1, b2, eps: spec.eps!, eps_placement: 'corrected', bias_correction: 'always', amsgrad: spec.amsgrad!, moment_form: 'lerp', hyper: 'float64', step_math: 'float64', slot_names: { m: 'exp_avg', v: 'exp_avg_sq', vmax: 'max_exp_avg_sq' },
      }),
      scaleByLr({ precision: 'float64' }),
    );
    return chain(...parts);
  },
  ...TORCH_INTERFACE,
};
