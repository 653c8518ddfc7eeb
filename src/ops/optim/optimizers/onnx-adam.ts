/**
 * `onnx_adam`: ONNX `ai.onnx.preview.training::Adam` (opset 1) as standard ops (onnx `op_adam.py`, Operators.md).
 *
 *     ĝ = norm_coefficient·X + G;  V ← α·V + (1 − α)·ĝ;  H ← β·H + (1 − β)·ĝ²
 *     R̃ = T > 0 ? R·sqrt(1 − β^T)/(1 − α^T) : R       (float64, as numpy promotes)
 *     X ← X − R̃·V/(sqrt(H) + ε);  X ← (1 − norm_coefficient_post)·X
 *
 * Inputs `R` (float [1]) and `T` (int64 [1]) are the op's: pass T = the 1-based update count (T = 0 silently
 * disables the bias correction). Defaults: alpha 0.9, beta 0.999, epsilon 1e-6, norm_coefficient 0,
 * norm_coefficient_post 0 (attributes are float32). State: `V`, `H`.
 */
import { chain } from '../chain.js';
import type { OnnxAdamSpec } from '../spec.js';
import { addDecayedWeights } from '../transforms/add-decayed-weights.js';
import { decayWeights } from '../transforms/decay-weights.js';
import { scaleByAdam } from '../transforms/scale-by-adam.js';
import { scaleByLr } from '../transforms/scale-by-lr.js';
import { checkKeys, num, ONNX_PREVIEW_INTERFACE, type OptimizerDef } from './def.js';

/** The `onnx_adam` definition (see the module comment). */
export const ONNX_ADAM: OptimizerDef<OnnxAdamSpec> = {
  type: 'onnx_adam',
  resolve(spec) {
    checkKeys(spec, ['alpha', 'beta', 'epsilon', 'norm_coefficient', 'norm_coefficient_post']);
    return { type: 'onnx_adam', alpha: num(spec, 'alpha', 0.9), beta: num(spec, 'beta', 0.999), epsilon: num(spec, 'epsilon', 1e-6),
      norm_coefficient: num(spec, 'norm_coefficient', 0), norm_coefficient_post: num(spec, 'norm_coefficient_post', 0) };
  },
  transform(spec) {
    return chain(
      addDecayedWeights({ rate: spec.norm_coefficient! }),
      scaleByAdam({
        b1: spec.alpha!, b2: spec.beta!, eps: spec.epsilon!, eps_placement: 'root', bias_correction: 'if_step_positive', amsgrad: false, moment_form: 'onnx', hyper: 'float32', step_math: 'float64', slot_names: { m: 'V', v: 'H', vmax: 'H_max' },
      }),
      scaleByLr({ precision: 'float64' }),
      decayWeights({ rate: Math.fround(spec.norm_coefficient_post!), when: 'after', times: 'none', precision: 'float64' }),
    );
  },
  ...ONNX_PREVIEW_INTERFACE,
};
