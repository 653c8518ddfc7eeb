/**
 * Independent float64 reference math for the conv / pool / norm lowering tests, written from the operator
 * definitions with plain loops (direct convolution sums, textbook chain-rule gradients) — deliberately not the
 * formulations the lowering rules emit.
 */
import { mulberry32 } from '../../src/util/prng.js';

export interface Tensor {
  dims: number[];
  data: Float64Array;
}

export const size = (dims: readonly number[]) => dims.reduce((a, d) => a * d, 1);
export const tensor = (dims: number[], data?: ArrayLike<number>): Tensor => ({ dims, data: data ? Float64Array.from(data) : new Float64Array(size(dims)) });

/** Deterministic PRNG (mulberry32) giving uniform values in [lo, hi). */
export function rng(seed: number): (lo?: number, hi?: number) => number {
  const u = mulberry32(seed);
  return (lo = -1, hi = 1) => lo + (hi - lo) * u();
}

export function randomTensor(dims: number[], r: (lo?: number, hi?: number) => number, lo = -1, hi = 1): Tensor {
  const t = tensor(dims);
  for (let i = 0; i < t.data.length; i++) t.data[i] = r(lo, hi);
  return t;
}

/** Row-major strides of dims. */
function strides(dims: readonly number[]): number[] {
  const s = Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Calls fn for every multi-index of dims (row-major order). */
function forEachIndex(dims: readonly number[], fn: (idx: number[], flat: number) => void): void {
  const n = size(dims);
  const idx = Array(dims.length).fill(0);
  for (let f = 0; f < n; f++) {
    let r = f;
    for (let i = dims.length - 1; i >= 0; i--) { idx[i] = r % dims[i]; r = Math.floor(r / dims[i]); }
    fn(idx, f);
  }
}

// ---------------------------------------------------------------------------------------------------- conv

export interface WindowParams {
  kernel: number[];
  strides?: number[];
  dilations?: number[];
  /** [begin…, end…] */
  pads?: number[];
}

function norm(p: WindowParams) {
  const k = p.kernel.length;
  return {
    kernel: p.kernel,
    strides: p.strides ?? Array(k).fill(1),
    dilations: p.dilations ?? Array(k).fill(1),
    pads: p.pads ?? Array(2 * k).fill(0),
  };
}

/** Output spatial size of a sliding window (floor; ceil with the "last window starts inside" rule). */
export function windowOutput(inDims: readonly number[], p: WindowParams, ceil = false): number[] {
  const q = norm(p);
  return inDims.map((s, i) => {
    const span = s + q.pads[i] + q.pads[i + inDims.length] - ((q.kernel[i] - 1) * q.dilations[i] + 1);
    if (!ceil) return Math.floor(span / q.strides[i]) + 1;
    let o = Math.ceil(span / q.strides[i]) + 1;
    if ((o - 1) * q.strides[i] >= s + q.pads[i]) o--;
    return o;
  });
}

/**
 * Direct convolution gradient: Y[n,m,o] = Σ_{c,j} X[n, g·Cg + c, o·s − b + j·d] · W[m, c, j] + B[m]; returns
 * dX, dW, dB of L = Σ dY·Y by accumulating every product term's partial derivatives.
 */
export function convGrad(dy: Tensor, x: Tensor, w: Tensor, group: number, p: WindowParams): { dX: Tensor; dW: Tensor; dB: Tensor } {
  const q = norm(p);
  const k = q.kernel.length;
  const [N, C] = x.dims;
  const M = w.dims[0];
  const cg = C / group;
  const mg = M / group;
  const xs = x.dims.slice(2);
  const ys = dy.dims.slice(2);
  const xStr = strides(x.dims);
  const wStr = strides(w.dims);
  const dX = tensor(x.dims);
  const dW = tensor(w.dims);
  const dB = tensor([M]);
  const pos = Array(k).fill(0);
  forEachIndex(dy.dims, (yi, yf) => {
    const [n, m] = yi;
    const g = Math.floor(m / mg);
    const gy = dy.data[yf];
    dB.data[m] += gy;
    for (let c = 0; c < cg; c++) {
      forEachIndex(q.kernel, (j) => {
        let inside = true;
        for (let i = 0; i < k; i++) {
          pos[i] = yi[2 + i] * q.strides[i] - q.pads[i] + j[i] * q.dilations[i];
          if (pos[i] < 0 || pos[i] >= xs[i]) inside = false;
        }
        if (!inside) return;
        let xf = n * xStr[0] + (g * cg + c) * xStr[1];
        let wf = m * wStr[0] + c * wStr[1];
        for (let i = 0; i < k; i++) { xf += pos[i] * xStr[2 + i]; wf += j[i] * wStr[2 + i]; }
        dX.data[xf] += w.data[wf] * gy;
        dW.data[wf] += x.data[xf] * gy;
      });
    }
  });
  void ys;
  return { dX, dW, dB };
}

// ---------------------------------------------------------------------------------------------------- pooling

/**
 * MaxPool with ORT's Indices: flat index over N·C·spatial, row-major within the image, or column-major with
 * storageOrder=1; taps in the padding are skipped; the first maximum wins.
 */
export function maxPool(x: Tensor, p: WindowParams & { ceil?: boolean; storageOrder?: number }): { y: Tensor; indices: bigint[] } {
  const q = norm(p);
  const k = q.kernel.length;
  const xs = x.dims.slice(2);
  const ys = windowOutput(xs, p, p.ceil);
  const image = size(xs);
  const y = tensor([x.dims[0], x.dims[1], ...ys]);
  const indices: bigint[] = [];
  const outImage = size(ys);
  const pos = Array(k).fill(0);
  for (let nc = 0; nc < x.dims[0] * x.dims[1]; nc++) {
    forEachIndex(ys, (o, of) => {
      let best = -Infinity;
      let bestIdx = -1;
      forEachIndex(q.kernel, (j) => {
        for (let i = 0; i < k; i++) {
          pos[i] = o[i] * q.strides[i] - q.pads[i] + j[i] * q.dilations[i];
          if (pos[i] < 0 || pos[i] >= xs[i]) return;
        }
        let rm = 0;
        for (let i = 0; i < k; i++) rm = rm * xs[i] + pos[i];
        const v = x.data[nc * image + rm];
        if (v > best) {
          best = v;
          let cm = 0;
          for (let i = k - 1; i >= 0; i--) cm = cm * xs[i] + pos[i];
          bestIdx = p.storageOrder === 1 ? cm : rm;
        }
      });
      y.data[nc * outImage + of] = best;
      indices.push(BigInt(nc * image + bestIdx));
    });
  }
  return { y, indices };
}

/** Gradient of MaxPool: each dY element added at the X position its index names (decoding column-major). */
export function maxPoolGrad(dy: Tensor, indices: readonly bigint[], xDims: number[], storageOrder = 0): Tensor {
  const xs = xDims.slice(2);
  const image = size(xs);
  const dX = tensor(xDims);
  indices.forEach((bi, i) => {
    const idx = Number(bi);
    const base = idx - (idx % image);
    let r = idx % image;
    let flat = r;
    if (storageOrder === 1) {
      const coord = Array(xs.length).fill(0);
      for (let d = 0; d < xs.length; d++) { coord[d] = r % xs[d]; r = Math.floor(r / xs[d]); }
      flat = 0;
      for (let d = 0; d < xs.length; d++) flat = flat * xs[d] + coord[d];
    }
    dX.data[base + flat] += dy.data[i];
  });
  return dX;
}

/**
 * Gradient of AveragePool as ORT's forward defines it: window taps o·s − b + j·d below min(o·s − b + k·d,
 * in + e); divisor = number of those taps (count_include_pad) or of the taps inside X; no tap inside → 0.
 */
export function averagePoolGrad(dy: Tensor, xDims: number[], p: WindowParams & { countIncludePad?: boolean }): Tensor {
  const q = norm(p);
  const k = q.kernel.length;
  const xs = xDims.slice(2);
  const ys = dy.dims.slice(2);
  const image = size(xs);
  const outImage = size(ys);
  const dX = tensor(xDims);
  for (let nc = 0; nc < xDims[0] * xDims[1]; nc++) {
    forEachIndex(ys, (o, of) => {
      const taps: number[] = [];
      let all = 0;
      forEachIndex(q.kernel, (j) => {
        let flat = 0;
        let inside = true;
        for (let i = 0; i < k; i++) {
          const start = o[i] * q.strides[i] - q.pads[i];
          const pos = start + j[i] * q.dilations[i];
          if (pos >= Math.min(start + q.kernel[i] * q.dilations[i], xs[i] + q.pads[i + k])) return;
          if (pos < 0 || pos >= xs[i]) inside = false;
          flat = flat * xs[i] + pos;
        }
        all++;
        if (inside) taps.push(flat);
      });
      if (taps.length === 0) return;
      const share = dy.data[nc * outImage + of] / (p.countIncludePad ? all : taps.length);
      for (const t of taps) dX.data[nc * image + t] += share;
    });
  }
  return dX;
}

// ---------------------------------------------------------------------------------------------------- batch norm

/** Training-mode batch norm over N and spatial dims, with ORT's momentum convention and biased variance. */
export function batchNormTrain(x: Tensor, scale: ArrayLike<number>, bias: ArrayLike<number>, inMean: ArrayLike<number>, inVar: ArrayLike<number>, eps: number, momentum: number) {
  const [N, C] = x.dims;
  const L = size(x.dims.slice(2));
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) s += x.data[(n * C + c) * L + l];
    mean[c] = s / (N * L);
    let v = 0;
    for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) v += (x.data[(n * C + c) * L + l] - mean[c]) ** 2;
    variance[c] = v / (N * L);
  }
  const invStd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const y = tensor(x.dims);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let l = 0; l < L; l++) {
    const f = (n * C + c) * L + l;
    y.data[f] = (x.data[f] - mean[c]) * invStd[c] * scale[c] + bias[c];
  }
  return {
    y, savedMean: mean, savedInvStd: invStd,
    runningMean: Float64Array.from(mean, (m, c) => inMean[c] * momentum + m * (1 - momentum)),
    runningVar: Float64Array.from(variance, (v, c) => inVar[c] * momentum + v * (1 - momentum)),
  };
}

