/**
 * `clipByGlobalNorm`: scales every gradient by one coefficient computed from the norm of all of them, in float32.
 *
 * - `style: 'torch'` — transformers Trainer `max_grad_norm` via `torch.nn.utils.clip_grad_norm_` (norm_type 2):
 *   `total = ‖(‖g_1‖, …, ‖g_n‖)‖`, `coef = min(max_norm / (total + 1e-6), 1)`, every `g ← g·coef`.
 * - `style: 'keras'` — Keras `global_clipnorm` via `tf.clip_by_global_norm`: `total = sqrt(Σ‖g_i‖²)`,
 *   `coef = c·min(1/total, 1/c) + (total − total)` (NaN when the norm is not finite).
 * Either way the graph output `grad_norm` (shape [1]) is the norm before clipping (what the Trainer logs). The
 * coefficient folds into the update's scale: no tensor pass besides one sum of squares per gradient.
 */
import type { GraphBuilder, Value } from '../../../builder/index.js';
import type { StepContext } from '../context.js';
import type { GlobalArgs, GlobalResult, Transform, UpdateArgs, UpdateResult } from '../types.js';

/** Spec of {@link clipByGlobalNorm}: the max norm and whose semantics (torch or Keras). */
export interface ClipByGlobalNormSpec {
  readonly max_norm: number;
  readonly style: 'torch' | 'keras';
}

const KEY = 'clip_by_global_norm.coef';

/** Global-norm gradient clipping; see the module comment. */
export function clipByGlobalNorm(spec: ClipByGlobalNormSpec): Transform<ClipByGlobalNormSpec> {
  return {
    name: 'clip_by_global_norm',
    spec,
    slots: () => [],
    prepare(b: GraphBuilder, all: readonly GlobalArgs[], ctx: StepContext): GlobalResult {
      const squares = all.map((a) => b.op.ReduceSumSquare(a.g, undefined, 0));
      const sum = squares.length === 1 ? squares[0] : b.op.Sum(...squares);
      const total = b.op.Reshape(b.op.Sqrt(sum), [1]);
      const c = Math.fround(spec.max_norm);
      let coef: Value;
      if (spec.style === 'torch') {
        coef = b.op.Min(b.op.Div(b.f32(c), b.op.Add(total, b.f32(Math.fround(1e-6)))), b.f32(1));
      } else {
        const scale = b.op.Mul(b.f32(c), b.op.Min(b.op.Reciprocal(total), b.f32(Math.fround(1 / c))));
        coef = b.op.Add(scale, b.op.Sub(total, total));
      }
      ctx.globals.set(KEY, ctx.markShared(coef));
      return { extras: { grad_norm: total } };
    },
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const coef = u.ctx.globals.get(KEY)!;
      const scale = u.ctx.smath(b, 'float32', 'clip', [u.update.scale, coef], (S) => S.mul(u.update.scale, coef));
      return { update: { ...u.update, scale } };
    },
  };
}
