/**
 * Independent float64 reference math for the element-wise lowering rules, written from the ORT kernels' and
 * ONNX specs' definitions (not from the lowered graphs): activations and their gradients, softmax gradients,
 * batched matmul with FusedMatMul's transposes, Gather/GatherElements/Slice gradients, broadcasting reduction
 * axes, DivGrad, ReduceSum and the uint32 dropout bitmask. Arrays are flat row-major with explicit dims.
 */

export type Dims = readonly number[];
export type Arr = ArrayLike<number>;

export const numel = (dims: Dims): number => dims.reduce((p, d) => p * d, 1);

export function strides(dims: Dims): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Multi-index of flat position `p`. */
export function unravel(p: number, dims: Dims): number[] {
  const st = strides(dims);
  return dims.map((_, i) => Math.floor(p / st[i]) % dims[i]);
}

export function ravel(idx: readonly number[], dims: Dims): number {
  const st = strides(dims);
  return idx.reduce((p, v, i) => p + v * st[i], 0);
}

const norm = (axis: number, r: number) => (axis < 0 ? axis + r : axis);

// ------------------------------------------------------------------------------------------- activations

/** erf(x) to ~1e-15: Maclaurin series for |x| < 3, continued fraction for erfc beyond. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))), evaluated backwards.
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

const phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
const pdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
const A = Math.sqrt(2 / Math.PI);
const G = 0.044715;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export const gelu = (x: number): number => x * phi(x);
export const geluGrad = (dy: number, x: number): number => dy * (phi(x) + x * pdf(x));
export const fastGelu = (x: number): number => 0.5 * x * (1 + Math.tanh(A * (x + G * x ** 3)));
export function fastGeluGrad(dy: number, x: number): number {
  const t = Math.tanh(A * (x + G * x ** 3));
  return dy * 0.5 * (1 + t + x * (1 - t * t) * A * (1 + 3 * G * x * x));
}
export const quickGelu = (x: number, alpha: number): number => x * sigmoid(alpha * x);
export function quickGeluGrad(dy: number, x: number, alpha: number): number {
  const s = sigmoid(alpha * x);
  return dy * (s + alpha * x * s * (1 - s));
}
export const sigmoidGrad = (dy: number, y: number): number => dy * y * (1 - y);
export const tanhGrad = (dy: number, y: number): number => dy * (1 - y * y);
export const leakyReluGrad = (dy: number, y: number, alpha: number): number => (y > 0 ? dy : alpha * dy);

export const map1 = (x: Arr, f: (v: number) => number): number[] => Array.from(x, f);
export const map2 = (a: Arr, b: Arr, f: (u: number, v: number) => number): number[] => Array.from(a, (u, i) => f(u, b[i]));

// ------------------------------------------------------------------------------------------- softmax

/** Groups of flat positions that one softmax normalises over: all positions differing only on `axes`. */
function groups(dims: Dims, axes: readonly number[]): number[][] {
  const set = new Set(axes.map((a) => norm(a, dims.length)));
  const out = new Map<string, number[]>();
  for (let p = 0; p < numel(dims); p++) {
    const key = unravel(p, dims).map((v, i) => (set.has(i) ? '*' : v)).join(',');
    let g = out.get(key);
    if (!g) out.set(key, (g = []));
    g.push(p);
  }
  return [...out.values()];
}

/** The axes a softmax normalises over: [axis] (opset 13) or [axis, rank) (coerced 2-D, opset < 13). */
export function softmaxAxes(rank: number, axis: number, coerced: boolean): number[] {
  const a = norm(axis, rank);
  return coerced ? Array.from({ length: rank - a }, (_, i) => a + i) : [a];
}

export function softmax(x: Arr, dims: Dims, axes: readonly number[]): number[] {
  const y = new Array<number>(x.length);
  for (const g of groups(dims, axes)) {
    const m = Math.max(...g.map((p) => x[p]));
    const s = g.reduce((acc, p) => acc + Math.exp(x[p] - m), 0);
    for (const p of g) y[p] = Math.exp(x[p] - m) / s;
  }
  return y;
}

export const logSoftmax = (x: Arr, dims: Dims, axes: readonly number[]): number[] => softmax(x, dims, axes).map(Math.log);

