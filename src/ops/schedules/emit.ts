/**
 * Every schedule as ONNX nodes: `emitSchedule(b, spec, step)` writes the subgraph that maps the 0-based update
 * index (int64) to the float32 learning rate, using only default-domain ops of opset 13+ (Reshape, Cast, Less,
 * Greater, Equal, Where, Add, Sub, Mul, Div, Mod, Min, Max, Floor, Ceil, Pow, Sqrt; sin/cos as polynomials).
 *
 * Float32 design (the reference is {@link valueAt}):
 * - **TF / Keras schedules** repeat Keras's float32 op sequence exactly (`Cast(iterations)`, `Min(step, d)`,
 *   `step / d`, `1 − p`, `pow`, `·`, `+`), so the graph reproduces Keras's float32 values; constant-only
 *   subexpressions (`init − end`) are folded on the host with `Math.fround`, which rounds identically.
 * - **transformers multiplier schedules** are float64 upstream; the graph approximates that value as closely as
 *   float32 allows rather than copying the float64 op order:
 *   - all step arithmetic (`s − W`, `T − s`, branch tests) is int64 and exact, cast to float32 once;
 *   - every ratio of integers is a single correctly rounded float32 Div; host constants are computed in float64
 *     and rounded once;
 *   - `½(1 + cos(2π·c·p))` is evaluated as `cos²(π·u)` with `u = (c·p) mod 1` reduced in int64 (exactly when
 *     `c` is a dyadic rational such as 0.5, 1, 2, 1.25; to ~2^-32 otherwise) and folded into [0, ½]; this removes
 *     the cancellation of `1 + cos` near 0 and keeps the argument small at any step (upstream's cosine is
 *     unclamped past T);
 *   - `1 − sqrt(1 − x)` and `1 − sqrt(x)` (WSD) are evaluated as `x / (1 + sqrt(1 − x))` and
 *     `(1 − x) / (1 + sqrt(x))`;
 *   - `base_lr` (torch `LambdaLR`: `base_lr * λ`) is folded into the last constant or division numerator.
 *   Measured against the float64 values: within a few float32 ulps (see test/ops/schedules/emit.test.ts).
 *
 * Branches are computed on both sides and selected with Where (an unselected side may be inf/NaN, e.g. a
 * warmup ratio with W = 0; Where discards it). Where upstream raises at a step (polynomial with W = T at s = T)
 * the graph yields NaN there.
 */
import type { GraphBuilder, Value } from '../../builder/index.js';
import { DataType } from '../../onnx/dtypes.js';
import {
  expandCreateOptimizer,
  isTfSchedule,
  type MultiplierScheduleSpec,
  type ScheduleSpec,
  type TfScheduleSpec,
  type WsdShape,
} from './spec.js';
import { validateSchedule } from './validate.js';
import { resolveMinLrRate, resolveStableSteps, resolveTimescale } from './value-at.js';

/**
 * Emits the nodes computing `spec`'s learning rate at `step` and returns the float32 scalar lr.
 * @param step int64 scalar or [1] tensor: the 0-based update index (the first update uses step 0). A value of
 *   another integer type is cast to int64.
 * @returns a float32 scalar (shape []) value; nodes are named `schedule/<type>/<Op>_k`
 * @throws OnnxTrainError('BAD_ARGUMENT') when the spec is invalid ({@link validateSchedule})
 */
export function emitSchedule(b: GraphBuilder, spec: ScheduleSpec, step: Value): Value {
  validateSchedule(spec);
  return b.scope('schedule', () => b.scope(spec.type, () => {
    let s = b.op.Reshape(step, []);
    const dt = b.dtypeOf(step);
    if (dt !== undefined && dt !== DataType.INT64) s = b.op.Cast(s, DataType.INT64);
    if (isTfSchedule(spec)) return emitTf(b, spec, b.op.Cast(s, DataType.FLOAT));
    return emitMultiplierLr(b, spec, new Int(b, s));
  }));
}

/** An int64 scalar step with exact integer helpers; `f()` is its float32 cast. */
class Int {
  constructor(private readonly b: GraphBuilder, readonly v: Value) {}
  /** `this + k` (int64) */
  add(k: number): Int {
    return k === 0 ? this : new Int(this.b, this.b.op.Add(this.v, this.b.i64(k)));
  }
  /** `k − this` (int64) */
  rsub(k: number): Int {
    return new Int(this.b, this.b.op.Sub(this.b.i64(k), this.v));
  }
  /** `this < k` */
  lt(k: number): Value {
    return this.b.op.Less(this.v, this.b.i64(k));
  }
  /** `this > k` */
  gt(k: number): Value {
    return this.b.op.Greater(this.v, this.b.i64(k));
  }
  private cast?: Value;
  /** float32 cast (exact below 2^24), emitted once per value */
  f(): Value {
    this.cast ??= this.b.op.Cast(this.v, DataType.FLOAT);
    return this.cast;
  }
}

