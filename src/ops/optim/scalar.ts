/**
 * Scalar hyper-parameter arithmetic in a chosen precision, folded on the host when both operands are numbers.
 *
 * Why two precisions: torch / transformers compute `1 − β`, bias corrections, step sizes and `lr·wd` in Python
 * float64 and round once when the value enters a float32 kernel; Keras / ONNX Runtime compute them in float32
 * (optimizer-semantics.md §1.2). A {@link ScalarMath} of precision `float64` emits DOUBLE scalar nodes (cheap:
 * they are shape [1]) and folds numbers exactly as Python does; one of precision `float32` emits FLOAT nodes and
 * rounds every folded intermediate with `Math.fround`, as a float32 kernel does. {@link tensorCoef} rounds a
 * coefficient to float32 at the point it meets a tensor.
 */
import { Value, type GraphBuilder } from '../../builder/index.js';
import { DataType } from '../../onnx/dtypes.js';
import type { Coef } from './types.js';

/** The arithmetic of scalar hyper-parameter math. */
export type Precision = 'float32' | 'float64';

/** Scalar arithmetic of one precision (see the module comment). Values it returns have shape [] or [1]. */
export class ScalarMath {
  readonly dtype: number;

  constructor(readonly b: GraphBuilder, readonly precision: Precision) {
    this.dtype = precision === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
  }

  /** Rounds a host number to this precision. */
  r(x: number): number {
    return this.precision === 'float32' ? Math.fround(x) : x;
  }

  /** The coefficient as a graph value of this precision (a constant, or a Cast when its type differs). */
  v(c: Coef): Value {
    if (typeof c === 'number') return this.b.const(this.r(c), this.dtype);
    const dt = this.b.dtypeOf(c);
    return dt === this.dtype ? c : this.b.op.Cast(c, this.dtype);
  }

  /** An integer graph value (e.g. the int64 step) cast to this precision. */
  fromInt(x: Value): Value {
    return this.b.op.Cast(x, this.dtype);
  }

  add(x: Coef, y: Coef): Coef {
    if (typeof x === 'number' && typeof y === 'number') return this.r(this.r(x) + this.r(y));
    if (x === 0) return this.v(y);
    if (y === 0) return this.v(x);
    return this.b.op.Add(this.v(x), this.v(y));
  }

  sub(x: Coef, y: Coef): Coef {
    if (typeof x === 'number' && typeof y === 'number') return this.r(this.r(x) - this.r(y));
    if (y === 0) return this.v(x);
    return this.b.op.Sub(this.v(x), this.v(y));
  }

  mul(x: Coef, y: Coef): Coef {
    if (typeof x === 'number' && typeof y === 'number') return this.r(this.r(x) * this.r(y));
    if (x === 1) return this.v(y);
    if (y === 1) return this.v(x);
    return this.b.op.Mul(this.v(x), this.v(y));
  }

  div(x: Coef, y: Coef): Coef {
    if (typeof x === 'number' && typeof y === 'number') return this.r(this.r(x) / this.r(y));
    if (y === 1) return this.v(x);
    return this.b.op.Div(this.v(x), this.v(y));
  }

  neg(x: Coef): Coef {
    return typeof x === 'number' ? -x : this.b.op.Neg(this.v(x));
  }

  sqrt(x: Coef): Coef {
    return typeof x === 'number' ? this.r(Math.sqrt(this.r(x))) : this.b.op.Sqrt(this.v(x));
  }

  /** `x ** y`; a number base with a graph exponent emits Pow in this precision. */
  pow(x: Coef, y: Coef): Coef {
    if (typeof x === 'number' && typeof y === 'number') return this.r(Math.pow(this.r(x), this.r(y)));
    return this.b.op.Pow(this.v(x), this.v(y));
  }

  max(x: Coef, y: Coef): Coef {
    if (typeof x === 'number' && typeof y === 'number') return Math.max(this.r(x), this.r(y));
    return this.b.op.Max(this.v(x), this.v(y));
  }

  min(x: Coef, y: Coef): Coef {
    if (typeof x === 'number' && typeof y === 'number') return Math.min(this.r(x), this.r(y));
    return this.b.op.Min(this.v(x), this.v(y));
  }

  /** `cond ? x : y` for a boolean graph value. */
  where(cond: Value, x: Coef, y: Coef): Value {
    return this.b.op.Where(cond, this.v(x), this.v(y));
  }
}

/**
 * The coefficient as it meets a float32 tensor: numbers rounded with `Math.fround`, graph values cast to FLOAT
 * (round to nearest) when they are not float32 already.
 */
export function tensorCoef(b: GraphBuilder, c: Coef): Coef {
  if (typeof c === 'number') return Math.fround(c);
  return b.dtypeOf(c) === DataType.FLOAT ? c : b.op.Cast(c, DataType.FLOAT);
}

/** `x · c` for a float32 tensor x, skipping the node when c is exactly 1 (and negating when it is −1). */
export function mulTensor(b: GraphBuilder, x: Value, c: Coef): Value {
  const k = tensorCoef(b, c);
  if (k === 1) return x;
  if (k === -1) return b.op.Neg(x);
  return b.op.Mul(x, k instanceof Value ? k : b.f32(k));
}

/** True when the coefficient is the build-time number `n`. */
export function isNumber(c: Coef, n: number): boolean {
  return typeof c === 'number' && c === n;
}

/** A float32 coefficient as a graph value (numbers become constants). */
export function asValue(b: GraphBuilder, c: Coef): Value {
  return typeof c === 'number' ? b.f32(Math.fround(c)) : c;
}
