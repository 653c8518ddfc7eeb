/**
 * `scaleByFactoredRms`: Adafactor's second-moment preconditioner (transformers `Adafactor.step`, from fairseq).
 *
 *     β2t = 1 − t^decay_rate                        (0 at t = 1: the first step uses only the new gradient)
 *     u   = g² + eps0                               (eps0 enters before any averaging)
 *     ≥ 2-D (factored over the last two dims, leading dims batched):
 *       row ← β2t·row + (1 − β2t)·mean_last(u)      row: shape[:-1]   (slot `exp_avg_sq_row`)
 *       col ← β2t·col + (1 − β2t)·mean_2nd_last(u)  col: shape[:-2] + shape[-1:]   (slot `exp_avg_sq_col`)
 *       dir = (rsqrt(row / mean_last(row))[…, :, None] · rsqrt(col)[…, None, :]) · g
 *     0-D / 1-D:
 *       v ← β2t·v + (1 − β2t)·u                     (slot `exp_avg_sq`)
 *       dir = rsqrt(v) · g
 *
 * `mean(g² + eps0)` is computed as `ReduceSumSquare(g)/n + eps0` (no full-size temporary; equal up to rounding).
 * β2t is float64 (Python) and rounded to float32 where it meets a tensor. An incoming scale other than 1 is
 * materialised first (the preconditioner is not homogeneous in g).
 */
import type { GraphBuilder, Value } from '../../../builder/index.js';
import { OnnxTrainError } from '../../../errors.js';
import { mulTensor, ScalarMath } from '../scalar.js';
import type { Coef, ParamInfo, SlotSpec, Transform, UpdateArgs, UpdateResult } from '../types.js';
import { descent } from '../update.js';

/** Spec of {@link scaleByFactoredRms}: Adafactor `decay_rate` (default −0.8) and `eps[0]` (default 1e-30). */
export interface ScaleByFactoredRmsSpec {
  readonly decay_rate: number;
  readonly eps0: number;
}

/** True when Adafactor factors the second moment of a tensor of this shape (≥ 2 dimensions). */
export function isFactored(shape: readonly number[]): boolean {
  return shape.length >= 2;
}

/** Adafactor's preconditioner; see the module comment. */
export function scaleByFactoredRms(spec: ScaleByFactoredRmsSpec): Transform<ScaleByFactoredRmsSpec> {
  return {
    name: 'scale_by_factored_rms',
    spec,
    slots(p: ParamInfo): readonly SlotSpec[] {
      const s = p.shape;
      if (!isFactored(s)) return [{ name: 'exp_avg_sq', shape: s, init: 0 }];
      return [
        { name: 'exp_avg_sq_row', shape: s.slice(0, -1), init: 0 },
        { name: 'exp_avg_sq_col', shape: [...s.slice(0, -2), s[s.length - 1]], init: 0 },
      ];
    },
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const { ctx } = u;
      if (u.param.segments) {
        throw new OnnxTrainError('BAD_ARGUMENT', 'Adafactor cannot run on a multi-tensor (flat) buffer: it factors each tensor by its own shape', 'build Adafactor without multiTensor');
      }
      const g = descent(b, u.update);
      const { decay, gain } = ctx.shared(`adafactor_beta2t|${spec.decay_rate}`, (sb) => {
        const S = new ScalarMath(sb, 'float64');
        const beta2t = S.sub(1, S.pow(S.fromInt(ctx.step), spec.decay_rate));
        const oneMinus = S.sub(1, beta2t);
        const f32 = (c: Coef) => sb.op.Cast(S.v(c), 1 /* FLOAT */);
        return { decay: f32(beta2t), gain: f32(oneMinus) };
      });
      const ema = (state: Value, mean: Value) => b.op.Add(b.op.Mul(state, decay), mulTensor(b, mean, gain));
      const shape = u.param.shape;
      const eps0 = Math.fround(spec.eps0);
      if (!isFactored(shape)) {
        const v = ema(u.slots.exp_avg_sq, b.op.Add(b.op.Mul(g, g), eps0));
        const dir = b.op.Mul(b.op.Reciprocal(b.op.Sqrt(v)), g);
        return { update: { ...u.update, dir, scale: 1 }, slots: { exp_avg_sq: v } };
      }
      const r = shape.length;
      const meanSq = (axis: number) => b.op.Add(b.op.Div(b.op.ReduceSumSquare(g, [axis], 0), Math.fround(shape[axis])), eps0);
      const row = ema(u.slots.exp_avg_sq_row, meanSq(r - 1));
      const col = ema(u.slots.exp_avg_sq_col, meanSq(r - 2));
      const rFactor = b.op.Unsqueeze(b.op.Reciprocal(b.op.Sqrt(b.op.Div(row, b.op.ReduceMean(row, [-1], 1)))), [-1]);
      const cFactor = b.op.Unsqueeze(b.op.Reciprocal(b.op.Sqrt(col)), [-2]);
      const dir = b.op.Mul(b.op.Mul(rFactor, cFactor), g);
      return { update: { ...u.update, dir, scale: 1 }, slots: { exp_avg_sq_row: row, exp_avg_sq_col: col } };
    },
  };
}