/** `k·n / d`: the exact integer n, scaled by k (exact when k has few significant bits, e.g. 10), divided once. */
function ratio(b: GraphBuilder, n: Int, d: number, k = 1): Value {
  const num = k === 1 ? n.f() : b.op.Mul(n.f(), b.f32(k));
  return b.op.Div(num, b.f32(d));
}

/** The shared linear warmup `k · s / max(1, W)`. */
function linearWarmup(b: GraphBuilder, s: Int, W: number, k: number): Value {
  return ratio(b, s, Math.max(1, W), k);
}

/**
 * `k · max(0, f·(1 − r) + r)` (upstream's min-ratio blend) as `max(0, f·k(1 − r) + k·r)` (k ≥ 0); just `k·f` when
 * r = 0 and f ≥ 0 by construction.
 */
function blend(b: GraphBuilder, f: Value, r: number, fNonNegative: boolean, k: number): Value {
  if (r === 0 && fNonNegative) return k === 1 ? f : b.op.Mul(f, b.f32(k));
  const scaled = k * (1 - r) === 1 ? f : b.op.Mul(f, b.f32(k * (1 - r)));
  const v = r === 0 ? scaled : b.op.Add(scaled, b.f32(k * r));
  return b.op.Max(v, b.f32(0));
}

/**
 * `u = (c · n / d) mod 1` for int64 `n`, returned as `num / den` (num float32, den a host integer), reduced in
 * int64: `num = (n·N) mod (d·2^j)` with `N = c·2^j` (ONNX Mod with fmod = 0 takes the divisor's sign, like
 * Python's `%`). Exact when `c` is a dyadic rational (0.5, 1, 2, 1.25, …: the smallest such j); otherwise
 * `N = round(c·2^j)` with ~31 significant bits, an error of about `(n/d)·2^-32` in u. `N` is reduced mod `d·2^j` on
 * the host, so `n·N` stays in int64 for n below 2^32.
 */
function fracTimes(b: GraphBuilder, n: Int, c: number, d: number): { num: Value; den: number } {
  let j = 0;
  while (!Number.isInteger(c * 2 ** j) && j < 30) j++;
  let N = c * 2 ** j;
  if (!Number.isInteger(N) || Math.abs(N) > 2 ** 31) {
    // fixed point with ~31 significant bits, keeping d·2^j an exact host integer (≤ 2^52)
    j = Math.min(31 - Math.ceil(Math.log2(Math.abs(c))), 52 - Math.ceil(Math.log2(d + 1)));
    N = Math.round(c * 2 ** j);
  }
  const M = d * 2 ** j;
  const Nred = ((N % M) + M) % M; // Python-style N mod M, in [0, M)
  const prod = Nred === 1 ? n.v : b.op.Mul(n.v, b.i64(Nred));
  const m = b.op.Mod(prod, b.i64(M), 0);
  return { num: b.op.Cast(m, DataType.FLOAT), den: M };
}


/**
 * sin and cos on [0, π/2] as Taylor polynomials in x² (Horner form, Mul/Add only). ONNX's Sin/Cos are exact to
 * a few ulps on onnxruntime's CPU EP but not on every EP (WebGPU's WGSL sin/cos are ~1e-4 relative on SwiftShader),
 * and a schedule must give the same lr on every EP. Truncation error: < 1e-9 for sin (degree 15) and < 2e-10 for
 * cos (degree 16) on [0, π/2], far below float32 resolution. Arguments are clamped to [0, π/2], so a branch that
 * Where later discards never overflows.
 */
function polyTrig(b: GraphBuilder, x: Value, kind: 'sin' | 'cos'): Value {
  const xc = b.op.Min(b.op.Max(x, b.f32(0)), b.f32(Math.PI / 2));
  const x2 = b.op.Mul(xc, xc);
  // Coefficients of x^(2k) (cos) or x^(2k+1)/x (sin), highest order first.
  const coef: number[] = [];
  for (let k = 8; k >= 0; k--) {
    const n = kind === 'cos' ? 2 * k : 2 * k + 1;
    let f = 1;
    for (let i = 2; i <= n; i++) f *= i;
    coef.push((k % 2 ? -1 : 1) / f);
  }
  let acc: Value = b.f32(coef[0]);
  for (const c of coef.slice(1)) acc = b.op.Add(b.op.Mul(acc, x2), b.f32(c));
  return kind === 'sin' ? b.op.Mul(acc, xc) : acc;
}

/**
 * `½(1 + cos(2π·c·n/d)) = cos²(π·u)`, `u = (c·n/d) mod 1` folded into [0, ½] (cos² is symmetric about ½).
 */
