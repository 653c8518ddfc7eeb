/**
 * Independent reference math for the optimizers, written from the upstream source as element loops: the float32
 * model of shared/reference/optimizer-semantics.md §1.2 (every float32 op rounded with Math.fround; torch CPU's
 * fused `add_(alpha)` / `addcmul_` / `lerp_` as single-rounding fma; Python / numpy hyper-parameter arithmetic in
 * float64; Keras / ORT in float32; reductions computed exactly in float64 and rounded once). Shares no code with
 * src/ops/optim: it is what the emitted graphs are checked against.
 */
const f = Math.fround;
/** float32 fma: a·b is exact in float64 for float32 inputs, so one double add then one float32 rounding. */
const fma = (a: number, b: number, c: number) => f(a * b + c);

export type Arr = Float32Array;
const map = (n: number, fn: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => fn(i));

function sumSq(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

// ---------------------------------------------------------------------------------------------- transformers AdamW

export interface HfAdamWConfig { betas: [number, number]; eps: number; weight_decay: number; correct_bias: boolean }

/** transformers `AdamW.step` for one parameter (t is the 1-based step after the increment). */
export function hfAdamW(p: Arr, g: Arr, s: { exp_avg: Arr; exp_avg_sq: Arr }, t: number, lr: number, c: HfAdamWConfig) {
  const [b1, b2] = c.betas;
  const m = map(p.length, (i) => fma(g[i], f(1 - b1), f(s.exp_avg[i] * f(b1))));
  const v = map(p.length, (i) => fma(f(f(1 - b2) * g[i]), g[i], f(s.exp_avg_sq[i] * f(b2))));
  let stepSize = lr;
  if (c.correct_bias) stepSize = (stepSize * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
  const a = f(-stepSize);
  let out = map(p.length, (i) => f(p[i] + f(f(a * m[i]) / f(f(Math.sqrt(v[i])) + f(c.eps)))));
  if (c.weight_decay > 0) {
    const k = f(-lr * c.weight_decay);
    out = map(p.length, (i) => fma(out[i], k, out[i]));
  }
  return { p: out, state: { exp_avg: m, exp_avg_sq: v } };
}

// ---------------------------------------------------------------------------------------------- torch AdamW

export interface TorchAdamWConfig { betas: [number, number]; eps: number; weight_decay: number; amsgrad: boolean; maximize?: boolean }

/** torch `_single_tensor_adamw` (torch ≥ 2: lerp_) for one parameter. */
export function torchAdamW(p: Arr, g0: Arr, s: { exp_avg: Arr; exp_avg_sq: Arr; max_exp_avg_sq?: Arr }, t: number, lr: number, c: TorchAdamWConfig) {
  const [b1, b2] = c.betas;
  const g = c.maximize ? map(g0.length, (i) => -g0[i]) : g0;
  let q = p;
  if (c.weight_decay !== 0) { const k = f(1 - lr * c.weight_decay); q = map(p.length, (i) => f(p[i] * k)); }
  const w = f(1 - b1);
  const m = map(p.length, (i) => (w < 0.5 ? fma(w, f(g[i] - s.exp_avg[i]), s.exp_avg[i]) : fma(f(w - 1), f(g[i] - s.exp_avg[i]), g[i])));
  const v = map(p.length, (i) => fma(f(f(1 - b2) * g[i]), g[i], f(s.exp_avg_sq[i] * f(b2))));
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  const stepSize = lr / bc1;
  const bc2s = f(Math.sqrt(bc2));
  const state: Record<string, Arr> = { exp_avg: m, exp_avg_sq: v };
  let vv = v;
  if (c.amsgrad) { vv = map(p.length, (i) => Math.max(s.max_exp_avg_sq![i], v[i])); state.max_exp_avg_sq = vv; }
  const a = f(-stepSize);
  const out = map(p.length, (i) => f(q[i] + f(f(a * m[i]) / f(f(f(Math.sqrt(vv[i])) / bc2s) + f(c.eps)))));
  return { p: out, state };
}

// ---------------------------------------------------------------------------------------------- Adafactor

export interface AdafactorConfig {
  lr: number | null; eps: [number, number]; clip_threshold: number; decay_rate: number; beta1: number | null;
  weight_decay: number; scale_parameter: boolean; relative_step: boolean; warmup_init: boolean;
}

const rms = (x: ArrayLike<number>) => f(f(Math.sqrt(sumSq(x))) / f(Math.sqrt(x.length)));

/** transformers `Adafactor.step` for one parameter; returns the step size it used as `lr`. */
export function adafactor(p: Arr, shape: readonly number[], g: Arr, s: Record<string, Arr>, t: number, lr: number | undefined, c: AdafactorConfig) {
  const R = rms(p);
  let rho = c.relative_step ? Math.min(c.warmup_init ? 1e-6 * t : 1e-2, 1 / Math.sqrt(t)) : (lr ?? c.lr!);
  if (!c.relative_step) rho = lr ?? c.lr!;
  const ell = c.scale_parameter ? (R > f(c.eps[1]) ? f(R * f(rho)) : c.eps[1] * rho) : rho;
  const beta2t = 1 - t ** c.decay_rate;
  const u = map(g.length, (i) => f(f(g[i] * g[i]) + f(c.eps[0])));
  const state: Record<string, Arr> = {};
  let upd: Arr;
  if (shape.length >= 2) {
    const C = shape[shape.length - 1];
    const Rr = shape[shape.length - 2];
    const B = g.length / (C * Rr);
    const rowMean = new Float32Array(B * Rr);
    const colMean = new Float32Array(B * C);
    for (let b = 0; b < B; b++) {
      for (let r = 0; r < Rr; r++) { let a = 0; for (let k = 0; k < C; k++) a += u[(b * Rr + r) * C + k]; rowMean[b * Rr + r] = f(a / C); }
      for (let k = 0; k < C; k++) { let a = 0; for (let r = 0; r < Rr; r++) a += u[(b * Rr + r) * C + k]; colMean[b * C + k] = f(a / Rr); }
    }
    const row = map(rowMean.length, (i) => fma(rowMean[i], f(1 - beta2t), f(s.exp_avg_sq_row[i] * f(beta2t))));
    const col = map(colMean.length, (i) => fma(colMean[i], f(1 - beta2t), f(s.exp_avg_sq_col[i] * f(beta2t))));
    state.exp_avg_sq_row = row;
    state.exp_avg_sq_col = col;
    upd = new Float32Array(g.length);
    for (let b = 0; b < B; b++) {
      let a = 0;
      for (let r = 0; r < Rr; r++) a += row[b * Rr + r];
      const mean = f(a / Rr);
      for (let r = 0; r < Rr; r++) {
        const rf = f(1 / f(Math.sqrt(f(row[b * Rr + r] / mean))));
        for (let k = 0; k < C; k++) {
          const cf = f(1 / f(Math.sqrt(col[b * C + k])));
          const i = (b * Rr + r) * C + k;
          upd[i] = f(f(rf * cf) * g[i]);
        }
      }
    }
  } else {
    const v = map(g.length, (i) => fma(u[i], f(1 - beta2t), f(s.exp_avg_sq[i] * f(beta2t))));
    state.exp_avg_sq = v;
    upd = map(g.length, (i) => f(f(1 / f(Math.sqrt(v[i]))) * g[i]));
  }
  const k = Math.max(f(rms(upd) / f(c.clip_threshold)), 1);
  upd = map(upd.length, (i) => f(f(upd[i] / k) * f(ell)));
  if (c.beta1 !== null) {
    const m = map(upd.length, (i) => fma(upd[i], f(1 - c.beta1!), f(s.exp_avg[i] * f(c.beta1!))));
    state.exp_avg = m;
    upd = m;
  }
  let q = p;
  if (c.weight_decay !== 0) { const a = f(-c.weight_decay * ell); q = map(p.length, (i) => fma(p[i], a, p[i])); }
  return { p: map(p.length, (i) => f(q[i] - upd[i])), state, lr: ell };
}

// ---------------------------------------------------------------------------------------------- Keras AdamWeightDecay

export interface KerasConfig { beta_1: number; beta_2: number; epsilon: number; amsgrad: boolean; weight_decay_rate: number; decay: boolean }

/** Keras Adam + transformers AdamWeightDecay decay (float32), given lr_t and the already clipped gradient. */
export function kerasAdamWeightDecay(p: Arr, g: Arr, s: { m: Arr; v: Arr; vhat?: Arr }, t: number, lrT: number, c: KerasConfig) {
  const lr = f(lrT);
  const b1p = f(f(c.beta_1) ** t);
  const b2p = f(f(c.beta_2) ** t);
  let q = p;
  if (c.decay && c.weight_decay_rate !== 0) q = map(p.length, (i) => f(p[i] - f(f(lr * p[i]) * f(c.weight_decay_rate))));
  const alpha = f(f(lr * f(Math.sqrt(f(1 - b2p)))) / f(1 - b1p));
  const m = map(p.length, (i) => f(s.m[i] + f(f(g[i] - s.m[i]) * f(1 - f(c.beta_1)))));
  const v = map(p.length, (i) => f(s.v[i] + f(f(f(g[i] * g[i]) - s.v[i]) * f(1 - f(c.beta_2)))));
  const state: Record<string, Arr> = { m, v };
  let vv = v;
  if (c.amsgrad) { vv = map(p.length, (i) => Math.max(s.vhat![i], v[i])); state.vhat = vv; }
  return { p: map(p.length, (i) => f(q[i] - f(f(m[i] * alpha) / f(f(Math.sqrt(vv[i])) + f(c.epsilon))))), state };
}

/** Keras `clip_by_norm(g, c)` per tensor. */
export function kerasClipNorm(g: Arr, c: number): Arr {
  const n = f(Math.sqrt(sumSq(g)));
  return map(g.length, (i) => f(f(g[i] * f(c)) / Math.max(n, f(c))));
}

/** `tf.clip_by_global_norm(grads, c)`. */
export function kerasGlobalClip(gs: Arr[], c: number): { grads: Arr[]; norm: number } {
  const n = f(Math.sqrt(gs.reduce((a, g) => a + sumSq(g), 0)));
  const scale = f(f(c) * Math.min(f(1 / n), f(1 / f(c))));
  return { grads: gs.map((g) => map(g.length, (i) => f(g[i] * scale))), norm: n };
}

/** torch `clip_grad_norm_(grads, max_norm)` (norm type 2). */
export function torchClipGradNorm(gs: Arr[], maxNorm: number): { grads: Arr[]; norm: number } {
  const norms = gs.map((g) => f(Math.sqrt(sumSq(g))));
  const total = f(Math.sqrt(sumSq(norms)));
  const coef = Math.min(f(f(maxNorm) / f(total + f(1e-6))), 1);
  return { grads: gs.map((g) => map(g.length, (i) => f(g[i] * coef))), norm: total };
}

// ---------------------------------------------------------------------------------------------- ORT AdamWOptimizer

export interface OrtConfig { alpha: number; beta: number; epsilon: number; weight_decay: number; adam_mode: 0 | 1; correct_bias: 0 | 1 }

/** ORT `AdamWOptimizer` CPU kernel for one tensor (step fed verbatim). */
export function ortAdamW(p: Arr, g: Arr, s: { exp_avg: Arr; exp_avg_sq: Arr }, step: number, lr0: number, c: OrtConfig) {
  const lr = f(lr0);
  const a = f(c.alpha), b = f(c.beta), eps = f(c.epsilon), wd = f(c.weight_decay);
  let ac = 1, bc = 1, lrc = lr;
  if (c.correct_bias) {
    ac = f(1 - f(a ** step));
    bc = f(1 - f(b ** step));
    lrc = f(lrc * f(f(Math.sqrt(bc)) / ac));
  }
  let q = p;
  if (c.adam_mode === 0) q = map(p.length, (i) => f(p[i] - f(f(p[i] * lr) * wd)));
  const m = map(p.length, (i) => f(f(a * s.exp_avg[i]) + f(f(1 - a) * g[i])));
  const v = map(p.length, (i) => f(f(b * s.exp_avg_sq[i]) + f(f(f(1 - b) * g[i]) * g[i])));
  let out: Arr;
  if (c.adam_mode === 0) {
    out = map(p.length, (i) => f(q[i] - f(f(lr * m[i]) / f(ac * f(f(Math.sqrt(f(v[i] / bc))) + eps)))));
  } else {
    out = map(p.length, (i) => f(q[i] - f(f(lrc * m[i]) / f(f(Math.sqrt(v[i])) + eps))));
    const k = f(lr * wd);
    out = map(p.length, (i) => f(out[i] - f(k * out[i])));
  }
  return { p: out, state: { exp_avg: m, exp_avg_sq: v } };
}

// ---------------------------------------------------------------------------------------------- ONNX preview training

export interface OnnxAdamConfig { alpha: number; beta: number; epsilon: number; norm_coefficient: number; norm_coefficient_post: number }

/** onnx `op_adam.py` `_apply_adam` (float32 arrays, float32 attributes as Python floats). */
export function onnxAdam(x: Arr, g: Arr, s: { V: Arr; H: Arr }, T: number, R: number, c: OnnxAdamConfig) {
  const a = f(c.alpha), b = f(c.beta), nc = f(c.norm_coefficient), ncp = f(c.norm_coefficient_post);
  const gr = map(x.length, (i) => f(f(nc * x[i]) + g[i]));
  const V = map(x.length, (i) => f(f(a * s.V[i]) + f(f(1 - a) * gr[i])));
  const H = map(x.length, (i) => f(f(b * s.H[i]) + f(f(1 - b) * f(gr[i] * gr[i]))));
  const r = T > 0 ? (f(R) * Math.sqrt(1 - b ** T)) / (1 - a ** T) : f(R);
  const xn = map(x.length, (i) => f(x[i] - f(r * f(V[i] / f(f(Math.sqrt(H[i])) + f(c.epsilon))))));
  return { p: map(x.length, (i) => f(f(1 - ncp) * xn[i])), state: { V, H } };
}

/** onnx `op_adagrad.py`. */
export function onnxAdagrad(x: Arr, g: Arr, s: { H: Arr }, T: number, R: number, c: { decay_factor: number; epsilon: number; norm_coefficient: number }) {
  const r = f(R) / (1 + T * f(c.decay_factor));
  const gr = map(x.length, (i) => f(f(f(c.norm_coefficient) * x[i]) + g[i]));
  const H = map(x.length, (i) => f(s.H[i] + f(gr[i] * gr[i])));
  return { p: map(x.length, (i) => f(x[i] - f(f(r * gr[i]) / f(f(Math.sqrt(H[i])) + f(c.epsilon))))), state: { H } };
}

/** onnx `op_momentum.py`. */
export function onnxMomentum(x: Arr, g: Arr, s: { V: Arr }, T: number, R: number, c: { alpha: number; beta: number; mode: 'standard' | 'nesterov'; norm_coefficient: number }) {
  const gr = map(x.length, (i) => f(f(f(c.norm_coefficient) * x[i]) + g[i]));
  const ba = T > 0 ? f(c.beta) : 1;
  const V = map(x.length, (i) => f(f(f(c.alpha) * s.V[i]) + f(ba * gr[i])));
  const d = c.mode === 'standard' ? V : map(x.length, (i) => f(gr[i] + f(f(c.alpha) * V[i])));
  return { p: map(x.length, (i) => f(x[i] - f(f(R) * d[i]))), state: { V } };
}

// ---------------------------------------------------------------------------------------------- torch SGD

export interface SgdConfig { momentum: number; dampening: number; weight_decay: number; nesterov: boolean; maximize: boolean }

/** torch `_single_tensor_sgd` for one parameter (t = 1 on the first step, when the buffer is created). */
export function torchSgd(p: Arr, g0: Arr, s: { momentum_buffer?: Arr }, t: number, lr: number, c: SgdConfig) {
  let g = c.maximize ? map(g0.length, (i) => -g0[i]) : g0;
  if (c.weight_decay !== 0) { const wd = f(c.weight_decay); const gg = g; g = map(p.length, (i) => fma(p[i], wd, gg[i])); }
  const state: Record<string, Arr> = {};
  if (c.momentum !== 0) {
    const gg = g;
    const buf = t === 1 ? Float32Array.from(gg) : map(p.length, (i) => fma(gg[i], f(1 - c.dampening), f(s.momentum_buffer![i] * f(c.momentum))));
    state.momentum_buffer = buf;
    g = c.nesterov ? map(p.length, (i) => fma(buf[i], f(c.momentum), gg[i])) : buf;
  }
  const a = f(-lr);
  const gg = g;
  return { p: map(p.length, (i) => fma(gg[i], a, p[i])), state };
}

// ---------------------------------------------------------------------------------------------- helpers

export { rng } from '../helpers/rng.js';

/** n float32 values uniform in [−scale, scale). */
export function randomArray(next: () => number, n: number, scale = 1): Float32Array {
  return map(n, () => f((next() * 2 - 1) * scale));
}
