/**
 * ms::FusedMatMul (A, B; alpha = 1, transA, transB, transBatchA, transBatchB) → Transpose + MatMul (+ Mul).
 *
 * Semantics (ORT's FusedMatMulShapeInference / MatMulComputeHelper): for an operand of rank r ≥ 2, transBatch
 * moves dim 0 behind the batch dims (perm [1, …, r−2, 0, r−1]) and trans then swaps the last two entries of that
 * perm; a rank-1 operand is never transposed. `Y = alpha · op(A) @ op(B)` with MatMul broadcasting.
 *
 * ctx.shapes: the rank of an operand is needed only when one of its trans attributes is set.
 */
import type { Value } from '../../../builder/index.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext, LoweringRule } from '../rule.js';
import { missingInputs, msOp, rankOf, req, scalar, typeReason } from './support.js';

/** The transpose FusedMatMul applies to an operand of rank `r`, or undefined for none. */
export function fusedMatMulPerm(r: number, trans: boolean, transBatch: boolean): number[] | undefined {
  if (r < 2) return undefined;
  const perm = transBatch ? [...Array.from({ length: r - 2 }, (_, i) => i + 1), 0, r - 1] : Array.from({ length: r }, (_, i) => i);
  if (trans) [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return perm.every((p, i) => p === i) ? undefined : perm;
}

const flags = (n: Node, which: 'A' | 'B') => ({ trans: n.attrInt(`trans${which}`, 0) !== 0, batch: n.attrInt(`transBatch${which}`, 0) !== 0 });

function operand(n: Node, ctx: LoweringContext, i: 0 | 1): Value {
  const x = req(ctx, n, i);
  const f = flags(n, i === 0 ? 'A' : 'B');
  if (!f.trans && !f.batch) return x;
  const perm = fusedMatMulPerm(rankOf(ctx, x.name)!, f.trans, f.batch);
  return perm ? ctx.b.op.Transpose(x, perm) : x;
}

export const lowerFusedMatMul: LoweringRule = {
  op: msOp('FusedMatMul'),
  check: (n, ctx) => {
    const missing = missingInputs(n, ['A', 'B']);
    if (missing) return missing;
    for (const [i, w] of [[0, 'A'], [1, 'B']] as const) {
      const f = flags(n, w);
      if ((f.trans || f.batch) && rankOf(ctx, n.input(i)) === undefined) {
        return `trans${f.batch ? 'Batch' : ''}${w} is set but the rank of ${w} ("${n.input(i)}") is unknown; Transpose needs a static perm`;
      }
    }
    return n.attrFloat('alpha', 1) !== 1 ? typeReason(ctx, n, 0) : undefined;
  },
  lower: (n, ctx) => {
    const b = ctx.b;
    const y = b.op.MatMul(operand(n, ctx, 0), operand(n, ctx, 1));
    const alpha = n.attrFloat('alpha', 1);
    return [alpha === 1 ? y : b.op.Mul(y, scalar(ctx, alpha, req(ctx, n, 0)))];
  },
};
