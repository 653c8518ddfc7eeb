/**
 * `onnx_adagrad`: ONNX `ai.onnx.preview.training::Adagrad` (opset 1) as standard ops (onnx `op_adagrad.py`).
 *
 *     r = R / (1 + T·decay_factor);  ĝ = norm_coefficient·X + G;  H ← H + ĝ²;  X ← X − r·ĝ/(sqrt(H) + ε)
 *
 * Inputs `R` (float [1]) and `T` (int64 [1], the op's update count). Defaults: decay_factor 0, epsilon 0,
 * norm_coefficient 0. State: `H` (starts at 0).
 */
import { chain } from '../chain.js';
import type { OnnxAdagradSpec } from '../spec.js';
import { addDecayedWeights } from '../transforms/add-decayed-weights.js';
import { scaleByAdagrad } from '../transforms/scale-by-adagrad.js';
import { scaleByLr } from '../transforms/scale-by-lr.js';
import { checkKeys, num, ONNX_PREVIEW_INTERFACE, type OptimizerDef } from './def.js';

/** The `onnx_adagrad` definition (see the module comment). */
export const ONNX_ADAGRAD: OptimizerDef<OnnxAdagradSpec> = {
  type: 'onnx_adagrad',
  resolve(spec) {
    checkKeys(spec, ['decay_factor', 'epsilon', 'norm_coefficient']);
    return { type: 'onnx_adagrad', decay_factor: num(spec, 'decay_factor', 0), epsilon: num(spec, 'epsilon', 0), norm_coefficient: num(spec, 'norm_coefficient', 0) };
  },
  transform(spec) {
    return chain(
      addDecayedWeights({ rate: spec.norm_coefficient! }),
      scaleByAdagrad({ eps: spec.epsilon!, slot_name: 'H' }),
      scaleByLr({ precision: 'float64', decay_factor: Math.fround(spec.decay_factor!) }),
    );
  },
  ...ONNX_PREVIEW_INTERFACE,
};