function halfCosine(b: GraphBuilder, n: Int, c: number, d: number): Value {
  const { num, den } = fracTimes(b, n, c, d);
  const folded = b.op.Min(num, b.op.Sub(b.f32(den), num));
  const cos = polyTrig(b, b.op.Mul(folded, b.f32(Math.PI / den)), 'cos');
  return b.op.Mul(cos, cos);
}

/**
 * The lr `base_lr · λ(s)` of a multiplier schedule. `base_lr` (when ≥ 0, so that it commutes with the max(0, ·)
 * clamps) is folded into the last constant or the numerator of the last division, which saves a rounding:
 * e.g. linear gives `(T − s)·base_lr / (T − W)` correctly rounded when base_lr·(T − s) is exact.
 */
function emitMultiplierLr(b: GraphBuilder, spec: MultiplierScheduleSpec, s: Int): Value {
  const k = spec.base_lr >= 0 ? spec.base_lr : 1;
  const lr = emitScaledLambda(b, spec, s, k);
  return k === spec.base_lr ? lr : b.op.Mul(lr, b.f32(spec.base_lr));
}

/** `k · λ(s)`. */
function emitScaledLambda(b: GraphBuilder, spec: MultiplierScheduleSpec, s: Int, k: number): Value {
  switch (spec.type) {
    case 'constant':
      return b.f32(k);
    case 'constant_with_warmup': {
      const W = spec.num_warmup_steps;
      return b.op.Where(s.lt(W), linearWarmup(b, s, W, k), b.f32(k));
    }
    case 'linear': {
      const { num_warmup_steps: W, num_training_steps: T } = spec;
      const decay = b.op.Max(ratio(b, s.rsub(T), Math.max(1, T - W), k), b.f32(0));
      return b.op.Where(s.lt(W), linearWarmup(b, s, W, k), decay);
    }
    case 'cosine':
    case 'cosine_with_min_lr': {
      const { num_warmup_steps: W, num_training_steps: T, num_cycles: c } = spec;
      const r = spec.type === 'cosine' ? 0 : resolveMinLrRate(spec);
      const post = blend(b, halfCosine(b, s.add(-W), c, Math.max(1, T - W)), r, true, k);
      return b.op.Where(s.lt(W), linearWarmup(b, s, W, k), post);
    }
    case 'cosine_with_restarts': {
      const { num_warmup_steps: W, num_training_steps: T, num_cycles: c } = spec;
      const D = Math.max(1, T - W);
      const n = s.add(-W);
      // ½(1 + cos(π·u)) = cos²(π·u/2), u = (c·p) mod 1 ∈ [0, 1)
      const { num, den } = fracTimes(b, n, c, D);
      const cos = polyTrig(b, b.op.Mul(num, b.f32(Math.PI / (2 * den))), 'cos');
      const wave = b.op.Mul(b.op.Mul(cos, cos), b.f32(k));
      // p ≥ 1 ⟺ s − W ≥ D (exact in int64)
      const post = b.op.Where(n.lt(D), wave, b.f32(0));
      return b.op.Where(s.lt(W), linearWarmup(b, s, W, k), post);
    }
    case 'polynomial': {
      const { num_warmup_steps: W, num_training_steps: T, lr_end: end, power } = spec;
      const init = spec.default_lr ?? spec.base_lr;
      const q = ratio(b, s.rsub(T), T - W); // 1 − (s − W)/(T − W), exact numerator; NaN at s = T when W = T
      const qp = power === 1 ? q : b.op.Pow(q, b.f32(power));
      const mid = b.op.Add(b.op.Mul(qp, b.f32((k * (init - end)) / init)), b.f32((k * end) / init));
      const post = b.op.Where(s.gt(T), b.f32((k * end) / init), mid);
      return b.op.Where(s.lt(W), linearWarmup(b, s, W, k), post);
    }
    case 'inverse_sqrt': {
      const W = spec.num_warmup_steps;
      const tau = resolveTimescale(spec);
      // k/sqrt((s + τ − W)/τ) = sqrt(k²τ / (s − W + τ)): one division, one square root
      const denom = Number.isInteger(tau) ? s.add(tau - W).f() : b.op.Add(s.f(), b.f32(tau - W));
      const k2tau = k * k * tau;
      const post = Math.fround(k2tau) === k2tau
        ? b.op.Sqrt(b.op.Div(b.f32(k2tau), denom))
        : b.op.Mul(b.op.Sqrt(b.op.Div(b.f32(tau), denom)), b.f32(k));
      return b.op.Where(s.lt(W), linearWarmup(b, s, W, k), post);
    }
    case 'cosine_warmup_with_min_lr': {
      const { num_warmup_steps: W, num_training_steps: T, num_cycles: c } = spec;
      const r = resolveMinLrRate(spec);
      const w = spec.warmup_lr_rate;
      const warm = w === undefined || w === null
        ? ratio(b, s.add(1), Math.max(1, W), k)
        : b.op.Add(b.f32(k * w), b.op.Div(b.op.Mul(s.f(), b.f32(k * (1 - w))), b.f32(Math.max(1, W - 1))));
      const post = blend(b, halfCosine(b, s.add(1 - W), c, Math.max(1, T - W)), r, true, k);
      return b.op.Where(s.lt(W), warm, post);
    }
    case 'warmup_stable_decay': {
      const { num_warmup_steps: W, num_decay_steps: D, min_lr_ratio: rho, num_cycles: c } = spec;
      const S = resolveStableSteps(spec);
      const Wd = Math.max(1, W);
      const Dd = Math.max(1, D);
      const warm = blend(b, wsdWarmup(b, spec.warmup_type, s, Wd), rho, false, k);
      const n = s.add(-W - S);
      const decay = blend(b, wsdDecay(b, spec.decay_type, n, Dd, c), rho, false, k);
      const tail = b.op.Where(s.lt(W + S + D), decay, b.f32(k * rho));
      const stable = b.op.Where(s.lt(W + S), b.f32(k), tail);
      return b.op.Where(s.lt(W), warm, stable);
    }
  }
}

