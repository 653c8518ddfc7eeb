/**
 * ms::SliceGrad (dY, shape, starts, ends, axes?, steps?) → dX = zeros(shape) with the sliced region set to dY.
 *
 * General path (any steps, incl. negative, any clamping; opset ≥ 11): number the elements of X with
 * Reshape(Range(0, numel), shape), apply the *same* Slice to those numbers — so ONNX Slice's own clamping and
 * negative-index rules pick the positions — and ScatterElements dY into flat zeros at them (positions are
 * unique, so no reduction is needed), then Reshape to `shape`.
 *
 * Fast path: when the contents of `shape` are static numbers (a constant, or Shape(X) of a statically shaped X)
 * and starts/ends/axes are constants with every step 1, the pads are computed here and dX = Pad(dY, pads).
 */
import type { LoweringContext, LoweringRule } from '../rule.js';
import type { Node } from '../../../ir/graph.js';
import { asInt64, constInts, input, missingInputs, msOp, normAxis, range, req, shapeContents, typeReason, zerosOfShape } from './support.js';

/** Pads for the unit-step case, or undefined when the fast path does not apply. */
function staticPads(n: Node, ctx: LoweringContext): number[] | undefined {
  const known = shapeContents(ctx, n.input(1));
  if (!known || !known.every((d) => typeof d === 'number')) return undefined;
  const dims = known as number[];
  const starts = constInts(ctx, n.input(2));
  const ends = constInts(ctx, n.input(3));
  const axes = n.input(4) === undefined ? starts && range(0, starts.length) : constInts(ctx, n.input(4));
  const steps = n.input(5) === undefined ? starts?.map(() => 1) : constInts(ctx, n.input(5));
  if (!starts || !ends || !axes || !steps || steps.some((s) => s !== 1)) return undefined;
  const r = dims.length;
  const pads = new Array<number>(2 * r).fill(0);
  axes.forEach((a0, i) => {
    const a = normAxis(a0, r);
    const d = dims[a];
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const s = clamp(starts[i]);
    const e = Math.max(clamp(ends[i]), s);
    pads[a] = s;
    pads[a + r] = d - e;
  });
  return pads;
}

export const lowerSliceGrad: LoweringRule = {
  op: msOp('SliceGrad'),
  check: (n, ctx) => missingInputs(n, ['dY', 'shape', 'starts', 'ends'])
    ?? (staticPads(n, ctx) === undefined && ctx.opset < 11 ? `the general SliceGrad lowering needs Range and Slice inputs (opset 11; model has ${ctx.opset})` : undefined)
    ?? typeReason(ctx, n, 0),
  lower: (n, ctx) => {
    const b = ctx.b;
    const dY = req(ctx, n, 0);
    const pads = staticPads(n, ctx);
    if (pads) return [b.op.Pad(dY, pads)];

    const shape = asInt64(ctx, req(ctx, n, 1));
    const known = shapeContents(ctx, n.input(1));
    const numel = known?.every((d) => typeof d === 'number')
      ? b.i64((known as number[]).reduce((p, d) => p * d, 1))
      : b.op.ReduceProd(shape, [0], 0);
    const ids = b.op.Reshape(b.op.Range(b.i64(0), numel, b.i64(1)), shape);
    const opt = (i: number) => { const v = input(ctx, n, i); return v && asInt64(ctx, v); };
    const picked = b.op.Slice(ids, asInt64(ctx, req(ctx, n, 2)), asInt64(ctx, req(ctx, n, 3)), opt(4), opt(5));
    const flat = zerosOfShape(ctx, b.op.Reshape(numel, [1]), dY);
    const scattered = b.op.ScatterElements(flat, b.op.Reshape(picked, [-1]), b.op.Reshape(dY, [-1]), 0);
    return [b.op.Reshape(scattered, shape)];
  },
};

