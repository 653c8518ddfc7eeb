/**
 * MaxPoolGrad(dY, Indices) -> dX (default domain, ORT training opset-9 schema; non-standard): the gradient of
 * `Y, Indices = MaxPool(X)`. `Indices` holds flat indices into X over N·C·spatial (ORT: `c·H·W + offset`
 * with c running over N·C), row-major, or column-major within each (n, c) image when the MaxPool had
 * `storage_order=1`. dX = zeros(X.shape); dX.flat[idx_i] += dY_i. Upstream:
 * orttraining/training_ops/cpu/nn/pool_gradient_op.cc (takes dX's shape from the node's inferred output
 * shape with the batch dim from dY, and ignores storage_order).
 *
 * Lowering, by opset:
 * - opset >= 16: ScatterElements(zeros[numel], Indices, dY, reduction="add") reshaped to X's shape
 *   (repeated indices are the norm when windows overlap, e.g. 3×3 stride 2).
 * - opset 11–15, windows that cannot overlap (stride >= (k−1)·dilation + 1 in every dim): the same scatter
 *   without reduction (indices are unique).
 * - opset 11–15, overlapping windows: no scatter-add exists, so each index is matched against the K = Πk
 *   candidate positions of its own window (a constant [O…, K] table, −1 for taps in the padding) with Equal;
 *   the one-hot [N·C, K, O…] routing of dY is summed back onto the input grid by a ConvTranspose whose weight is
 *   the identity over the K taps. Needs static spatial dims of X and dY.
 *
 * X's shape comes from the forward MaxPool that produced `Indices` (Shape(X), fully dynamic) or else from the
 * static spatial dims of the output's value_info with N and C taken from dY (as the ORT kernel does).
 * storage_order=1 indices are converted to row-major (needs static spatial dims) — unlike the ORT kernel,
 * which scatters them as if they were row-major.
 */
import type { Value } from '../../../builder/index.js';
import { DataType } from '../../../onnx/dtypes.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext, LoweringRule } from '../rule.js';
import {
  MIN_OPSET, MS_DOMAIN, dtypeOf, inputValue, opsetReason, planned, shapeSlice, staticDims,
} from './common.js';
import { explicitPads, extent, outputSize, readWindowAttrs, transposeFit } from './geometry.js';

interface MaxPoolGradPlan {
  rank: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[] | undefined;
  columnMajor: boolean;
  /** The forward MaxPool's input X, when Indices comes from one in this graph. */
  forwardInput: string | undefined;
  xSpatial: number[] | undefined;
  ySpatial: number[] | undefined;
  path: 'scatter-add' | 'scatter' | 'window';
}

/** The forward input X: the MaxPool that produced `indices` in this graph (or an enclosing one). */
function forwardInput(ctx: LoweringContext, indices: string): string | undefined {
  for (let g: typeof ctx.b.graph | undefined = ctx.b.graph; g; g = g.outer) {
    const p = g.producer(indices);
    if (p) return p.opType === 'MaxPool' && (p.domain === '' || p.domain === 'ai.onnx') && p.outputs[1] === indices ? p.input(0) : undefined;
  }
  return undefined;
}

function plan(n: Node, ctx: LoweringContext): MaxPoolGradPlan | string {
  const [dy, indices] = [n.input(0), n.input(1)];
  if (!dy || !indices) return 'MaxPoolGrad needs its inputs dY and Indices';
  const tooOld = opsetReason(ctx, MIN_OPSET, 'the MaxPoolGrad lowering');
  if (tooOld) return tooOld;
  const ks = n.attrInts('kernel_shape');
  if (!ks?.length) return 'MaxPoolGrad has no kernel_shape attribute';
  const rank = ks.length;
  const a = readWindowAttrs(n, rank);
  if (typeof a === 'string') return a;
  const x = forwardInput(ctx, indices);
  const fromOut = staticDims(ctx, n.outputs[0], 2);
  const fromX = staticDims(ctx, x, 2);
  const xSpatial = fromOut?.length === rank ? fromOut : fromX?.length === rank ? fromX : undefined;
  if (!x && !xSpatial) {
    return `the shape of dX is unknown: Indices ("${indices}") is not the second output of a MaxPool in this graph and the output "${n.outputs[0]}" has no static spatial dims`;
  }
  const columnMajor = n.attrInt('storage_order', 0) === 1 && rank > 1;
  if (columnMajor && !xSpatial) return 'storage_order=1 needs the static spatial dims of X to convert the indices to row-major';
  const pads = explicitPads(a, ks, xSpatial);
  let ySpatial = staticDims(ctx, dy, 2);
  if (ySpatial && ySpatial.length !== rank) return `dY has rank ${ySpatial.length + 2}, expected ${rank + 2}`;
  if (!ySpatial && xSpatial && pads) {
    ySpatial = xSpatial.map((s, i) => outputSize(s, ks[i], a.strides[i], a.dilations[i], pads[i], pads[i + rank], a.ceilMode));
  }
  let path: MaxPoolGradPlan['path'];
  if (ctx.opset >= 16) {
    path = 'scatter-add';
  } else if (a.strides.every((s, i) => s >= extent(ks[i], a.dilations[i]))) {
    path = 'scatter';
  } else {
    path = 'window';
    if (!xSpatial || !ySpatial || !pads) {
      return `overlapping max-pool windows below opset 16 (no ScatterElements reduction="add") are lowered with static spatial dims of X and dY, which are unknown here; upgrade the model to opset >= 16`;
    }
  }
  return {
    rank, kernel: ks, strides: [...a.strides], dilations: [...a.dilations], pads, columnMajor, forwardInput: x,
    xSpatial, ySpatial, path,
  };
}

