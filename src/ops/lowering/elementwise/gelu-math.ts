/**
 * GELU-family formulas as standard ONNX ops, shared by the forward rules (Gelu, BiasGelu, FastGelu) and the
 * gradient rules (GeluGrad, FastGeluGrad, BiasGeluGrad_dX, BiasFastGeluGrad_dX). Each emitter works in the
 * element type of its input.
 *
 * Sources: the ONNX function bodies ORT registers for ms::Gelu and ms::GeluGrad / ms::FastGeluGrad
 * (contrib_defs.cc, training_op_defs.cc) and the CPU kernels' constants (kAlpha = sqrt(2/pi), kGamma = 0.044715).
 */
import type { Value } from '../../../builder/index.js';
import { DataType } from '../../../onnx/dtypes.js';
import type { LoweringContext } from '../rule.js';
import { elemType, scalar } from './support.js';

/** sqrt(2/pi), the tanh-approximation's slope. */
export const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** The cubic coefficient of the tanh approximation. */
export const FAST_GELU_GAMMA = 0.044715;

/**
 * erf(x). ORT's CPU Erf kernel has no double implementation, so a double input is computed in float and cast
 * back (float precision for that term) — it keeps float64 training graphs loadable on stock ORT.
 */
export function emitErf(ctx: LoweringContext, x: Value): Value {
  const b = ctx.b;
  if ((x.dtype ?? elemType(ctx, x.name)) === DataType.DOUBLE) {
    return b.op.Cast(b.op.Erf(b.op.Cast(x, DataType.FLOAT)), DataType.DOUBLE);
  }
  return b.op.Erf(x);
}

/** Phi(x) = 0.5·(1 + erf(x/√2)), the standard normal CDF. */
function emitPhi(ctx: LoweringContext, x: Value): Value {
  const b = ctx.b;
  const e = emitErf(ctx, b.op.Mul(x, scalar(ctx, Math.SQRT1_2, x)));
  return b.op.Mul(b.op.Add(e, scalar(ctx, 1, x)), scalar(ctx, 0.5, x));
}

/** gelu(x) = x·Phi(x) (exact, erf form). */
export function emitGelu(ctx: LoweringContext, x: Value): Value {
  return ctx.b.op.Mul(x, emitPhi(ctx, x));
}

/** d gelu/dx · dY = dY·(Phi(x) + x·exp(−x²/2)/√(2π)). */
export function emitGeluGrad(ctx: LoweringContext, dY: Value, x: Value): Value {
  const b = ctx.b;
  const pdf = b.op.Mul(b.op.Exp(b.op.Mul(b.op.Mul(x, x), scalar(ctx, -0.5, x))), scalar(ctx, 1 / Math.sqrt(2 * Math.PI), x));
  return b.op.Mul(dY, b.op.Add(emitPhi(ctx, x), b.op.Mul(x, pdf)));
}

/** u = √(2/π)·(x + γx³) and t = tanh(u) of the tanh approximation. */
function emitTanhArg(ctx: LoweringContext, x: Value): { t: Value; x2: Value } {
  const b = ctx.b;
  const x2 = b.op.Mul(x, x);
  // x·(√(2/π) + √(2/π)·γ·x²), the factorisation ORT's kernel uses.
  const inner = b.op.Add(scalar(ctx, SQRT_2_OVER_PI, x), b.op.Mul(x2, scalar(ctx, SQRT_2_OVER_PI * FAST_GELU_GAMMA, x)));
  return { t: b.op.Tanh(b.op.Mul(x, inner)), x2 };
}

/** fast_gelu(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function emitFastGelu(ctx: LoweringContext, x: Value): Value {
  const b = ctx.b;
  const { t } = emitTanhArg(ctx, x);
  return b.op.Mul(b.op.Mul(x, scalar(ctx, 0.5, x)), b.op.Add(t, scalar(ctx, 1, x)));
}

/** dY·0.5·[(1 + t) + (1 − t²)·(√(2/π)·x + 3γ√(2/π)·x³)], t = tanh(√(2/π)·(x + γx³)). */
export function emitFastGeluGrad(ctx: LoweringContext, dY: Value, x: Value): Value {
  const b = ctx.b;
  const { t, x2 } = emitTanhArg(ctx, x);
  const one = scalar(ctx, 1, x);
  const sech2 = b.op.Sub(one, b.op.Mul(t, t));
  const du = b.op.Mul(x, b.op.Add(scalar(ctx, SQRT_2_OVER_PI, x), b.op.Mul(x2, scalar(ctx, 3 * FAST_GELU_GAMMA * SQRT_2_OVER_PI, x))));
  const g = b.op.Add(b.op.Add(one, t), b.op.Mul(sech2, du));
  return b.op.Mul(dY, b.op.Mul(g, scalar(ctx, 0.5, x)));
}
