/**
 * com.microsoft::ConvGrad(dY, X, W) -> (dX, dW, dB), each output optional: the gradient of
 * `Y = Conv(X, W, B)` with the Conv's attributes (auto_pad, dilations, group, kernel_shape, pads, strides),
 * for 1-D, 2-D and 3-D convolutions. Upstream: orttraining/training_ops/cpu/nn/conv_grad.cc (im2col + Gemm).
 *
 * Lowering (standard ops only):
 * - dB = ReduceSum(dY, axes=[0, 2, …], keepdims=0).
 * - dX = ConvTranspose(dY, W, group, strides, dilations) whose pads / output_padding are chosen so the result
 *   has X's spatial size (the stride remainder of the forward pass is restored as zero rows); when X's spatial
 *   dims are not static, ConvTranspose cropping only the leading pads, then Slice to Shape(X) and a Pad of the
 *   shortfall (both computed at run time).
 * - dW = Conv with the batch as the reduction channel: X rearranged to [C/G, G·N, S…] (group g's batch in
 *   channels g·N…g·N+N−1), dY transposed to [M, N, O…] as the weight, group=G, strides=dilations,
 *   dilations=strides, the forward pads; the result [C/G, M, K'…] (K' ≥ K) is sliced to the kernel and
 *   transposed to [M, C/G, K…].
 *
 * Differences from the ORT kernel: auto_pad SAME_* is honoured (the kernel ignores auto_pad and uses the pads
 * attribute, which is wrong for SAME_*).
 */
import type { Value } from '../../../builder/index.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext, LoweringRule } from '../rule.js';
import {
  MIN_OPSET, MS_DOMAIN, inputValue, opsetReason, planned, rankOf, shapeSlice, staticDim, staticDims, wanted,
} from './common.js';
import { explicitPads, outputSize, readWindowAttrs, transposeFit } from './geometry.js';

interface ConvGradPlan {
  rank: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  group: number;
  /** Input channels per group (needed for dW when group > 1). */
  channelsPerGroup: number | undefined;
  /** Static spatial dims of X and dY (undefined when symbolic). */
  xSpatial: number[] | undefined;
  ySpatial: number[] | undefined;
}

function plan(n: Node, ctx: LoweringContext): ConvGradPlan | string {
  const [dy, x, w] = [n.input(0), n.input(1), n.input(2)];
  if (!dy || !x || !w) return 'ConvGrad needs its three inputs dY, X and W';
  const tooOld = opsetReason(ctx, MIN_OPSET, 'the ConvGrad lowering');
  if (tooOld) return tooOld;
  const ks = n.attrInts('kernel_shape');
  const wr = rankOf(ctx, w) ?? rankOf(ctx, x) ?? rankOf(ctx, dy);
  const rank = ks?.length ?? (wr === undefined ? undefined : wr - 2);
  if (rank === undefined || rank < 1) return 'cannot tell the number of spatial dims: no kernel_shape attribute and no known rank for W, X or dY';
  const kernel = ks ?? staticDims(ctx, w, 2);
  if (!kernel || kernel.length !== rank) return `no kernel_shape attribute and the spatial dims of W ("${w}") are not static`;
  const a = readWindowAttrs(n, rank, kernel);
  if (typeof a === 'string') return a;
  const group = n.attrInt('group', 1);
  if (group < 1) return `group must be >= 1, got ${group}`;
  const xSpatial = staticDims(ctx, x, 2);
  const xs = xSpatial?.length === rank ? xSpatial : undefined;
  const pads = explicitPads(a, kernel, xs);
  if (!pads) return `auto_pad=${a.autoPad} needs the static spatial dims of X ("${x}") to resolve the pads`;
  let ys = staticDims(ctx, dy, 2);
  if (ys && ys.length !== rank) return `dY has rank ${ys.length + 2}, expected ${rank + 2}`;
  if (xs) {
    const expect = xs.map((s, i) => outputSize(s, kernel[i], a.strides[i], a.dilations[i], pads[i], pads[i + rank], false));
    if (ys && ys.some((o, i) => o !== expect[i])) {
      return `dY spatial dims [${ys}] do not match the convolution of X [${xs}] (expected [${expect}])`;
    }
    ys = expect;
  }
  let channelsPerGroup = staticDim(ctx, w, 1);
  if (channelsPerGroup === undefined) {
    const c = staticDim(ctx, x, 1);
    if (c !== undefined) channelsPerGroup = c / group;
  }
  if (group > 1 && wanted(n, 1) && (channelsPerGroup === undefined || !Number.isInteger(channelsPerGroup))) {
    return `dW of a grouped convolution (group=${group}) needs the static channel dim of W or X`;
  }
  return { rank, kernel, strides: [...a.strides], dilations: [...a.dilations], pads, group, channelsPerGroup, xSpatial: xs, ySpatial: ys };
}

