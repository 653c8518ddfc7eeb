/**
 * `ort_adamw`: ONNX Runtime `com.microsoft::AdamWOptimizer` (opset 1) rebuilt from standard ops
 * (orttraining `training_ops/cpu/optimizer/adamw/adamw.cc`). Float32 throughout.
 *
 *     ac = 1 − float(α^step), bc = 1 − float(β^step)   (correct_bias = 1; else ac = bc = 1)
 *     mode 0 (torch):  p ← p − p·lr·wd;  m ← α·m + (1 − α)·g;  v ← β·v + (1 − β)·g²;  p ← p − lr·m/(ac·(sqrt(v/bc) + ε))
 *     mode 1 (HF):     same m, v;  p ← p − lr·(sqrt(bc)/ac)·m/(sqrt(v) + ε);  p ← p − lr·wd·p
 *
 * `step` is fed verbatim as the op's step input (the ORT training API feeds its counter + 1, i.e. the 1-based
 * count). The graph takes `update_signal` (bool [1]): false leaves params and state unchanged (an If node skips
 * the update), and outputs `updated_flag` (bool [1]). Defaults: alpha 0.9, beta 0.999, epsilon 1e-8,
 * weight_decay 1e-2 (schema), adam_mode 0, correct_bias 1 (mode 0 refuses 0). State: `exp_avg` (momentum0),
 * `exp_avg_sq` (momentum1).
 */
import { chain } from '../chain.js';
import type { OrtAdamWSpec } from '../spec.js';
import { decayWeights } from '../transforms/decay-weights.js';
import { scaleByAdam } from '../transforms/scale-by-adam.js';
import { scaleByLr } from '../transforms/scale-by-lr.js';
import { check, checkKeys, num, TORCH_INTERFACE, type OptimizerDef } from './def.js';

/**
 * An int attribute (`adam_mode`, `correct_bias`): a number, or a boolean as Python writes it — `onnx.helper`
 * stores `correct_bias=True` as the INT attribute 1, so true/false are 1/0.
 */
function intAttr(spec: OrtAdamWSpec, key: 'adam_mode' | 'correct_bias', dflt: number): number {
  const v = (spec as unknown as Record<string, unknown>)[key];
  if (typeof v === 'boolean') return v ? 1 : 0;
  return num(spec, key, dflt);
}

/** The `ort_adamw` definition (see the module comment). */
export const ORT_ADAMW: OptimizerDef<OrtAdamWSpec> = {
  type: 'ort_adamw',
  resolve(spec) {
    checkKeys(spec, ['alpha', 'beta', 'epsilon', 'weight_decay', 'adam_mode', 'correct_bias']);
    const mode = intAttr(spec, 'adam_mode', 0);
    const cb = intAttr(spec, 'correct_bias', 1);
    check(mode === 0 || mode === 1, 'ort_adamw', `The value of adam_mode is invalid: ${mode}`, 'use 0 (torch) or 1 (transformers)');
    check(cb === 0 || cb === 1, 'ort_adamw', `The value of correct_bias is invalid: ${cb}`, 'use 0 or 1');
    check(!(mode === 0 && cb === 0), 'ort_adamw', 'The correct_bias should be 1 for adam_mode = 0.');
    return { type: 'ort_adamw', alpha: num(spec, 'alpha', 0.9), beta: num(spec, 'beta', 0.999), epsilon: num(spec, 'epsilon', 1e-8),
      weight_decay: num(spec, 'weight_decay', 1e-2), adam_mode: mode as 0 | 1, correct_bias: cb as 0 | 1 };
  },
  transform(spec, opts) {
    const adam = (placement: 'root' | 'corrected') => scaleByAdam({
      b1: spec.alpha!, b2: spec.beta!, eps: spec.epsilon!, eps_placement: placement, bias_correction: spec.correct_bias ? 'always' : 'never',
      amsgrad: false, moment_form: 'ema', hyper: 'float32', step_math: 'float32', slot_names: { m: 'exp_avg', v: 'exp_avg_sq', vmax: 'max_exp_avg_sq' },
    });
    const decay = (when: 'before' | 'after') => decayWeights({ rate: spec.weight_decay!, when, times: 'lr', precision: 'float32', select: { exclude_names: opts.noWeightDecay } });
    if (spec.adam_mode === 0) return chain(decay('before'), adam('corrected'), scaleByLr({ precision: 'float32' }));
    return chain(adam('root'), scaleByLr({ precision: 'float32' }), decay('after'));
  },
  ...TORCH_INTERFACE,
  precision: 'float32',
  updateSignal: true,
};
