/**
 * `scaleByAdam`: the Adam moments and preconditioner, with the variants the upstream implementations differ in.
 *
 *     m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²          [amsgrad: v̂ ← max(v̂, v), use v̂]
 *     dir = m / (sqrt(v) + ε′)        scale = c
 *
 * with, for bias correction at the 1-based step t (`bc1 = 1 − β1^t`, `bc2 = 1 − β2^t`):
 * - `eps_placement: 'root'` (transformers AdamW, Keras, ORT mode 1, ONNX Adam): ε′ = ε, c = sqrt(bc2)/bc1;
 * - `eps_placement: 'corrected'` (torch AdamW, ORT mode 0, where d = sqrt(v/bc2) + ε): folded into the same two
 *   scalars, ε′ = ε·sqrt(bc2), c = sqrt(bc2)/bc1 — algebraically identical, one tensor pass fewer;
 * - `bias_correction: 'never'` (transformers `correct_bias=False`): ε′ = ε, c = 1; `'if_step_positive'` (ONNX
 *   Adam): correction only when t > 0.
 * The learning rate is not applied here (compose with `scaleByLr`).
 *
 * Float32 forms of the moment updates (`moment_form`), so that rounding follows each upstream kernel (torch's
 * fused `add_`/`addcmul_`/`lerp_` round once where the graph rounds twice: an ulp per step):
 * - `ema`: `β1·m + (1−β1)·g`, `β2·v + ((1−β2)·g)·g` (transformers / torch < 2 `mul_().add_()` / `addcmul_`,
 *   ORT AdamWOptimizer's Eigen expressions);
 * - `lerp`: `m + (1−β1)·(g − m)` (torch ≥ 2 `lerp_`), v as `ema`;
 * - `tf`: `m + (g − m)·(1−β1)`, `v + (g² − v)·(1−β2)` (TF `ApplyAdam`);
 * - `onnx`: `β1·m + (1−β1)·g`, `β2·v + (1−β2)·(g·g)` (onnx reference `op_adam.py`).
 * Every form costs the same tensor passes (3 for m, 4 for v). `hyper` says how the constants are rounded: `float64` → float32(1 − β) (Python arithmetic, torch), `float32` →
 * 1 − float32(β) (Keras, ORT, ONNX attributes). `step_math` is the precision of the bias-correction arithmetic
 * (`float64`: Python / numpy; `float32`: ORT and Keras, where β^t is still evaluated in double and rounded, as
 * ORT's `std::pow(float, int64)` does).
 *
 * An incoming scale σ (gradient clipping, `maximize`) is folded into the moment constants (`(1−β1)σ`, `(1−β2)σ²`)
 * where the form allows, and materialised (`σ·g`, as Keras does) for `tf`.
 *
 * Upstream: transformers `optimization.py` `AdamW.step`; torch `optim/adamw.py` `_single_tensor_adamw`; TF
 * `training_ops.cc` `ApplyAdamNonCuda` / `ApplyAdamWithAmsgrad`; ORT `adamw.cc`; onnx `op_adam.py`.
 */
import type { GraphBuilder, Value } from '../../../builder/index.js';
import type { StepContext } from '../context.js';
import { asValue, isNumber, mulTensor, ScalarMath, tensorCoef, type Precision } from '../scalar.js';
import { descent } from '../update.js';
import type { Coef, ParamInfo, SlotSpec, Transform, UpdateArgs, UpdateResult } from '../types.js';

/** Spec of {@link scaleByAdam}; see the module comment for every field. */
export interface ScaleByAdamSpec {
  readonly b1: number;
  readonly b2: number;
  readonly eps: number;
  readonly eps_placement: 'root' | 'corrected';
  readonly bias_correction: 'always' | 'never' | 'if_step_positive';
  readonly amsgrad: boolean;
  readonly moment_form: 'ema' | 'lerp' | 'tf' | 'onnx';
  readonly hyper: Precision;
  readonly step_math: Precision;
  /** State names: first moment, second moment, running max of the second moment (amsgrad only). */
  readonly slot_names: { readonly m: string; readonly v: string; readonly vmax: string };
}

/** float32 constants β and 1 − β as the upstream family rounds them (see the module comment). */
export function betaConstants(beta: number, hyper: Precision): { beta: number; oneMinus: number } {
  const b32 = Math.fround(beta);
  return { beta: b32, oneMinus: hyper === 'float64' ? Math.fround(1 - beta) : Math.fround(1 - b32) };
}

/**
 * `1 − β^t` for the 1-based step t, in the given precision; β^t is evaluated in float64 (then rounded for
 * float32), with β rounded to float32 first when the hyper-parameters are float32 attributes.
 */
export function biasCorrection(ctx: StepContext, beta: number, hyper: Precision, math: Precision): Value {
  return ctx.shared(`bias_correction|${beta}|${hyper}|${math}`, (sb) => {
    const S64 = new ScalarMath(sb, 'float64');
    const base = hyper === 'float32' ? Math.fround(beta) : beta;
    const powT = S64.pow(base, S64.fromInt(ctx.step)) as Value;
    const S = new ScalarMath(sb, math);
    return S.sub(1, S.v(powT)) as Value;
  });
}

