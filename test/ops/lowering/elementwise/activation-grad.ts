/**
 * Shared driver for the (dY, X or Y) → dX activation-gradient rules: runs the lowered op in float32 and float64
 * against a reference formula and against central finite differences of the forward op on ORT.
 */
import type { ExecutionContext } from 'ava';
import type { AttrValue, GraphBuilder, Value } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import type { LoweringRule } from '../../../../src/ops/lowering/rule.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, finiteDiff, lowerAndRun, nums, runForward, size, type InputSpec, type Knowledge } from '../../../helpers/lowering.js';

export interface ActivationGradCase {
  rule: LoweringRule;
  opType: string;
  attrs?: Record<string, AttrValue | undefined>;
  dims: number[];
  knowledge?: Knowledge;
  /** The op's second input: the forward input X, or the forward output Y (computed on ORT from X). */
  second: 'X' | 'Y';
  /** Extra trailing inputs (e.g. a bias B), given as float64 data with dims. */
  extra?: { name: string; data: number[]; dims: number[] }[];
  /** Forward op for finite differences (x ↦ f(x)); float64 when ORT implements it in double. */
  forward: (b: GraphBuilder, x: Value) => Value;
  forwardDtype: 'float32' | 'float64';
  /** Reference dX from (dY, X, Y) element-wise. */
  ref: (dy: number, x: number, y: number, i: number) => number;
  scale?: number;
  seed?: number;
  /** Finite-difference tolerance. */
  fdTol?: { rtol?: number; atol?: number };
}

export async function checkActivationGrad(t: ExecutionContext, c: ActivationGradCase): Promise<void> {
  const r = rng(c.seed ?? 1234 + size(c.dims));
  const n = size(c.dims);
  // Keep points away from 0 where ReLU-like kinks make finite differences meaningless.
  const x = Array.from(randn(r, n, c.scale ?? 1.5), (v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
  const dY = Array.from(randn(r, n));
  const yT = await runForward({ dtype: c.forwardDtype, build: c.forward }, x, c.dims);
  const y = nums(yT);
  const expected = x.map((xi, i) => c.ref(dY[i], xi, y[i], i));
  const fd = await finiteDiff({ dtype: c.forwardDtype, build: c.forward }, x, c.dims, dY);
  for (const dtype of ['float32', 'float64'] as const) {
    const mk = dtype === 'float32' ? f32 : f64;
    const inputs: InputSpec[] = [{ name: 'dY', tensor: mk(dY, c.dims) }, { name: c.second, tensor: mk(c.second === 'X' ? x : y, c.dims) }];
    for (const e of c.extra ?? []) inputs.push({ name: e.name, tensor: mk(e.data, e.dims) });
    const out = await lowerAndRun(t, c.rule, { opType: c.opType, attrs: c.attrs, inputs, outputs: [['dX', dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE]], knowledge: c.knowledge });
    t.is(out.dX.type, dtype);
    t.deepEqual(out.dX.dims, c.dims);
    const got = nums(out.dX);
    // float64 graphs keep float64 except where ORT lacks a double kernel (Erf), hence 1e-6 there.
    close(t, got, expected, dtype === 'float32' ? { rtol: 1e-5, atol: 1e-6 } : { rtol: 1e-6, atol: 1e-7 }, `${dtype} vs reference`);
    close(t, got, fd, c.fdTol ?? (c.forwardDtype === 'float64' ? { rtol: 1e-5, atol: 1e-7 } : { rtol: 2e-3, atol: 2e-3 }), `${dtype} vs finite differences`);
  }
}