/**
 * Batch-norm gradient by the chain rule through mean and variance (σ² + ε = 1/inv²):
 * dx̂ = dY·γ; dσ² = Σ dx̂·(x−μ)·(−½)(σ²+ε)^(−3/2); dμ = −Σ dx̂·inv + dσ²·Σ −2(x−μ)/M;
 * dX = dx̂·inv + dσ²·2(x−μ)/M + dμ/M; dγ = Σ dY·(x−μ)·inv; dβ = Σ dY.
 */
export function batchNormGrad(dy: Tensor, x: Tensor, scale: ArrayLike<number>, mean: ArrayLike<number>, invStd: ArrayLike<number>) {
  const [N, C] = x.dims;
  const L = size(x.dims.slice(2));
  const M = N * L;
  const dX = tensor(x.dims);
  const dScale = new Float64Array(C);
  const dBias = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const inv = invStd[c];
    const varEps = 1 / (inv * inv);
    let dVar = 0;
    let dMeanA = 0;
    let sumCentered = 0;
    const each = (fn: (f: number) => void) => { for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) fn((n * C + c) * L + l); };
    each((f) => {
      const dxh = dy.data[f] * scale[c];
      const xc = x.data[f] - mean[c];
      dVar += dxh * xc * -0.5 * varEps ** -1.5;
      dMeanA += -dxh * inv;
      sumCentered += -2 * xc;
      dScale[c] += dy.data[f] * xc * inv;
      dBias[c] += dy.data[f];
    });
    const dMean = dMeanA + dVar * sumCentered / M;
    each((f) => {
      const xc = x.data[f] - mean[c];
      dX.data[f] = dy.data[f] * scale[c] * inv + dVar * 2 * xc / M + dMean / M;
    });
  }
  return { dX, dScale, dBias };
}

