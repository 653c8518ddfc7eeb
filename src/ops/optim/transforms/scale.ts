/**
 * `scale(k)`: multiplies the update by a constant (optax `scale`). `scale(-1)` is torch's `maximize=True`
 * (`grad = -grad`): it only flips the sign of the affine scale, which later transforms fold into their constants.
 */
import type { GraphBuilder } from '../../../builder/index.js';
import type { Transform, UpdateArgs, UpdateResult } from '../types.js';

/** Spec of {@link scale}: the constant factor. */
export interface ScaleSpec {
  readonly factor: number;
}

/** `scale ← scale · factor`. */
export function scale(factor: number): Transform<ScaleSpec> {
  return {
    name: 'scale',
    spec: { factor },
    slots: () => [],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const s = u.ctx.smath(b, 'float64', 'scale', [u.update.scale, factor], (S) => S.mul(u.update.scale, factor));
      return { update: { ...u.update, scale: s } };
    },
  };
}
