/**
 * `clipByRms`: Adafactor's update clipping, `u ← u / max(1, RMS(u) / clip_threshold)` with
 * `RMS(x) = ‖x‖₂ / sqrt(numel(x))` (transformers `Adafactor._rms`), float32. The divisor folds into the
 * update's scale (one sum-of-squares pass, no tensor division).
 */
import type { GraphBuilder, Value } from '../../../builder/index.js';
import { tensorCoef } from '../scalar.js';
import type { Transform, UpdateArgs, UpdateResult } from '../types.js';
import { numel } from '../types.js';

/** Spec of {@link clipByRms}: Adafactor `clip_threshold` (default 1). */
export interface ClipByRmsSpec {
  readonly clip_threshold: number;
}

/** `RMS(x)` as a float32 scalar value (shape []). */
export function emitRms(b: GraphBuilder, x: Value, shape: readonly number[]): Value {
  return b.op.Div(b.op.Sqrt(b.op.ReduceSumSquare(x, undefined, 0)), b.f32(Math.fround(Math.sqrt(numel(shape)))));
}

/** Adafactor's RMS clipping; see the module comment. */
export function clipByRms(spec: ClipByRmsSpec): Transform<ClipByRmsSpec> {
  return {
    name: 'clip_by_rms',
    spec,
    slots: () => [],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      let rms = emitRms(b, u.update.dir, u.param.shape);
      const s = tensorCoef(b, u.update.scale);
      if (s !== 1) rms = b.op.Mul(rms, typeof s === 'number' ? b.f32(Math.abs(s)) : b.op.Abs(s));
      const k = b.op.Max(b.op.Div(rms, b.f32(Math.fround(spec.clip_threshold))), b.f32(1));
      const scale = u.ctx.smath(b, 'float32', 'clip_by_rms', [u.update.scale, k], (S) => S.div(u.update.scale, k));
      return { update: { ...u.update, scale } };
    },
  };
}
