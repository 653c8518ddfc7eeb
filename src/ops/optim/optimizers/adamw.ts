/**
 * `adamw`: transformers `AdamW` (optimization.py, the library's own, deprecated; = ORT adam_mode 1).
 *
 *     t ← t + 1;  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
 *     α = correct_bias ? lr·sqrt(1 − β2^t)/(1 − β1^t) : lr          (float64)
 *     p ← p − α·m/(sqrt(v) + eps)
 *     p ← p − lr·weight_decay·p     (only when weight_decay > 0; on the updated p, with the plain lr)
 *
 * Defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-6, weight_decay 0, correct_bias true. State: `exp_avg`,
 * `exp_avg_sq`. Chain: scaleByAdam(ε on the raw root) → scaleByLr → decayWeights(after).
 */
import { pyFloatRepr } from '../../schedules/py-format.js';
import { chain } from '../chain.js';
import type { AdamWSpec } from '../spec.js';
import { decayWeights } from '../transforms/decay-weights.js';
import { scaleByAdam } from '../transforms/scale-by-adam.js';
import { scaleByLr } from '../transforms/scale-by-lr.js';
import { bool, check, checkKeys, num, pair, TORCH_INTERFACE, type OptimizerDef } from './def.js';

/** The `adamw` definition (see the module comment). */
export const ADAMW: OptimizerDef<AdamWSpec> = {
  type: 'adamw',
  resolve(spec) {
    checkKeys(spec, ['lr', 'betas', 'eps', 'weight_decay', 'correct_bias', 'no_deprecation_warning']);
    const lr = num(spec, 'lr', 1e-3);
    const betas = pair(spec, 'betas', [0.9, 0.999]);
    const eps = num(spec, 'eps', 1e-6);
    check(lr >= 0, 'adamw', `Invalid learning rate: ${pyFloatRepr(lr)} - should be >= 0.0`);
    check(betas[0] >= 0 && betas[0] < 1, 'adamw', `Invalid beta parameter: ${pyFloatRepr(betas[0])} - should be in [0.0, 1.0)`);
    check(betas[1] >= 0 && betas[1] < 1, 'adamw', `Invalid beta parameter: ${pyFloatRepr(betas[1])} - should be in [0.0, 1.0)`);
    check(eps >= 0, 'adamw', `Invalid epsilon value: ${pyFloatRepr(eps)} - should be >= 0.0`);
    return { type: 'adamw', lr, betas, eps, weight_decay: num(spec, 'weight_decay', 0), correct_bias: bool(spec, 'correct_bias', true) };
  },
  transform(spec, opts) {
    const [b1, b2] = spec.betas!;
    return chain(
      scaleByAdam({
        b1, b2, eps: spec.eps!, eps_placement: 'root', bias_correction: spec.correct_bias ? 'always' : 'never', amsgrad: false, moment_form: 'ema', hyper: 'float64', step_math: 'float64', slot_names: { m: 'exp_avg', v: 'exp_avg_sq', vmax: 'max_exp_avg_sq' },
      }),
      scaleByLr({ precision: 'float64' }),
      decayWeights({ rate: spec.weight_decay! > 0 ? spec.weight_decay! : 0, when: 'after', times: 'lr', precision: 'float64', select: { exclude_names: opts.noWeightDecay } }),
    );
  },
  ...TORCH_INTERFACE,
};
