/**
 * `trace`: heavy-ball momentum (optax `trace`), in the two upstream flavours.
 *
 * - `form: 'torch'` — torch.optim.SGD: on the first step (t = 1) `buf = ĝ`, afterwards
 *   `buf ← momentum·buf + (1 − dampening)·ĝ`; the update direction is `buf`, or `ĝ + momentum·buf` with
 *   `nesterov`. The first-step rule is two scalar Where's on the coefficients (state starts at 0).
 * - `form: 'onnx'` — ai.onnx.preview.training Momentum: `V ← alpha·V + beta′·ĝ` with `beta′ = beta` when T > 0
 *   and 1 at T = 0; direction `V` (`mode: "standard"`) or `ĝ + alpha·V` (`"nesterov"`).
 * The learning rate is applied by `scaleByLr`. Upstream: torch `optim/sgd.py` `_single_tensor_sgd`; onnx
 * `op_momentum.py`.
 */
import type { GraphBuilder } from '../../../builder/index.js';
import type { ParamInfo, SlotSpec, Transform, UpdateArgs, UpdateResult } from '../types.js';
import { asValue, mulTensor, ScalarMath, tensorCoef } from '../scalar.js';
import { descent } from '../update.js';

/** Spec of {@link trace}; see the module comment. */
export interface TraceSpec {
  readonly form: 'torch' | 'onnx';
  /** torch `momentum` / ONNX `alpha`: the decay of the buffer. */
  readonly decay: number;
  /** torch `1 − dampening` / ONNX `beta`: the weight of the new gradient. */
  readonly gain: number;
  readonly nesterov: boolean;
  readonly slot_name: string;
}

/** Momentum; see the module comment. */
export function trace(spec: TraceSpec): Transform<TraceSpec> {
  return {
    name: 'trace',
    spec,
    slots: (p: ParamInfo): readonly SlotSpec[] => [{ name: spec.slot_name, shape: p.shape, init: 0 }],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const { ctx } = u;
      const buf = u.slots[spec.slot_name];
      const g = descent(b, u.update);
      const { a, c } = ctx.shared(`trace|${spec.form}|${spec.decay}|${spec.gain}`, (sb) => {
        const S = new ScalarMath(sb, 'float32');
        if (spec.form === 'torch') {
          const first = sb.op.Equal(ctx.step, sb.i64(1));
          return { a: S.where(first, 0, spec.decay), c: spec.gain === 1 ? 1 : S.where(first, 1, spec.gain) };
        }
        const positive = sb.op.Greater(ctx.step, sb.i64(0));
        return { a: Math.fround(spec.decay), c: spec.gain === 1 ? 1 : S.where(positive, spec.gain, 1) };
      });
      const kept = mulTensor(b, buf, a);
      const buf1 = b.op.Add(kept, mulTensor(b, g, c));
      const dir = spec.nesterov ? b.op.Add(g, b.op.Mul(buf1, asValue(b, tensorCoef(b, spec.decay)))) : buf1;
      return { update: { ...u.update, dir, scale: 1 }, slots: { [spec.slot_name]: buf1 } };
    },
  };
}
