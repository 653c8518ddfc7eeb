/**
 * `scaleByAdafactorStepSize`: Adafactor's step size ℓ (transformers `Adafactor._get_lr`), computed in-graph from
 * the step counter and the parameter, multiplied into the update and published as the var `step_size` (for the
 * weight decay) and as the per-parameter output `<param>.lr_used`.
 *
 *     ρ = relative_step ? min(warmup_init ? 1e-6·t : 1e-2, 1/sqrt(t)) : lr          (float64, Python)
 *     ℓ = scale_parameter ? max(eps1, RMS(p))·ρ : ρ                                   (RMS of p before the update)
 *
 * Rounding as upstream: when RMS(p) > eps1 the scale is the float32 tensor RMS and ℓ = float32(RMS·float32(ρ));
 * otherwise ℓ = eps1·ρ in float64, rounded once. relative_step ignores the external lr entirely.
 */
import type { GraphBuilder, Value } from '../../../builder/index.js';
import { DataType } from '../../../onnx/dtypes.js';
import { ScalarMath } from '../scalar.js';
import type { Coef, Transform, UpdateArgs, UpdateResult } from '../types.js';
import { emitRms } from './clip-by-rms.js';

/** Spec of {@link scaleByAdafactorStepSize}: the Adafactor options that shape ℓ (upstream defaults true, false, true, 1e-3). */
export interface AdafactorStepSizeSpec {
  readonly relative_step: boolean;
  readonly warmup_init: boolean;
  readonly scale_parameter: boolean;
  /** `eps[1]`: the floor of the parameter scale. */
  readonly eps1: number;
}

/** ρ of the spec as a float64 scalar (shared by all parameters). */
function relativeStep(u: UpdateArgs, spec: AdafactorStepSizeSpec): Coef {
  const { ctx } = u;
  return ctx.shared(`adafactor_rho|${spec.relative_step}|${spec.warmup_init}`, (sb) => {
    const S = new ScalarMath(sb, 'float64');
    if (!spec.relative_step) return S.v(ctx.lr());
    const t = S.fromInt(ctx.step);
    const minStep = spec.warmup_init ? S.mul(1e-6, t) : 1e-2;
    return S.v(S.min(minStep, S.div(1, S.sqrt(t))));
  });
}

/** Adafactor's step size; see the module comment. */
export function scaleByAdafactorStepSize(spec: AdafactorStepSizeSpec): Transform<AdafactorStepSizeSpec> {
  return {
    name: 'scale_by_step_size',
    spec,
    slots: () => [],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const { ctx } = u;
      const rho = relativeStep(u, spec) as Value;
      let ell: Value;
      if (!spec.scale_parameter) {
        ell = ctx.shared('adafactor_rho_f32', (sb) => sb.op.Cast(rho, DataType.FLOAT));
      } else {
        const { rho32, floor } = ctx.shared(`adafactor_floor|${spec.eps1}`, (sb) => {
          const S = new ScalarMath(sb, 'float64');
          return { rho32: sb.op.Cast(rho, DataType.FLOAT), floor: sb.op.Cast(S.v(S.mul(spec.eps1, rho)), DataType.FLOAT) };
        });
        const rms = emitRms(b, u.p, u.param.shape);
        const fromRms = b.op.Mul(rms, rho32);
        ell = b.op.Where(b.op.Greater(rms, b.f32(Math.fround(spec.eps1))), fromRms, floor);
      }
      const scale = ctx.smath(b, 'float32', 'step_size', [u.update.scale, ell], (S) => S.mul(u.update.scale, ell));
      return { update: { ...u.update, scale }, vars: { step_size: ell }, extras: { lr_used: b.op.Reshape(ell, [1]) } };
    },
  };
}
