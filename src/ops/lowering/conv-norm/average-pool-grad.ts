/**
 * AveragePoolGrad(dY) -> dX (default domain, ORT training opset-9 schema; non-standard): the gradient of
 * `Y = AveragePool(X)` with attributes kernel_shape, strides, pads, auto_pad, count_include_pad, ceil_mode
 * (and dilations, which the opset-19 forward has). Each dY element is spread, divided by the divisor the forward
 * used, over the taps of its window that lie inside X. Upstream kernel: orttraining/training_ops/cpu/nn/
 * pool_gradient_op.cc; divisors: onnxruntime/core/providers/cpu/nn/pool_functors.h.
 *
 * Divisor of output position o (per dim, product over dims), as ORT's forward AveragePool computes it:
 * the window [o·s − b, min(o·s − b + k·d, in + e)) on the dilation lattice; count_include_pad=1 → its number
 * of taps, count_include_pad=0 → the taps inside [0, in); a window with no tap inside X contributes nothing.
 *
 * Lowering: dY · (1/divisor) (a constant [O…] table), reshaped to [N·C, 1, O…], ConvTranspose with a ones
 * kernel [1, 1, k…] (strides, dilations, pads/output_padding fitted to X's spatial size), reshaped to
 * [N, C, S…]. Needs the static spatial dims of dX (from the output's value_info — the ORT kernel needs them
 * too) and of dY (or computes them from dX's). N and C stay dynamic.
 */
import type { Value } from '../../../builder/index.js';
import { DataType } from '../../../onnx/dtypes.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext, LoweringRule } from '../rule.js';
import { MIN_OPSET, MS_DOMAIN, dtypeOf, inputValue, opsetReason, planned, shapeSlice, staticDims } from './common.js';
import { explicitPads, outputSize, readWindowAttrs, transposeFit } from './geometry.js';

interface AveragePoolGradPlan {
  rank: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  countIncludePad: boolean;
  xSpatial: number[];
  ySpatial: number[];
}

function plan(n: Node, ctx: LoweringContext): AveragePoolGradPlan | string {
  const dy = n.input(0);
  if (!dy) return 'AveragePoolGrad needs its input dY';
  const tooOld = opsetReason(ctx, MIN_OPSET, 'the AveragePoolGrad lowering');
  if (tooOld) return tooOld;
  const ks = n.attrInts('kernel_shape');
  if (!ks?.length) return 'AveragePoolGrad has no kernel_shape attribute';
  const rank = ks.length;
  const a = readWindowAttrs(n, rank);
  if (typeof a === 'string') return a;
  const xSpatial = staticDims(ctx, n.outputs[0], 2);
  if (!xSpatial || xSpatial.length !== rank) {
    return `the static spatial dims of the output "${n.outputs[0]}" (the forward input's) are unknown; AveragePoolGrad has no input carrying them`;
  }
  const pads = explicitPads(a, ks, xSpatial)!;
  const expect = xSpatial.map((s, i) => outputSize(s, ks[i], a.strides[i], a.dilations[i], pads[i], pads[i + rank], a.ceilMode));
  const ySpatial = staticDims(ctx, dy, 2) ?? expect;
  if (ySpatial.length !== rank) return `dY has rank ${ySpatial.length + 2}, expected ${rank + 2}`;
  if (ySpatial.some((o, i) => o !== expect[i])) {
    return `dY spatial dims [${ySpatial}] do not match pooling the output's spatial dims [${xSpatial}] (expected [${expect}])`;
  }
  return {
    rank, kernel: ks, strides: [...a.strides], dilations: [...a.dilations], pads,
    countIncludePad: n.attrInt('count_include_pad', 0) === 1, xSpatial, ySpatial,
  };
}

/** 1/divisor for every output position (row-major over O…); 0 where a window has no tap inside X. */
function averagePoolReciprocals(p: Pick<AveragePoolGradPlan, 'rank' | 'kernel' | 'strides' | 'dilations' | 'pads' | 'countIncludePad' | 'xSpatial' | 'ySpatial'>): number[] {
  const k = p.rank;
  // Per dim and output position: [taps in the (clipped) padded window, taps inside X].
  const perDim = p.ySpatial.map((o, i) => Array.from({ length: o }, (_, oi) => {
    const start = oi * p.strides[i] - p.pads[i];
    const end = Math.min(start + p.kernel[i] * p.dilations[i], p.xSpatial[i] + p.pads[i + k]);
    let all = 0;
    let inside = 0;
    for (let t = start; t < end; t += p.dilations[i]) {
      all++;
      if (t >= 0 && t < p.xSpatial[i]) inside++;
    }
    return [all, inside];
  }));
  const total = p.ySpatial.reduce((a, v) => a * v, 1);
  const out: number[] = [];
  const o = Array(k).fill(0);
  for (let oi = 0; oi < total; oi++) {
    let rest = oi;
    for (let i = k - 1; i >= 0; i--) { o[i] = rest % p.ySpatial[i]; rest = Math.floor(rest / p.ySpatial[i]); }
    let all = 1;
    let inside = 1;
    for (let i = 0; i < k; i++) { all *= perDim[i][o[i]][0]; inside *= perDim[i][o[i]][1]; }
    out.push(inside === 0 ? 0 : 1 / (p.countIncludePad ? all : inside));
  }
  return out;
}

function lower(n: Node, ctx: LoweringContext): (Value | undefined)[] {
  const p = planned(plan(n, ctx), n);
  const { b } = ctx;
  const dy = inputValue(ctx, n, 0)!;
  const dtype = dtypeOf(ctx, n.input(0)) ?? DataType.FLOAT;
  const k = p.rank;
  const scaled = b.op.Mul(dy, b.const(averagePoolReciprocals(p), dtype, [1, 1, ...p.ySpatial]));
  const fit = transposeFit(p.xSpatial, p.ySpatial, p.kernel, p.strides, p.dilations, p.pads.slice(0, k));
  const ones = b.const(Array(p.kernel.reduce((a, v) => a * v, 1)).fill(1), dtype, [1, 1, ...p.kernel]);
  const spread = b.op.ConvTranspose(b.op.Reshape(scaled, [-1, 1, ...p.ySpatial]), ones, undefined, {
    kernel_shape: p.kernel, strides: p.strides, dilations: p.dilations, pads: fit.pads,
    output_padding: fit.outputPadding.some((v) => v > 0) ? fit.outputPadding : undefined,
  });
  return [b.op.Reshape(spread, b.op.Concat([shapeSlice(b, dy, 0, 2), b.i64(p.xSpatial)], 0))];
}

const check = (n: Node, ctx: LoweringContext) => {
  const p = plan(n, ctx);
  return typeof p === 'string' ? p : undefined;
};

/** AveragePoolGrad as ORT registers it (default domain). */
export const averagePoolGrad: LoweringRule = { op: 'ai.onnx::AveragePoolGrad', minOpset: MIN_OPSET, check, lower };
/** The same op under com.microsoft. */
export const averagePoolGradMs: LoweringRule = { op: `${MS_DOMAIN}::AveragePoolGrad`, minOpset: MIN_OPSET, check, lower };
