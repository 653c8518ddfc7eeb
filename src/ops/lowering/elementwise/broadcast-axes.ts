/**
 * Reduction axes for the gradients of a broadcasting binary op — the semantics of ms::BroadcastGradientArgs,
 * shared by that rule and DivGrad.
 *
 * Kernel (training_ops/cpu/nn/broadcast_grad_args.cc): align both shapes right; for each aligned pair A ≠ B,
 * A = 1 → axis for a, else B = 1 → axis for b (else broadcasting is impossible); axes only the longer shape has
 * go to the shorter operand. Both lists come out last-to-first (descending).
 */
import type { Value } from '../../../builder/index.js';
import { DataType } from '../../../onnx/dtypes.js';
import type { Dim, LoweringContext } from '../rule.js';

/** Slice end that reaches past the front of any axis when stepping backwards. */
export const INT64_MIN = -(2n ** 63n);
/** Slice end that reaches past the back of any axis. */
export const INT64_MAX = 2n ** 63n - 1n;

export interface BroadcastAxes<T> {
  readonly a: T;
  readonly b: T;
}

/** A named symbolic dim (dim_param, or the pass's unique `?<k>`); '', '?' and negative numbers equal nothing. */
const isSymbol = (d: Dim): d is string => typeof d === 'string' && d !== '' && d !== '?';
const isKnown = (d: Dim): d is number => typeof d === 'number' && d >= 0;

/**
 * The axes, descending, when the shapes decide them. `exact` reproduces the kernel's output for every runtime
 * value of the symbolic dims (equal dim_params are equal); `reduce` also accepts a 1 paired with a symbolic dim —
 * the 1 side is reduced even though the symbol might be 1 at run time, which only sums over a size-1 axis and is
 * harmless for ReduceSum(keepdims=1)+Reshape consumers. Undefined when the shapes cannot decide.
 */
export function staticBroadcastAxes(a: readonly Dim[], b: readonly Dim[], mode: 'exact' | 'reduce'): BroadcastAxes<number[]> | undefined {
  const r = Math.max(a.length, b.length);
  const ax: number[] = [];
  const bx: number[] = [];
  for (let k = r - 1; k >= 0; k--) {
    const i = k - (r - a.length);
    const j = k - (r - b.length);
    if (i < 0) { ax.push(k); continue; }
    if (j < 0) { bx.push(k); continue; }
    const da = a[i];
    const db = b[j];
    if (isKnown(da) && isKnown(db)) {
      if (da === db) continue;
      if (da === 1) ax.push(k);
      else if (db === 1) bx.push(k);
      else return undefined; // not broadcastable: leave the error to run time
    } else if (isSymbol(da) && da === db) {
      continue;
    } else if (mode === 'reduce' && da === 1 && isSymbol(db)) {
      ax.push(k);
    } else if (mode === 'reduce' && db === 1 && isSymbol(da)) {
      bx.push(k);
    } else {
      return undefined;
    }
  }
  return { a: ax, b: bx };
}

/**
 * The same axes computed at run time from two int64 shape vectors with standard ops (opset ≥ 11):
 * left-pad both with 1s to rank r, mark `a` where it is padding or (A = 1 and B ≠ 1), symmetric for `b`, take
 * NonZero and reverse it to the kernel's descending order.
 */
export function emitBroadcastAxes(ctx: LoweringContext, aShape: Value, bShape: Value): BroadcastAxes<Value> {
  const b = ctx.b;
  const ra = b.op.Size(aShape);
  const rb = b.op.Size(bShape);
  const r = b.op.Where(b.op.Greater(ra, rb), ra, rb);
  const k = b.op.Range(b.i64(0), r, b.i64(1));
  const side = (own: Value, rOwn: Value) => {
    const lead = b.op.Sub(r, rOwn);
    const padded = b.op.Concat([b.op.ConstantOfShape(b.op.Reshape(lead, [1]), 1, DataType.INT64), own], 0);
    return { lead: b.op.Less(k, lead), one: b.op.Equal(padded, b.i64(1)) };
  };
  const A = side(aShape, ra);
  const B = side(bShape, rb);
  const axes = (mine: typeof A, other: typeof A) => {
    const mask = b.op.Or(mine.lead, b.op.And(mine.one, b.op.Not(other.one)));
    const ascending = b.op.Reshape(b.op.NonZero(mask), [-1]);
    return b.op.Slice(ascending, [-1], b.i64([INT64_MIN]), [0], [-1]);
  };
  return { a: axes(A, B), b: axes(B, A) };
}