// ---------------------------------------------------------------------------------------------------- layer norms

/** Rows × cols view of a LayerNormalization input at `axis`. */
function rowsCols(dims: readonly number[], axis: number): [number, number] {
  const a = axis < 0 ? axis + dims.length : axis;
  return [size(dims.slice(0, a)), size(dims.slice(a))];
}

export function layerNorm(x: Tensor, axis: number, scale: ArrayLike<number>, bias: ArrayLike<number> | undefined, eps: number) {
  const [R, K] = rowsCols(x.dims, axis);
  const y = tensor(x.dims);
  const mean = new Float64Array(R);
  const invStd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < K; c++) s += x.data[r * K + c];
    mean[r] = s / K;
    let v = 0;
    for (let c = 0; c < K; c++) v += (x.data[r * K + c] - mean[r]) ** 2;
    invStd[r] = 1 / Math.sqrt(v / K + eps);
    for (let c = 0; c < K; c++) y.data[r * K + c] = (x.data[r * K + c] - mean[r]) * invStd[r] * scale[c] + (bias ? bias[c] : 0);
  }
  return { y, mean, invStd };
}

/**
 * Layer-norm gradient by the chain rule per row (σ² + ε = 1/inv²), same shape as batchNormGrad with the roles
 * of rows and channels exchanged; dScale, dBias summed over rows.
 */