/** WSD warmup shapes at x = s/Wd: x; ½(1 − cos(πx)) = sin²(πx/2); 1 − sqrt(1 − x) = x/(1 + sqrt(1 − x)). */
function wsdWarmup(b: GraphBuilder, shape: WsdShape, s: Int, Wd: number): Value {
  const x = ratio(b, s, Wd);
  if (shape === 'linear') return x;
  if (shape === 'cosine') {
    const sin = polyTrig(b, b.op.Mul(s.f(), b.f32(Math.PI / (2 * Wd))), 'sin');
    return b.op.Mul(sin, sin);
  }
  const oneMinusX = ratio(b, s.rsub(Wd), Wd);
  return b.op.Div(x, b.op.Add(b.f32(1), b.op.Sqrt(oneMinusX)));
}

/** WSD decay shapes at x = k/Dd: 1 − x; ½(1 + cos(2π·c·x)) = cos²(π·u); 1 − sqrt(x) = (1 − x)/(1 + sqrt(x)). */
function wsdDecay(b: GraphBuilder, shape: WsdShape, k: Int, Dd: number, c: number): Value {
  if (shape === 'cosine') return halfCosine(b, k, c, Dd);
  const oneMinusX = ratio(b, k.rsub(Dd), Dd);
  if (shape === 'linear') return oneMinusX;
  return b.op.Div(oneMinusX, b.op.Add(b.f32(1), b.op.Sqrt(ratio(b, k, Dd))));
}

/** A TF schedule at the float32 step `gs`, Keras's op order. */
function emitTf(b: GraphBuilder, spec: TfScheduleSpec, gs: Value): Value {
  switch (spec.type) {
    case 'create_optimizer':
      return emitTf(b, expandCreateOptimizer(spec), gs);
    case 'tf_polynomial_decay': {
      const f32 = Math.fround;
      const init = f32(spec.initial_learning_rate);
      const end = f32(spec.end_learning_rate);
      const ds = b.f32(spec.decay_steps);
      let step = gs;
      let decaySteps = ds;
      if (spec.cycle) {
        const multiplier = b.op.Where(b.op.Equal(gs, b.f32(0)), b.f32(1), b.op.Ceil(b.op.Div(gs, ds)));
        decaySteps = b.op.Mul(ds, multiplier);
      } else {
        step = b.op.Min(gs, ds);
      }
      const p = b.op.Div(step, decaySteps);
      const oneMinusP = b.op.Sub(b.f32(1), p);
      // pow(x, 1) is x exactly; skipping it keeps the result bit-identical and the graph smaller
      const powered = f32(spec.power) === 1 ? oneMinusP : b.op.Pow(oneMinusP, b.f32(spec.power));
      return b.op.Add(b.op.Mul(b.f32(f32(init - end)), powered), b.f32(end));
    }
    case 'tf_warmup': {
      const ws = b.f32(spec.warmup_steps);
      const pct = b.op.Div(gs, ws);
      const powered = Math.fround(spec.power) === 1 ? pct : b.op.Pow(pct, b.f32(spec.power));
      const warm = b.op.Mul(b.f32(spec.initial_learning_rate), powered);
      const decayed = emitTf(b, spec.decay_schedule, b.op.Sub(gs, ws));
      return b.op.Where(b.op.Less(gs, ws), warm, decayed);
    }
  }
}