/** Column-major flat indices (within each N·C image) -> row-major, for static spatial dims. */
function toRowMajor(ctx: LoweringContext, idx: Value, dims: readonly number[]): Value {
  const { b } = ctx;
  const image = dims.reduce((p, d) => p * d, 1);
  const r = b.op.Mod(idx, b.i64(image));
  let out = b.op.Sub(idx, r);
  let colStride = 1;
  for (let i = 0; i < dims.length; i++) {
    const coord = b.op.Mod(b.op.Div(r, b.i64(colStride)), b.i64(dims[i]));
    const rowStride = dims.slice(i + 1).reduce((p, d) => p * d, 1);
    out = b.op.Add(out, b.op.Mul(coord, b.i64(rowStride)));
    colStride *= dims[i];
  }
  return out;
}

/**
 * Candidate positions of every window tap: table[o…, j] = flat offset (storage order) of tap j of window o
 * inside one image, or −1 when the tap falls into the padding.
 */
function tapTable(p: MaxPoolGradPlan): { table: number[]; taps: number } {
  const xs = p.xSpatial!;
  const ys = p.ySpatial!;
  const k = p.rank;
  const taps = p.kernel.reduce((a, v) => a * v, 1);
  const outCount = ys.reduce((a, v) => a * v, 1);
  const linear = (coord: number[]) => {
    let off = 0;
    if (p.columnMajor) for (let i = k - 1; i >= 0; i--) off = off * xs[i] + coord[i];
    else for (let i = 0; i < k; i++) off = off * xs[i] + coord[i];
    return off;
  };
  const table: number[] = [];
  const o = Array(k).fill(0);
  for (let oi = 0; oi < outCount; oi++) {
    let rest = oi;
    for (let i = k - 1; i >= 0; i--) { o[i] = rest % ys[i]; rest = Math.floor(rest / ys[i]); }
    for (let j = 0; j < taps; j++) {
      let jr = j;
      const coord = Array(k).fill(0);
      let inside = true;
      for (let i = k - 1; i >= 0; i--) {
        const ji = jr % p.kernel[i];
        jr = Math.floor(jr / p.kernel[i]);
        coord[i] = o[i] * p.strides[i] - p.pads![i] + ji * p.dilations[i];
        if (coord[i] < 0 || coord[i] >= xs[i]) inside = false;
      }
      table.push(inside ? linear(coord) : -1);
    }
  }
  return { table, taps };
}

function lower(n: Node, ctx: LoweringContext): (Value | undefined)[] {
  const p = planned(plan(n, ctx), n);
  const { b } = ctx;
  const dy = inputValue(ctx, n, 0)!;
  const indices = inputValue(ctx, n, 1)!;
  const dtype = dtypeOf(ctx, n.input(0)) ?? DataType.FLOAT;
  const k = p.rank;
  // dX's shape: Shape(X) of the forward MaxPool, else N and C from dY with the static spatial dims.
  const xShape = p.forwardInput
    ? b.op.Shape(b.value(p.forwardInput))
    : b.op.Concat([shapeSlice(b, dy, 0, 2), b.i64(p.xSpatial!)], 0);

  if (p.path === 'window') {
    const xs = p.xSpatial!;
    const ys = p.ySpatial!;
    const { table, taps } = tapTable(p);
    const image = xs.reduce((a, v) => a * v, 1);
    const local = b.op.Unsqueeze(b.op.Mod(indices, b.i64(image)), [2 + k]);
    const hit = b.op.Equal(local, b.const(table.map((v) => BigInt(v)), DataType.INT64, [...ys, taps]));
    const routed = b.op.Mul(b.op.Cast(hit, dtype), b.op.Unsqueeze(dy, [2 + k]));
    const stacked = b.op.Transpose(b.op.Reshape(routed, [-1, ...ys, taps]), [0, k + 1, ...Array.from({ length: k }, (_, i) => i + 1)]);
    const eye = Array.from({ length: taps * taps }, (_, i) => (i % (taps + 1) === 0 ? 1 : 0));
    const weight = b.const(eye, dtype, [taps, 1, ...p.kernel]);
    const fit = transposeFit(xs, ys, p.kernel, p.strides, p.dilations, p.pads!.slice(0, k));
    const placed = b.op.ConvTranspose(stacked, weight, undefined, {
      kernel_shape: p.kernel, strides: p.strides, dilations: p.dilations, pads: fit.pads,
      output_padding: fit.outputPadding.some((v) => v > 0) ? fit.outputPadding : undefined,
    });
    return [b.op.Reshape(placed, xShape)];
  }

  let idx = b.op.Reshape(indices, [-1]);
  if (p.columnMajor) idx = toRowMajor(ctx, idx, p.xSpatial!);
  const zeros = b.op.Reshape(b.op.ConstantOfShape(xShape, 0, dtype), [-1]);
  const scattered = b.op.ScatterElements(zeros, idx, b.op.Reshape(dy, [-1]), 0, p.path === 'scatter-add' ? 'add' : undefined);
  return [b.op.Reshape(scattered, xShape)];
}

const check = (n: Node, ctx: LoweringContext) => {
  const p = plan(n, ctx);
  return typeof p === 'string' ? p : undefined;
};

/** MaxPoolGrad as ORT registers it (default domain). */
export const maxPoolGrad: LoweringRule = { op: 'ai.onnx::MaxPoolGrad', minOpset: MIN_OPSET, check, lower };
/** The same op if a producer put it in com.microsoft. */
export const maxPoolGradMs: LoweringRule = { op: `${MS_DOMAIN}::MaxPoolGrad`, minOpset: MIN_OPSET, check, lower };
