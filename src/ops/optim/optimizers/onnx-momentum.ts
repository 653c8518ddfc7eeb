/**
 * `onnx_momentum`: ONNX `ai.onnx.preview.training::Momentum` (opset 1) as standard ops (onnx `op_momentum.py`).
 *
 *     ĝ = norm_coefficient·X + G;  β′ = T > 0 ? beta : 1;  V ← alpha·V + β′·ĝ
 *     standard: X ← X − R·V;   nesterov: X ← X − R·(ĝ + alpha·V)
 *
 * Inputs `R` (float [1]) and `T` (int64 [1]; 0 on the first iteration). Every attribute is required upstream
 * (alpha, beta, mode, norm_coefficient). State: `V`.
 */
import { chain } from '../chain.js';
import type { OnnxMomentumSpec } from '../spec.js';
import { addDecayedWeights } from '../transforms/add-decayed-weights.js';
import { scaleByLr } from '../transforms/scale-by-lr.js';
import { trace } from '../transforms/trace.js';
import { check, checkKeys, num, ONNX_PREVIEW_INTERFACE, type OptimizerDef } from './def.js';

/** The `onnx_momentum` definition (see the module comment). */
export const ONNX_MOMENTUM: OptimizerDef<OnnxMomentumSpec> = {
  type: 'onnx_momentum',
  resolve(spec) {
    checkKeys(spec, ['alpha', 'beta', 'mode', 'norm_coefficient']);
    for (const k of ['alpha', 'beta', 'mode', 'norm_coefficient'] as const) {
      check(spec[k] !== undefined, 'onnx_momentum', `attribute "${k}" is required`, 'Momentum has no attribute defaults');
    }
    check(spec.mode === 'standard' || spec.mode === 'nesterov', 'onnx_momentum', `mode must be "standard" or "nesterov", got ${JSON.stringify(spec.mode)}`);
    return { type: 'onnx_momentum', alpha: num(spec, 'alpha', 0), beta: num(spec, 'beta', 0), mode: spec.mode, norm_coefficient: num(spec, 'norm_coefficient', 0) };
  },
  transform(spec) {
    return chain(
      addDecayedWeights({ rate: spec.norm_coefficient }),
      trace({ form: 'onnx', decay: spec.alpha, gain: spec.beta, nesterov: spec.mode === 'nesterov', slot_name: 'V' }),
      scaleByLr({ precision: 'float32' }),
    );
  },
  ...ONNX_PREVIEW_INTERFACE,
  precision: 'float32',
};
