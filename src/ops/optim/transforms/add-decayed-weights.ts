/**
 * `addDecayedWeights`: coupled L2 regularisation, the gradient becomes `ĝ = g + rate·p` before any moment sees
 * it (optax `add_decayed_weights`; ONNX preview-training Adam / Adagrad / Momentum `norm_coefficient`:
 * `norm_coefficient·X + G`; torch SGD `weight_decay`: `grad.add(param, alpha=weight_decay)`). Materialises ĝ
 * (two tensor passes), so it is emitted only for a non-zero rate.
 */
import type { GraphBuilder } from '../../../builder/index.js';
import type { Transform, UpdateArgs, UpdateResult } from '../types.js';
import { descent } from '../update.js';

/** Spec of {@link addDecayedWeights}: the coupled L2 rate (0 = no-op). */
export interface AddDecayedWeightsSpec {
  readonly rate: number;
}

/** `ĝ = rate·p + g`; see the module comment. */
export function addDecayedWeights(spec: AddDecayedWeightsSpec): Transform<AddDecayedWeightsSpec> {
  return {
    name: 'add_decayed_weights',
    spec,
    slots: () => [],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      if (spec.rate === 0) return { update: u.update };
      const dir = b.op.Add(b.op.Mul(u.p, Math.fround(spec.rate)), descent(b, u.update));
      return { update: { ...u.update, dir, scale: 1 } };
    },
  };
}
