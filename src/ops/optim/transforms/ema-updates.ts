/**
 * `emaUpdates`: Adafactor's first moment — an exponential moving average of the already lr-scaled, clipped
 * update, `m ← β1·m + (1 − β1)·(scale·dir)`, which then becomes the update (`dir = m`, scale 1). No bias
 * correction (the first step is damped by 1 − β1). β1 = 0 still keeps the state (upstream allocates it whenever
 * `beta1 is not None`). Upstream: transformers `Adafactor.step` (`exp_avg.mul_(β1).add_(update, alpha=1 − β1)`).
 */
import type { GraphBuilder } from '../../../builder/index.js';
import { mulTensor } from '../scalar.js';
import type { ParamInfo, SlotSpec, Transform, UpdateArgs, UpdateResult } from '../types.js';

/** Spec of {@link emaUpdates}: Adafactor `beta1` and the state name (`exp_avg`). */
export interface EmaUpdatesSpec {
  readonly beta1: number;
  readonly slot_name: string;
}

/** EMA of updates; see the module comment. */
export function emaUpdates(spec: EmaUpdatesSpec): Transform<EmaUpdatesSpec> {
  return {
    name: 'ema_updates',
    spec,
    slots: (p: ParamInfo): readonly SlotSpec[] => [{ name: spec.slot_name, shape: p.shape, init: 0 }],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const gain = Math.fround(1 - spec.beta1);
      const k = u.ctx.smath(b, 'float32', 'ema_gain', [gain, u.update.scale], (S) => S.mul(gain, u.update.scale));
      const m = b.op.Add(b.op.Mul(u.slots[spec.slot_name], Math.fround(spec.beta1)), mulTensor(b, u.update.dir, k));
      return { update: { ...u.update, dir: m, scale: 1 }, slots: { [spec.slot_name]: m } };
    },
  };
}
