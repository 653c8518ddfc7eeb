/**
 * `clipByNorm`: Keras `clipnorm` — each gradient tensor on its own, `g ← g·c / max(‖g‖, c)` (TF
 * `clip_ops.clip_by_norm`), as a scalar factor folded into the update's scale (float32).
 */
import type { GraphBuilder } from '../../../builder/index.js';
import { OnnxTrainError } from '../../../errors.js';
import { tensorCoef } from '../scalar.js';
import type { Transform, UpdateArgs, UpdateResult } from '../types.js';

/** Spec of {@link clipByNorm}: Keras `clipnorm` c (≥ 0). */
export interface ClipByNormSpec {
  readonly clipnorm: number;
}

/** Per-tensor norm clipping; see the module comment. */
export function clipByNorm(spec: ClipByNormSpec): Transform<ClipByNormSpec> {
  return {
    name: 'clip_by_norm',
    spec,
    slots: () => [],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      if (u.param.segments) {
        throw new OnnxTrainError('BAD_ARGUMENT', 'per-tensor clipnorm cannot run on a multi-tensor (flat) buffer', 'use global_clipnorm, or build without multiTensor');
      }
      const c = Math.fround(spec.clipnorm);
      let norm = b.op.Sqrt(b.op.ReduceSumSquare(u.update.dir, undefined, 0));
      const s = tensorCoef(b, u.update.scale);
      if (s !== 1) norm = b.op.Mul(norm, typeof s === 'number' ? b.f32(Math.abs(s)) : b.op.Abs(s));
      const factor = b.op.Div(b.f32(c), b.op.Max(norm, b.f32(c)));
      const scale = u.ctx.smath(b, 'float32', 'clipnorm', [u.update.scale, factor], (S) => S.mul(u.update.scale, factor));
      return { update: { ...u.update, scale } };
    },
  };
}
