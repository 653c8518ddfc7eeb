/**
 * Sliding-window geometry shared by ConvGrad, MaxPoolGrad and AveragePoolGrad: attribute defaults, auto_pad
 * resolution, output sizes, and the pads / output_padding that make a ConvTranspose (the adjoint of a strided
 * window op) produce exactly the forward input's spatial size.
 *
 * Conventions (ONNX): for k spatial dims, `pads` = [b_1..b_k, e_1..e_k]; window j of output position o along a
 * dim covers input positions o·s − b + j·d, j = 0..K−1.
 */
import type { Node } from '../../../ir/graph.js';

export type AutoPad = 'NOTSET' | 'VALID' | 'SAME_UPPER' | 'SAME_LOWER';

export interface WindowAttrs {
  /** Number of spatial dims. */
  readonly rank: number;
  /** Kernel spatial dims, when known (attribute, or weight shape for Conv). */
  readonly kernel: readonly number[] | undefined;
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** Explicit pads from the attribute (zeros when absent); ignored when autoPad is not NOTSET. */
  readonly pads: readonly number[];
  readonly autoPad: AutoPad;
  readonly ceilMode: boolean;
}

/**
 * Reads the window attributes of `n` (`kernel_shape`, `strides`, `dilations`, `pads`, `auto_pad`,
 * `ceil_mode`) with ONNX defaults. `rank` is the number of spatial dims; `kernel` is used when the node has
 * no `kernel_shape`. Returns a reason string when an attribute is malformed.
 */
export function readWindowAttrs(n: Node, rank: number, kernel?: readonly number[]): WindowAttrs | string {
  const ks = n.attrInts('kernel_shape') ?? kernel;
  const strides = n.attrInts('strides') ?? Array(rank).fill(1);
  const dilations = n.attrInts('dilations') ?? Array(rank).fill(1);
  const pads = n.attrInts('pads') ?? Array(2 * rank).fill(0);
  const autoPad = (n.attrString('auto_pad') ?? 'NOTSET') as AutoPad;
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) return `unknown auto_pad "${autoPad}"`;
  if (ks && ks.length !== rank) return `kernel_shape has ${ks.length} dims, expected ${rank}`;
  if (strides.length !== rank) return `strides has ${strides.length} values, expected ${rank}`;
  if (dilations.length !== rank) return `dilations has ${dilations.length} values, expected ${rank}`;
  if (pads.length !== 2 * rank) return `pads has ${pads.length} values, expected ${2 * rank}`;
  if (strides.some((s) => s < 1) || dilations.some((d) => d < 1)) return 'strides and dilations must be >= 1';
  if (pads.some((p) => p < 0)) return 'negative pads are not supported';
  if (ks && ks.some((k) => k < 1)) return 'kernel_shape values must be >= 1';
  return { rank, kernel: ks, strides, dilations, pads, autoPad, ceilMode: n.attrInt('ceil_mode', 0) === 1 };
}

/** Effective kernel extent (k−1)·d + 1. */
export function extent(k: number, d: number): number {
  return (k - 1) * d + 1;
}

/**
 * Explicit [begin…, end…] pads. auto_pad SAME_* needs the static input spatial dims (`inDims`); returns
 * undefined when they are required but unknown. SAME_* follows ORT: target size ceil(in/s), total pad
 * max(0, (target−1)·s + (k−1)·d + 1 − in), the odd unit at the end (SAME_UPPER) or the beginning (SAME_LOWER).
 */
export function explicitPads(a: WindowAttrs, kernel: readonly number[], inDims: readonly number[] | undefined): number[] | undefined {
  if (a.autoPad === 'NOTSET') return [...a.pads];
  if (a.autoPad === 'VALID') return Array(2 * a.rank).fill(0);
  if (!inDims) return undefined;
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < a.rank; i++) {
    const target = Math.ceil(inDims[i] / a.strides[i]);
    const total = Math.max(0, (target - 1) * a.strides[i] + extent(kernel[i], a.dilations[i]) - inDims[i]);
    const b = a.autoPad === 'SAME_LOWER' ? Math.ceil(total / 2) : Math.floor(total / 2);
    begin.push(b);
    end.push(total - b);
  }
  return [...begin, ...end];
}

/**
 * Output spatial size of a window op along one dim (ORT's rule: floor, or ceil with ceil_mode where the last
 * window must start inside the input or its leading pad).
 */
export function outputSize(inSize: number, k: number, s: number, d: number, pb: number, pe: number, ceilMode: boolean): number {
  const num = inSize + pb + pe - extent(k, d);
  if (!ceilMode) return Math.floor(num / s) + 1;
  let out = Math.ceil(num / s) + 1;
  if ((out - 1) * s >= inSize + pb) out--;
  return out;
}

/**
 * Pads and output_padding for a ConvTranspose that scatters windows back onto an input of size `inDims`:
 * the windows of `outDims` output positions span s·(O−1) + (k−1)·d + 1 positions starting at −b; cropping b
 * at the start and the overhang past the input at the end (or padding the shortfall, which is < s) yields
 * exactly `inDims`.
 */
export function transposeFit(
  inDims: readonly number[], outDims: readonly number[], kernel: readonly number[], strides: readonly number[],
  dilations: readonly number[], padsBegin: readonly number[],
): { pads: number[]; outputPadding: number[] } {
  const ends: number[] = [];
  const outputPadding: number[] = [];
  for (let i = 0; i < inDims.length; i++) {
    const span = strides[i] * (outDims[i] - 1) + extent(kernel[i], dilations[i]);
    const over = span - padsBegin[i] - inDims[i];
    ends.push(Math.max(over, 0));
    outputPadding.push(Math.max(-over, 0));
  }
  return { pads: [...padsBegin, ...ends], outputPadding };
}
