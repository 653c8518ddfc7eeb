/**
 * Helpers over the affine {@link Update} `p_new = post · (keep · p − scale · dir)`: start from a gradient, read the
 * effective gradient back, and apply the update to the parameter with as few tensor passes as the form allows.
 */
import { Value, type GraphBuilder } from '../../builder/index.js';
import type { StepContext } from './context.js';
import { ScalarMath, isNumber, mulTensor, tensorCoef, type Precision } from './scalar.js';
import type { Coef, Update } from './types.js';

/** The update a gradient starts as: `p − 1·g` (`sign` −1 for torch's `maximize`). */
export function gradientUpdate(g: Value, sign: 1 | -1 = 1): Update {
  return { dir: g, scale: sign, keep: 1, post: 1 };
}

const ELEMENTWISE = new WeakSet<Value>();

/** Marks a float32 tensor of the parameter's shape as a per-element coefficient (e.g. a weight-decay mask). */
export function elementwise(v: Value): Value {
  ELEMENTWISE.add(v);
  return v;
}

/** True when the coefficient was marked per-element by {@link elementwise} (scalars are never marked). */
export function isElementwise(c: Coef): boolean {
  return typeof c !== 'number' && ELEMENTWISE.has(c);
}

/**
 * The update as a descent tensor `scale · dir` (what is subtracted from `keep · p`), emitting a Mul only when the
 * scale is not the number 1. Used by transforms that need the incoming gradient materialised (e.g. a clipped one).
 */
export function descent(b: GraphBuilder, u: Update): Value {
  return mulTensor(b, u.dir, u.scale);
}

/**
 * Emits `post · (keep · p − scale · dir)`:
 * - `scale · dir` is one Mul (none for ±1), `keep · p` one Mul (none for 1), then one Sub;
 * - a scalar `post` is applied after the subtraction when `keep` is 1 (the upstream order, same pass count) and
 *   folded into `keep` and `scale` otherwise (saves one pass); a per-element `post` (a weight-decay mask) is one Mul.
 * @param ctx the graph's step context (scalar folds are shared across parameters where possible)
 * @param precision the optimizer's hyper-parameter precision, used for the scalar folds
 */
export function applyUpdate(b: GraphBuilder, p: Value, u: Update, ctx: StepContext, precision: Precision): Value {
  let { keep, scale, post } = u;
  if (!isNumber(post, 1) && !isNumber(keep, 1) && !isElementwise(post) && !isElementwise(keep)) {
    const [k0, s0, p0] = [keep, scale, post];
    keep = ctx.smath(b, precision, 'fold_post', [k0, p0], (S) => S.mul(k0, p0));
    scale = ctx.smath(b, precision, 'fold_post', [s0, p0], (S) => S.mul(s0, p0));
    post = 1;
  }
  // float32 casts of shared scalars are shared too (one Cast per graph, not per parameter).
  const f32 = (c: Coef): Coef => (typeof c === 'number' || isElementwise(c) ? c : ctx.smath(b, 'float32', 'to_f32', [c], (S) => S.v(c)));
  [keep, scale, post] = [f32(keep), f32(scale), f32(post)];
  const kp = isNumber(keep, 1) ? p : mulTensor(b, p, keep);
  let out: Value;
  if (isNumber(scale, 0)) out = kp;
  else if (isNumber(scale, -1)) out = b.op.Add(kp, u.dir);
  else out = b.op.Sub(kp, mulTensor(b, u.dir, scale));
  if (!isNumber(post, 1)) out = mulTensor(b, out, post);
  return out;
}

/** `a · b` of two coefficients where either may be a per-element tensor (float32) or a scalar. */
export function mulCoef(b: GraphBuilder, S: ScalarMath, x: Coef, y: Coef): Coef {
  if (isElementwise(x) || isElementwise(y)) {
    if (isNumber(x, 1)) return y;
    if (isNumber(y, 1)) return x;
    const tx = tensorCoef(b, x);
    const ty = tensorCoef(b, y);
    return elementwise(b.op.Mul(tx instanceof Value ? tx : b.f32(tx), ty instanceof Value ? ty : b.f32(ty)));
  }
  return S.mul(x, y);
}
