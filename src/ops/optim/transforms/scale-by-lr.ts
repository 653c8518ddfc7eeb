/**
 * `scaleByLr`: multiplies the update by the learning rate of this step (the graph's `lr` input, a constant, or an
 * in-graph schedule — see build.ts), as optax's `scale_by_learning_rate`, in the optimizer's hyper-parameter
 * precision (`float64` for torch / transformers, where `step_size = lr · …` is Python arithmetic; `float32` for
 * Keras / ORT). With `decay_factor` it is ONNX Adagrad's inverse-time decay `lr / (1 + t·decay_factor)`
 * (ai.onnx.preview.training Adagrad, onnx `op_adagrad.py`), t being the op's `T` input.
 */
import type { GraphBuilder } from '../../../builder/index.js';
import { ScalarMath, type Precision } from '../scalar.js';
import type { Transform, UpdateArgs, UpdateResult } from '../types.js';

/** Spec of {@link scaleByLr}. */
export interface ScaleByLrSpec {
  readonly precision: Precision;
  /** ONNX Adagrad `decay_factor` (lr / (1 + T·decay_factor)); absent or 0 = no decay. */
  readonly decay_factor?: number;
}

/** `scale ← scale · lr` (see the module comment). */
export function scaleByLr(spec: ScaleByLrSpec): Transform<ScaleByLrSpec> {
  return {
    name: 'scale_by_lr',
    spec,
    slots: () => [],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const { ctx } = u;
      let lr = ctx.lr();
      if (spec.decay_factor) {
        const df = spec.decay_factor;
        lr = ctx.shared(`inverse_time_decay|${df}|${spec.precision}`, (sb) => {
          const S = new ScalarMath(sb, spec.precision);
          return S.v(S.div(lr, S.add(1, S.mul(S.fromInt(ctx.step), df))));
        });
      }
      const scale = ctx.smath(b, spec.precision, 'scale_by_lr', [u.update.scale, lr], (S) => S.mul(u.update.scale, lr));
      return { update: { ...u.update, scale } };
    },
  };
}