/** dX = Y·(dY − Σ Y·dY) over each group. */
export function softmaxGrad(dy: Arr, y: Arr, dims: Dims, axes: readonly number[]): number[] {
  const dx = new Array<number>(dy.length);
  for (const g of groups(dims, axes)) {
    const dot = g.reduce((acc, p) => acc + y[p] * dy[p], 0);
    for (const p of g) dx[p] = y[p] * (dy[p] - dot);
  }
  return dx;
}

/** dX = dY − exp(Y)·Σ dY over each group (Y = log-softmax output). */
export function logSoftmaxGrad(dy: Arr, y: Arr, dims: Dims, axes: readonly number[]): number[] {
  const dx = new Array<number>(dy.length);
  for (const g of groups(dims, axes)) {
    const s = g.reduce((acc, p) => acc + dy[p], 0);
    for (const p of g) dx[p] = dy[p] - Math.exp(y[p]) * s;
  }
  return dx;
}

// ------------------------------------------------------------------------------------------- matmul

export function transpose(x: Arr, dims: Dims, perm: readonly number[]): { data: number[]; dims: number[] } {
  const od = perm.map((p) => dims[p]);
  const data = new Array<number>(x.length);
  for (let q = 0; q < x.length; q++) {
    const oi = unravel(q, od);
    const ii = new Array<number>(dims.length);
    perm.forEach((p, k) => (ii[p] = oi[k]));
    data[q] = x[ravel(ii, dims)];
  }
  return { data, dims: od };
}

/** numpy matmul with batch broadcasting and 1-D promotion. */
export function matmul(a: Arr, ad: Dims, b: Arr, bd: Dims): { data: number[]; dims: number[] } {
  const A2 = ad.length === 1 ? [1, ad[0]] : [...ad];
  const B2 = bd.length === 1 ? [bd[0], 1] : [...bd];
  const [M, K] = A2.slice(-2);
  const [K2, N] = B2.slice(-2);
  if (K !== K2) throw new Error(`matmul: ${K} vs ${K2}`);
  const ab = A2.slice(0, -2);
  const bb = B2.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const pa = [...Array(r - ab.length).fill(1), ...ab];
  const pb = [...Array(r - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const out: number[] = [];
  for (let q = 0; q < numel(batch); q++) {
    const bi = unravel(q, batch);
    const ia = ravel(bi.map((v, i) => (pa[i] === 1 ? 0 : v)), pa) * M * K;
    const ib = ravel(bi.map((v, i) => (pb[i] === 1 ? 0 : v)), pb) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ia + m * K + k] * b[ib + k * N + n];
        out.push(s);
      }
    }
  }
  const dims = [...batch, ...(ad.length === 1 ? [] : [M]), ...(bd.length === 1 ? [] : [N])];
  return { data: out, dims };
}

/**
 * com.microsoft FusedMatMul written from its shape-inference definition: an operand of rank r ≥ 2 is read as
 * batch dims (r−2 of them; dims 1…r−2 with transBatch, else 0…r−3) then rows/cols (with transBatch, rows = dim
 * 0; trans swaps rows and cols).
 */
export function fusedMatMul(a: Arr, ad: Dims, b: Arr, bd: Dims, o: { alpha?: number; transA?: boolean; transB?: boolean; transBatchA?: boolean; transBatchB?: boolean }) {
  const view = (x: Arr, d: Dims, trans: boolean, batch: boolean) => {
    const r = d.length;
    if (r < 2) return { data: Array.from(x), dims: [...d] };
    const batchAxes = batch ? Array.from({ length: r - 2 }, (_, i) => i + 1) : Array.from({ length: r - 2 }, (_, i) => i);
    const rows = batch ? 0 : r - 2;
    const cols = r - 1;
    return transpose(x, d, [...batchAxes, trans ? cols : rows, trans ? rows : cols]);
  };
  const va = view(a, ad, !!o.transA, !!o.transBatchA);
  const vb = view(b, bd, !!o.transB, !!o.transBatchB);
  const y = matmul(va.data, va.dims, vb.data, vb.dims);
  return { data: y.data.map((v) => v * (o.alpha ?? 1)), dims: y.dims };
}

// ------------------------------------------------------------------------------------------- indexing