export function layerNormGrad(dy: Tensor, x: Tensor, axis: number, scale: ArrayLike<number>, mean: ArrayLike<number>, invStd: ArrayLike<number>) {
  const [R, K] = rowsCols(x.dims, axis);
  const dX = tensor(x.dims);
  const dScale = new Float64Array(K);
  const dBias = new Float64Array(K);
  for (let r = 0; r < R; r++) {
    const inv = invStd[r];
    const varEps = 1 / (inv * inv);
    let dVar = 0;
    let dMeanA = 0;
    let sumCentered = 0;
    for (let c = 0; c < K; c++) {
      const f = r * K + c;
      const dxh = dy.data[f] * scale[c];
      const xc = x.data[f] - mean[r];
      dVar += dxh * xc * -0.5 * varEps ** -1.5;
      dMeanA += -dxh * inv;
      sumCentered += -2 * xc;
      dScale[c] += dy.data[f] * xc * inv;
      dBias[c] += dy.data[f];
    }
    const dMean = dMeanA + dVar * sumCentered / K;
    for (let c = 0; c < K; c++) {
      const f = r * K + c;
      dX.data[f] = dy.data[f] * scale[c] * inv + dVar * 2 * (x.data[f] - mean[r]) / K + dMean / K;
    }
  }
  return { dX, dScale, dBias };
}

export function rmsNorm(x: Tensor, axis: number, scale: ArrayLike<number>, eps: number) {
  const [R, K] = rowsCols(x.dims, axis);
  const y = tensor(x.dims);
  const invStd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < K; c++) s += x.data[r * K + c] ** 2;
    invStd[r] = 1 / Math.sqrt(s / K + eps);
    for (let c = 0; c < K; c++) y.data[r * K + c] = x.data[r * K + c] * invStd[r] * scale[c];
  }
  return { y, invStd };
}

/** RMSNorm gradient: y_i = x_i·ρ·γ_i with ρ = (Σx²/K + ε)^(−½), ∂ρ/∂x_i = −ρ³·x_i/K. */
export function rmsNormGrad(dy: Tensor, x: Tensor, axis: number, scale: ArrayLike<number>, invStd: ArrayLike<number>) {
  const [R, K] = rowsCols(x.dims, axis);
  const dX = tensor(x.dims);
  const dScale = new Float64Array(K);
  for (let r = 0; r < R; r++) {
    const rho = invStd[r];
    let dot = 0;
    for (let c = 0; c < K; c++) dot += scale[c] * dy.data[r * K + c] * x.data[r * K + c];
    for (let c = 0; c < K; c++) {
      const f = r * K + c;
      dX.data[f] = rho * scale[c] * dy.data[f] - rho ** 3 * x.data[f] / K * dot;
      dScale[c] += dy.data[f] * x.data[f] * rho;
    }
  }
  return { dX, dScale };
}