/** The Adam moments and preconditioner; see the module comment. */
export function scaleByAdam(spec: ScaleByAdamSpec): Transform<ScaleByAdamSpec> {
  return {
    name: 'scale_by_adam',
    spec,
    slots(p: ParamInfo): readonly SlotSpec[] {
      const s: SlotSpec[] = [
        { name: spec.slot_names.m, shape: p.shape, init: 0 },
        { name: spec.slot_names.v, shape: p.shape, init: 0 },
      ];
      if (spec.amsgrad) s.push({ name: spec.slot_names.vmax, shape: p.shape, init: 0 });
      return s;
    },
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const { ctx } = u;
      const c1 = betaConstants(spec.b1, spec.hyper);
      const c2 = betaConstants(spec.b2, spec.hyper);
      const m = u.slots[spec.slot_names.m];
      const v = u.slots[spec.slot_names.v];
      const sigma = u.update.scale;
      const g = u.update.dir;
      // Scalar products with σ: shared when σ is (a global clip coefficient), per parameter otherwise.
      const times = (k: number, power: 1 | 2): Coef =>
        ctx.smath(b, 'float32', `adam.sigma${power}`, [k, sigma], (S) => (power === 1 ? S.mul(k, sigma) : S.mul(S.mul(k, sigma), sigma)));

      let m1: Value;
      let v1: Value;
      switch (spec.moment_form) {
        case 'ema':
        case 'onnx': {
          m1 = b.op.Add(b.op.Mul(m, c1.beta), mulTensor(b, g, times(c1.oneMinus, 1)));
          const k2 = times(c2.oneMinus, 2);
          const sq = spec.moment_form === 'ema' ? b.op.Mul(mulTensor(b, g, k2), g) : mulTensor(b, b.op.Mul(g, g), k2);
          v1 = b.op.Add(b.op.Mul(v, c2.beta), sq);
          break;
        }
        case 'lerp': {
          if (isNumber(sigma, 1)) m1 = b.op.Add(m, b.op.Mul(b.op.Sub(g, m), c1.oneMinus));
          else if (isNumber(sigma, -1)) m1 = b.op.Sub(m, b.op.Mul(b.op.Add(g, m), c1.oneMinus));
          else m1 = b.op.Add(b.op.Mul(m, c1.beta), mulTensor(b, g, times(c1.oneMinus, 1)));
          v1 = b.op.Add(b.op.Mul(v, c2.beta), b.op.Mul(mulTensor(b, g, times(c2.oneMinus, 2)), g));
          break;
        }
        case 'tf': {
          const gg = descent(b, { ...u.update, dir: g });
          m1 = b.op.Add(m, b.op.Mul(b.op.Sub(gg, m), c1.oneMinus));
          v1 = b.op.Add(v, b.op.Mul(b.op.Sub(b.op.Mul(gg, gg), v), c2.oneMinus));
          break;
        }
      }
      const slots: Record<string, Value> = { [spec.slot_names.m]: m1, [spec.slot_names.v]: v1 };
      let vv = v1;
      if (spec.amsgrad) {
        vv = b.op.Max(u.slots[spec.slot_names.vmax], v1);
        slots[spec.slot_names.vmax] = vv;
      }
      const { eps, factor } = adamScalars(ctx, spec);
      const d = b.op.Add(b.op.Sqrt(vv), eps);
      const dir = b.op.Div(m1, d);
      return { update: { dir, scale: factor, keep: u.update.keep, post: u.update.post }, slots };
    },
  };
}

/** ε′ (float32, shape [] or [1]) and the step-size factor c of the spec, computed once per graph. */
function adamScalars(ctx: StepContext, spec: ScaleByAdamSpec): { eps: Value; factor: Coef } {
  const key = `adam_scalars|${spec.b1}|${spec.b2}|${spec.eps}|${spec.eps_placement}|${spec.bias_correction}|${spec.hyper}|${spec.step_math}`;
  return ctx.shared(key, (sb) => {
    const epsConst = sb.f32(Math.fround(spec.eps));
    if (spec.bias_correction === 'never') return { eps: epsConst, factor: 1 };
    const S = new ScalarMath(sb, spec.step_math);
    const bc1 = biasCorrection(ctx, spec.b1, spec.hyper, spec.step_math);
    const bc2 = biasCorrection(ctx, spec.b2, spec.hyper, spec.step_math);
    const root = S.sqrt(bc2);
    let factor: Coef = S.div(root, bc1);
    let eps: Value = epsConst;
    if (spec.eps_placement === 'corrected') eps = asValue(sb, tensorCoef(sb, S.mul(spec.hyper === 'float32' ? Math.fround(spec.eps) : spec.eps, root)));
    if (spec.bias_correction === 'if_step_positive') {
      const positive = sb.op.Greater(ctx.step, sb.i64(0));
      factor = S.where(positive, factor, 1);
      if (spec.eps_placement === 'corrected') eps = sb.op.Where(positive, eps, epsConst);
    }
    ctx.markShared(factor);
    return { eps, factor };
  });
}