/** Gather's gradient: dX[pre, idx[j], post] += dY[pre, j, post]. */
export function gatherGrad(shape: Dims, indices: Arr, idxDims: Dims, dy: Arr, axis: number): number[] {
  const r = shape.length;
  const a = norm(axis, r);
  const P = numel(shape.slice(0, a));
  const D = shape[a];
  const Q = numel(shape.slice(a + 1));
  const Nn = numel(idxDims);
  const dx = new Array<number>(numel(shape)).fill(0);
  for (let p = 0; p < P; p++) {
    for (let j = 0; j < Nn; j++) {
      const i = indices[j] < 0 ? indices[j] + D : indices[j];
      for (let q = 0; q < Q; q++) dx[(p * D + i) * Q + q] += dy[(p * Nn + j) * Q + q];
    }
  }
  return dx;
}

/** GatherElements' gradient: dX[..., idx[e], ...] += dY[e] along `axis`. */
export function gatherElementsGrad(shape: Dims, indices: Arr, idxDims: Dims, dy: Arr, axis: number): number[] {
  const a = norm(axis, shape.length);
  const dx = new Array<number>(numel(shape)).fill(0);
  for (let e = 0; e < numel(idxDims); e++) {
    const ii = unravel(e, idxDims);
    const i = indices[e] < 0 ? indices[e] + shape[a] : indices[e];
    ii[a] = i;
    dx[ravel(ii, shape)] += dy[e];
  }
  return dx;
}

/**
 * The flat positions an ONNX Slice selects, in output order (onnx/docs/Operators.md#Slice: negative starts/ends
 * add the dim; starts clamp to [0, d] (step > 0) or [0, d−1] (step < 0); ends to [0, d] or [−1, d−1]).
 */
export function slicePositions(dims: Dims, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): { positions: number[]; dims: number[] } {
  const r = dims.length;
  const ranges = dims.map((d) => Array.from({ length: d }, (_, i) => i));
  (axes ?? starts.map((_, i) => i)).forEach((a0, k) => {
    const a = norm(a0, r);
    const d = dims[a];
    const step = steps?.[k] ?? 1;
    let s = starts[k] < 0 ? starts[k] + d : starts[k];
    let e = ends[k] < 0 ? ends[k] + d : ends[k];
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    const pick: number[] = [];
    for (let i = s; step > 0 ? i < e : i > e; i += step) pick.push(i);
    ranges[a] = pick;
  });
  const od = ranges.map((x) => x.length);
  const positions: number[] = [];
  for (let q = 0; q < numel(od); q++) positions.push(ravel(unravel(q, od).map((v, i) => ranges[i][v]), dims));
  return { positions, dims: od };
}

export function sliceGrad(dy: Arr, dims: Dims, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): number[] {
  const dx = new Array<number>(numel(dims)).fill(0);
  slicePositions(dims, starts, ends, axes, steps).positions.forEach((p, q) => (dx[p] = dy[q]));
  return dx;
}

// ------------------------------------------------------------------------------------------- broadcasting

/** ms::BroadcastGradientArgs, straight from the kernel's loop (descending axes). */
export function broadcastGradientArgs(a: Dims, b: Dims): { a: number[]; b: number[] } {
  const ax: number[] = [];
  const bx: number[] = [];
  let i = a.length - 1;
  let j = b.length - 1;
  let k = Math.max(a.length, b.length) - 1;
  for (; i >= 0 && j >= 0; k--, i--, j--) {
    if (a[i] === b[j]) continue;
    if (a[i] === 1) ax.push(k);
    else if (b[j] === 1) bx.push(k);
    else throw new Error(`not broadcastable: ${a} vs ${b}`);
  }
  for (; k >= 0; k--) (i < 0 ? ax : bx).push(k);
  return { a: ax, b: bx };
}

export function broadcastDims(a: Dims, b: Dims): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, k) => {
    const da = a[k - (r - a.length)] ?? 1;
    const db = b[k - (r - b.length)] ?? 1;
    return da === 1 ? db : da;
  });
}

/** Value of `x` (dims `d`) at output position `oi` of a broadcast to rank oi.length. */
function at(x: Arr, d: Dims, oi: readonly number[]): number {
  const off = oi.length - d.length;
  return x[ravel(d.map((n, i) => (n === 1 ? 0 : oi[i + off])), d)];
}

