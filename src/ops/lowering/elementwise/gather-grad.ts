/**
 * ms::GatherGrad (shape, indices, dY; axis = 0) → dX = zeros(shape) with every dY slice *added* at its index
 * along `axis` (duplicate indices accumulate, the norm for embeddings). Negative indices are wrapped first.
 *
 * axis 0 (after normalisation): ScatterND(zeros(shape), Unsqueeze(indices, −1), dY, reduction=add).
 * other axes: view X as [P, D, Q] (P = Π shape[:axis], Q = Π shape[axis+1:]) and dY as [P, N, Q], move the
 * gathered axis to the front with rank-3 Transposes, ScatterND-add, and move it back — no rank needed.
 *
 * minOpset 16 (ScatterND with reduction; the pass upgrades older models). ctx.shapes: static contents of
 * `shape` (a constant, or Shape(X) of a statically shaped X) turn P, D, Q into constants; the rank (shape's
 * length, or rank(dY) − rank(indices) + 1) only decides whether a negative axis is the first one. Without any
 * of it, everything is computed from `shape` at run time.
 */
import type { Value } from '../../../builder/index.js';
import type { LoweringRule } from '../rule.js';
import { INT64_MAX } from './broadcast-axes.js';
import { asInt64, missingInputs, msOp, rankOf, req, shapeContents, typeReason, zerosOfShape } from './support.js';

export const lowerGatherGrad: LoweringRule = {
  op: msOp('GatherGrad'),
  minOpset: 16,
  check: (n, ctx) => missingInputs(n, ['shape', 'indices', 'dY'])
    ?? (ctx.opset < 16 ? `ScatterND with reduction="add" needs opset 16 (model has ${ctx.opset})` : undefined)
    ?? typeReason(ctx, n, 2),
  lower: (n, ctx) => {
    const b = ctx.b;
    const shape = asInt64(ctx, req(ctx, n, 0));
    const indices = asInt64(ctx, req(ctx, n, 1));
    const dY = req(ctx, n, 2);
    let axis = n.attrInt('axis', 0);
    const known = shapeContents(ctx, n.input(0));
    const dims = known?.every((d) => typeof d === 'number') ? (known as number[]) : undefined;
    const shapeLen = ctx.shapes.shape(n.input(0)!)?.[0];
    const rDY = rankOf(ctx, n.input(2));
    const rIdx = rankOf(ctx, n.input(1));
    const rank = known?.length ?? (typeof shapeLen === 'number' ? shapeLen : rDY !== undefined && rIdx !== undefined ? rDY - rIdx + 1 : undefined);
    if (axis < 0 && rank !== undefined) axis += rank;

    const dimAt = dims && axis >= 0 ? b.i64(dims[axis]) : b.op.Gather(shape, b.i64(axis));
    const idx = b.op.Where(b.op.Less(indices, b.i64(0)), b.op.Add(indices, dimAt), indices);
    if (axis === 0) return [b.op.ScatterND(zerosOfShape(ctx, dims ? b.i64(dims) : shape, dY), b.op.Unsqueeze(idx, [-1]), dY, 'add')];

    const prod = (v: number[]) => v.reduce((p, d) => p * d, 1);
    let P: Value, D: Value, Q: Value;
    if (dims && axis >= 0) {
      P = b.i64([prod(dims.slice(0, axis))]);
      D = b.i64([dims[axis]]);
      Q = b.i64([prod(dims.slice(axis + 1))]);
    } else {
      P = b.op.ReduceProd(b.op.Slice(shape, [0], [axis]), [0], 1);
      D = b.op.Gather(shape, b.i64([axis]));
      // shape[axis+1:]; for axis = −1 that is empty, which a start of 0 would not express.
      Q = axis === -1 ? b.i64([1]) : b.op.ReduceProd(b.op.Slice(shape, [axis + 1], b.i64([INT64_MAX])), [0], 1);
    }
    const N = b.op.Reshape(b.op.Size(idx), [1]);
    const upd = b.op.Transpose(b.op.Reshape(dY, b.op.Concat([P, N, Q], 0)), [1, 0, 2]);
    const acc = b.op.ScatterND(zerosOfShape(ctx, b.op.Concat([D, P, Q], 0), dY), b.op.Reshape(idx, [-1, 1]), upd, 'add');
    return [b.op.Reshape(b.op.Transpose(acc, [1, 0, 2]), dims ? b.i64(dims) : shape)];
  },
};
