/**
 * `scaleByAdagrad`: ai.onnx.preview.training Adagrad's preconditioner, `H ← H + ĝ²`,
 * `dir = ĝ / (sqrt(H) + ε)` (onnx `op_adagrad.py`; the learning rate with its inverse-time decay is
 * `scaleByLr({decay_factor})`). State `H` starts at 0.
 */
import type { GraphBuilder } from '../../../builder/index.js';
import type { ParamInfo, SlotSpec, Transform, UpdateArgs, UpdateResult } from '../types.js';
import { descent } from '../update.js';

/** Spec of {@link scaleByAdagrad}: ε (ONNX default 0) and the state name. */
export interface ScaleByAdagradSpec {
  readonly eps: number;
  readonly slot_name: string;
}

/** Adagrad; see the module comment. */
export function scaleByAdagrad(spec: ScaleByAdagradSpec): Transform<ScaleByAdagradSpec> {
  return {
    name: 'scale_by_adagrad',
    spec,
    slots: (p: ParamInfo): readonly SlotSpec[] => [{ name: spec.slot_name, shape: p.shape, init: 0 }],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const g = descent(b, u.update);
      const h = b.op.Add(u.slots[spec.slot_name], b.op.Mul(g, g));
      const d = b.op.Add(b.op.Sqrt(h), Math.fround(spec.eps));
      return { update: { ...u.update, dir: b.op.Div(g, d), scale: 1 }, slots: { [spec.slot_name]: h } };
    },
  };
}