/** Sums a full-size gradient `g` (dims `gd`) back to the operand shape `d`. */
export function sumTo(g: Arr, gd: Dims, d: Dims): number[] {
  const out = new Array<number>(numel(d)).fill(0);
  const off = gd.length - d.length;
  for (let q = 0; q < g.length; q++) {
    const oi = unravel(q, gd);
    out[ravel(d.map((n, i) => (n === 1 ? 0 : oi[i + off])), d)] += g[q];
  }
  return out;
}

/** d(A/B): dA = Σ dY/B, dB = Σ −dY·A/B², each summed back to its operand's shape. */
export function divGrad(dy: Arr, a: Arr, ad: Dims, b: Arr, bd: Dims): { dA: number[]; dB: number[] } {
  const yd = broadcastDims(ad, bd);
  const ga: number[] = [];
  const gb: number[] = [];
  for (let q = 0; q < numel(yd); q++) {
    const oi = unravel(q, yd);
    const av = at(a, ad, oi);
    const bv = at(b, bd, oi);
    ga.push(dy[q] / bv);
    gb.push((-dy[q] * av) / (bv * bv));
  }
  return { dA: sumTo(ga, yd, ad), dB: sumTo(gb, yd, bd) };
}

/** ReduceSum-13: empty axes reduce everything unless noop. Returns data and output dims. */
export function reduceSum(x: Arr, dims: Dims, axes: readonly number[], keepdims: boolean, noopWithEmptyAxes: boolean): { data: number[]; dims: number[] } {
  if (axes.length === 0 && noopWithEmptyAxes) return { data: Array.from(x), dims: [...dims] };
  const set = new Set(axes.length ? axes.map((a) => norm(a, dims.length)) : dims.map((_, i) => i));
  const kd = dims.map((d, i) => (set.has(i) ? 1 : d));
  const out = new Array<number>(numel(kd)).fill(0);
  for (let p = 0; p < x.length; p++) out[ravel(unravel(p, dims).map((v, i) => (set.has(i) ? 0 : v)), kd)] += x[p];
  return { data: out, dims: keepdims ? kd : dims.filter((_, i) => !set.has(i)) };
}

// ------------------------------------------------------------------------------------------- dropout, concat, split

export const dropoutGrad = (dy: Arr, mask: ArrayLike<boolean | number>, ratio: number): number[] =>
  Array.from(dy, (v, i) => (ratio === 0 ? v : mask[i] ? v / (1 - ratio) : 0));

/** ORT's BitmaskDropout layout: element i is bit (i mod 32) of uint32 word ⌊i/32⌋. */
export function packBitmask(mask: ArrayLike<boolean | number>): Uint32Array {
  const words = new Uint32Array(Math.ceil(mask.length / 32));
  for (let i = 0; i < mask.length; i++) if (mask[i]) words[i >>> 5] |= 1 << (i & 31);
  return words;
}

export function unpackBitmask(words: ArrayLike<number>, n: number): boolean[] {
  return Array.from({ length: n }, (_, i) => ((words[i >>> 5] >>> (i & 31)) & 1) === 1);
}

export function concat(parts: { data: Arr; dims: Dims }[], axis: number): { data: number[]; dims: number[] } {
  const r = parts[0].dims.length;
  const a = norm(axis, r);
  const dims = [...parts[0].dims];
  dims[a] = parts.reduce((s, p) => s + p.dims[a], 0);
  const out = new Array<number>(numel(dims));
  let offset = 0;
  for (const p of parts) {
    for (let q = 0; q < p.data.length; q++) {
      const ii = unravel(q, p.dims);
      ii[a] += offset;
      out[ravel(ii, dims)] = p.data[q];
    }
    offset += p.dims[a];
  }
  return { data: out, dims };
}

export function split(x: Arr, dims: Dims, axis: number, sizes: readonly number[]): { data: number[]; dims: number[] }[] {
  const a = norm(axis, dims.length);
  let offset = 0;
  return sizes.map((s) => {
    const od = [...dims];
    od[a] = s;
    const data = Array.from({ length: numel(od) }, (_, q) => {
      const ii = unravel(q, od);
      ii[a] += offset;
      return x[ravel(ii, dims)];
    });
    offset += s;
    return { data, dims: od };
  });
}