function lower(n: Node, ctx: LoweringContext): (Value | undefined)[] {
  const p = planned(plan(n, ctx), n);
  const { b } = ctx;
  const dy = inputValue(ctx, n, 0)!;
  const x = inputValue(ctx, n, 1)!;
  const w = inputValue(ctx, n, 2)!;
  const k = p.rank;
  const spatialAxes = Array.from({ length: k }, (_, i) => i + 2);
  const swap01 = [1, 0, ...spatialAxes];
  let dX: Value | undefined;
  let dW: Value | undefined;
  let dB: Value | undefined;
  if (wanted(n, 0)) {
    if (p.xSpatial && p.ySpatial) {
      const fit = transposeFit(p.xSpatial, p.ySpatial, p.kernel, p.strides, p.dilations, p.pads.slice(0, k));
      dX = b.op.ConvTranspose(dy, w, undefined, {
        group: p.group, kernel_shape: p.kernel, strides: p.strides, dilations: p.dilations, pads: fit.pads,
        output_padding: fit.outputPadding.some((v) => v > 0) ? fit.outputPadding : undefined,
      });
    } else {
      // Spatial sizes only known at run time: scatter every window (cropping only the leading pads), then
      // cut what lies past X (windows reaching into the trailing pads) and zero-fill what no window reached.
      const ct = b.op.ConvTranspose(dy, w, undefined, {
        group: p.group, kernel_shape: p.kernel, strides: p.strides, dilations: p.dilations,
        pads: [...p.pads.slice(0, k), ...Array(k).fill(0)],
      });
      const xSize = shapeSlice(b, x, 2, 2 + k);
      const cut = b.op.Slice(ct, Array(k).fill(0), xSize, spatialAxes);
      const short = b.op.Sub(xSize, shapeSlice(b, cut, 2, 2 + k));
      dX = b.op.Pad(cut, b.op.Concat([b.i64(Array(2 + k + 2).fill(0)), short], 0));
    }
  }
  if (wanted(n, 1)) {
    let xr: Value;
    if (p.group === 1) {
      xr = b.op.Transpose(x, swap01);
    } else {
      const cg = p.channelsPerGroup!;
      const grouped = b.op.Transpose(b.op.Reshape(x, [0, p.group, cg, -1]), [2, 1, 0, 3]);
      const target = p.xSpatial ? [cg, -1, ...p.xSpatial] : b.op.Concat([b.i64([cg, -1]), shapeSlice(b, x, 2, 2 + k)], 0);
      xr = b.op.Reshape(grouped, target);
    }
    const kr = b.op.Transpose(dy, swap01);
    let r = b.op.Conv(xr, kr, undefined, { group: p.group, strides: p.dilations, dilations: p.strides, pads: p.pads });
    const full = p.xSpatial && p.ySpatial
      ? p.xSpatial.map((s, i) => Math.floor((s + p.pads[i] + p.pads[i + k] - (p.ySpatial![i] - 1) * p.strides[i] - 1) / p.dilations[i]) + 1)
      : undefined;
    if (!full || full.some((f, i) => f !== p.kernel[i])) {
      r = b.op.Slice(r, Array(k).fill(0), p.kernel, spatialAxes);
    }
    dW = b.op.Transpose(r, swap01);
  }
  if (wanted(n, 2)) {
    dB = b.op.ReduceSum(dy, [0, ...spatialAxes], 0);
  }
  return [dX, dW, dB];
}

export const convGrad: LoweringRule = {
  op: `${MS_DOMAIN}::ConvGrad`,
  minOpset: MIN_OPSET,
  check: (n, ctx) => {
    const p = plan(n, ctx);
    return typeof p === 'string' ? p : undefined;
  },
  lower,
};
