/** Table of loss test cases shared by the SoftmaxCrossEntropyLoss* and NegativeLogLikelihoodLoss* rule tests. */
import { DataType } from '../../../../src/onnx/dtypes.js';
import type { LossCase, Reduction } from '../../../reference/lowering-loss.js';
import { integers, numbers } from '../../../helpers/lowering.js';

export interface LossFixture {
  readonly title: string;
  /** Scores / log_prob dims [N, C, ...D]. */
  readonly dims: readonly number[];
  readonly labelDims: readonly number[];
  readonly cs: LossCase;
  readonly scores: number[];
  /** Incoming gradient: one value for sum/mean, one per sample for none. */
  readonly dY: number[];
  readonly T: number;
  readonly L: number;
}

export const REDUCTIONS: readonly Reduction[] = ['none', 'sum', 'mean'];

/**
 * One fixture. `ignore`: undefined (nothing ignored), an in-range class (some labels hit it) or −100 (out of
 * range; some labels are set to it).
 */
export function lossFixture(o: { dims: readonly number[]; reduction: Reduction; weights: boolean; ignore?: number; T: number; L: number; seed: number; allIgnored?: boolean }): LossFixture {
  const [n, c, ...rest] = o.dims;
  const d = rest.reduce((a, x) => a * x, 1);
  const labels = integers(o.seed, n * d, c);
  if (o.ignore !== undefined) {
    if (o.ignore < 0 || o.ignore >= c) for (let i = 0; i < labels.length; i += 3) labels[i] = o.ignore;
    else labels[0] = o.ignore;
    if (o.allIgnored) labels.fill(o.ignore);
  }
  const cs: LossCase = {
    n, c, d, labels,
    weights: o.weights ? numbers(o.seed + 1, c, 0.2, 2) : undefined,
    ignoreIndex: o.ignore,
    reduction: o.reduction,
  };
  const scores = numbers(o.seed + 2, n * c * d, -3, 3);
  const dY = o.reduction === 'none' ? numbers(o.seed + 3, n * d, -2, 2) : [numbers(o.seed + 3, 1, 0.5, 2)[0]];
  const tName = o.T === DataType.DOUBLE ? 'f64' : 'f32';
  const lName = o.L === DataType.INT32 ? 'i32' : 'i64';
  const title = `[${o.dims.join(',')}] ${o.reduction}${o.weights ? ' weighted' : ''}${o.ignore !== undefined ? ` ignore=${o.ignore}${o.allIgnored ? ' (all)' : ''}` : ''} ${tName}/${lName}`;
  return { title, dims: o.dims, labelDims: [n, ...rest], cs, scores, dY, T: o.T, L: o.L };
}

/** The cross product used by the table-driven tests (kept moderate: each case is one ORT session). */
export function lossTable(): LossFixture[] {
  const out: LossFixture[] = [];
  let seed = 10;
  for (const dims of [[3, 4], [2, 3, 2, 2]]) {
    for (const reduction of REDUCTIONS) {
      for (const weights of [false, true]) {
        for (const ignore of [undefined, 1, -100]) {
          for (const [T, L] of [[DataType.FLOAT, DataType.INT64], [DataType.DOUBLE, DataType.INT32]]) {
            out.push(lossFixture({ dims, reduction, weights, ignore, T, L, seed: seed++ }));
          }
        }
      }
    }
  }
  out.push(lossFixture({ dims: [3, 4], reduction: 'mean', weights: true, ignore: 2, T: DataType.DOUBLE, L: DataType.INT64, seed: 99, allIgnored: true }));
  out.push(lossFixture({ dims: [3, 4], reduction: 'mean', weights: false, ignore: 2, T: DataType.FLOAT, L: DataType.INT64, seed: 98, allIgnored: true }));
  return out;
}

/** Tolerance for comparing a lowered result with the float64 reference. */
export function tolerance(T: number): number {
  return T === DataType.DOUBLE ? 1e-12 : 2e-6;
}

export function closeTo(got: readonly number[], want: readonly number[], tol: number): string | undefined {
  if (got.length !== want.length) return `length ${got.length} ≠ ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) return `element ${i}: ${got[i]} vs ${want[i]}`;
  }
  return undefined;
}
