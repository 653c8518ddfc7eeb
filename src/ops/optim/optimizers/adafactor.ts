/**
 * `adafactor`: transformers `Adafactor` (optimization.py; from fairseq), every option.
 *
 *     ℓ = (scale_parameter ? max(eps[1], RMS(p)) : 1) · (relative_step ? min(warmup_init ? 1e-6·t : 1e-2, 1/sqrt(t)) : lr)
 *     β2t = 1 − t^decay_rate;  u = g² + eps[0];  second moment factored over the last two dims for ≥ 2-D tensors
 *     u ← g/sqrt(V̂);  u ← u / max(1, RMS(u)/clip_threshold);  u ← ℓ·u
 *     beta1 set: m ← β1·m + (1 − β1)·u;  u ← m
 *     weight_decay ≠ 0: p ← p − weight_decay·ℓ·p;   p ← p − u
 *
 * Defaults: lr null, eps (1e-30, 1e-3), clip_threshold 1, decay_rate −0.8, beta1 null, weight_decay 0,
 * scale_parameter true, relative_step true, warmup_init false. State: `exp_avg` (beta1 set), `exp_avg_sq_row` +
 * `exp_avg_sq_col` (≥ 2-D) or `exp_avg_sq`. Extra output per parameter: `<param>.lr_used` = ℓ.
 * Chain: scaleByFactoredRms → clipByRms → scaleByAdafactorStepSize → [emaUpdates] → [decayWeights(before, ℓ)].
 */
import { chain } from '../chain.js';
import type { AdafactorSpec } from '../spec.js';
import { clipByRms } from '../transforms/clip-by-rms.js';
import { decayWeights } from '../transforms/decay-weights.js';
import { emaUpdates } from '../transforms/ema-updates.js';
import { scaleByAdafactorStepSize } from '../transforms/scale-by-adafactor-step-size.js';
import { scaleByFactoredRms } from '../transforms/scale-by-factored-rms.js';
import type { Transform } from '../types.js';
import { bool, check, checkKeys, num, numOrNull, pair, type OptimizerDef } from './def.js';

/** The `adafactor` definition (see the module comment). */
export const ADAFACTOR: OptimizerDef<AdafactorSpec> = {
  type: 'adafactor',
  resolve(spec) {
    checkKeys(spec, ['lr', 'eps', 'clip_threshold', 'decay_rate', 'beta1', 'weight_decay', 'scale_parameter', 'relative_step', 'warmup_init']);
    const lr = numOrNull(spec, 'lr', null);
    const relative = bool(spec, 'relative_step', true);
    const warmup = bool(spec, 'warmup_init', false);
    check(!(lr !== null && relative), 'adafactor', 'Cannot combine manual `lr` and `relative_step=True` options', 'drop lr, or set relative_step: false');
    check(!(warmup && !relative), 'adafactor', '`warmup_init=True` requires `relative_step=True`');
    return {
      type: 'adafactor', lr, eps: pair(spec, 'eps', [1e-30, 1e-3]), clip_threshold: num(spec, 'clip_threshold', 1),
      decay_rate: num(spec, 'decay_rate', -0.8), beta1: numOrNull(spec, 'beta1', null), weight_decay: num(spec, 'weight_decay', 0),
      scale_parameter: bool(spec, 'scale_parameter', true), relative_step: relative, warmup_init: warmup,
    };
  },
  transform(spec, opts) {
    const parts: Transform[] = [
      scaleByFactoredRms({ decay_rate: spec.decay_rate!, eps0: spec.eps![0] }),
      clipByRms({ clip_threshold: spec.clip_threshold! }),
      scaleByAdafactorStepSize({ relative_step: spec.relative_step!, warmup_init: spec.warmup_init!, scale_parameter: spec.scale_parameter!, eps1: spec.eps![1] }),
    ];
    if (spec.beta1 !== null && spec.beta1 !== undefined) parts.push(emaUpdates({ beta1: spec.beta1, slot_name: 'exp_avg' }));
    if (spec.weight_decay !== 0) parts.push(decayWeights({ rate: spec.weight_decay!, when: 'before', times: 'step_size', precision: 'float32', select: { exclude_names: opts.noWeightDecay } }));
    return chain(...parts);
  },
  stepName: 'step',
  lrName: 'lr',
  lrSource: (spec) => (spec.relative_step ? 'none' : 'input'),
  precision: 'float32',
  lrOutput: false,
  updateSignal: false,
  clipStyle: 'torch',
  flatUnsupported: () => 'Adafactor factors and clips each tensor by its own shape and RMS',
};
