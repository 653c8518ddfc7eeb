import test from 'ava';
import { float } from '../../../../src/builder/index.js';
import { fusedMatMulPerm, lowerFusedMatMul } from '../../../../src/ops/lowering/elementwise/fused-matmul.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { fusedMatMul } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { checkOnly, close, f32, f64, lower, lowerAndRun, nums, runOriginal, size, type Knowledge } from '../../../helpers/lowering.js';

interface Case { name: string; a: number[]; b: number[]; alpha?: number; transA?: boolean; transB?: boolean; transBatchA?: boolean; transBatchB?: boolean; knowledge?: Knowledge; dtype?: 'float32' | 'float64' }

const cases: Case[] = [
  { name: '2-D, no attributes', a: [3, 4], b: [4, 5] },
  { name: '2-D, transA and transB, alpha 0.5', a: [4, 3], b: [5, 4], transA: true, transB: true, alpha: 0.5 },
  { name: '3-D @ 2-D with transA (batch broadcast)', a: [2, 4, 3], b: [4, 5], transA: true },
  { name: '4-D with broadcast batches and transB', a: [2, 1, 3, 4], b: [1, 3, 2, 4], transB: true },
  { name: 'transBatchA (rank 3)', a: [3, 2, 4], b: [2, 4, 5], transBatchA: true },
  { name: 'transBatchA and transA (rank 3)', a: [4, 2, 3], b: [2, 4, 5], transBatchA: true, transA: true },
  { name: 'transBatchB and transB (rank 3), alpha 2', a: [2, 3, 4], b: [5, 2, 4], transBatchB: true, transB: true, alpha: 2 },
  { name: 'transBatchA and transBatchB (rank 4)', a: [3, 2, 2, 4], b: [4, 2, 2, 5], transBatchA: true, transBatchB: true },
  { name: '1-D A with transA (ignored) @ 3-D B', a: [4], b: [2, 4, 5], transA: true },
  { name: 'no attributes, shapes unknown', a: [2, 3, 4], b: [4, 2], knowledge: 'none' },
  { name: 'float64, transB, alpha -1.5, ranks only', a: [2, 3, 4], b: [2, 5, 4], transB: true, alpha: -1.5, knowledge: 'rank', dtype: 'float64' },
];

for (const c of cases) {
  test(`FusedMatMul › ${c.name} › equals stock ORT's com.microsoft FusedMatMul and the reference`, async (t) => {
    const r = rng(size(c.a) * 7 + size(c.b));
    const A = randn(r, size(c.a));
    const B = randn(r, size(c.b));
    const dt = c.dtype ?? 'float32';
    const mk = dt === 'float32' ? f32 : f64;
    const attrs = {
      alpha: c.alpha === undefined ? undefined : float(c.alpha), transA: c.transA ? 1 : undefined, transB: c.transB ? 1 : undefined,
      transBatchA: c.transBatchA ? 1 : undefined, transBatchB: c.transBatchB ? 1 : undefined,
    };
    const spec = { opType: 'FusedMatMul', attrs, inputs: [{ name: 'A', tensor: mk(A, c.a) }, { name: 'B', tensor: mk(B, c.b) }], outputs: [['Y', dt === 'float32' ? DataType.FLOAT : DataType.DOUBLE]] as const, knowledge: c.knowledge };
    const out = await lowerAndRun(t, lowerFusedMatMul, spec);
    const ref = fusedMatMul(A, c.a, B, c.b, c);
    t.deepEqual(out.Y.dims, ref.dims);
    const tol = dt === 'float32' ? { rtol: 1e-5, atol: 1e-5 } : { rtol: 1e-12, atol: 1e-12 };
    close(t, nums(out.Y), ref.data, tol, 'vs reference');
    const orig = await runOriginal(spec);
    t.deepEqual(orig.Y.dims, out.Y.dims, 'same shape as ORT');
    close(t, nums(out.Y), nums(orig.Y), tol, 'vs ORT');
  });
}

test('FusedMatMul › no transposes › lowers to a bare MatMul', (t) => {
  const l = lower(t, lowerFusedMatMul, { opType: 'FusedMatMul', inputs: [{ name: 'A', tensor: f32(new Float32Array(6), [2, 3]) }, { name: 'B', tensor: f32(new Float32Array(6), [3, 2]) }], outputs: [['Y', DataType.FLOAT]], knowledge: 'none' });
  t.deepEqual(l.ops, ['MatMul', 'Identity']);
});

test('FusedMatMul › transA with the rank of A unknown › check() says a static perm needs the rank', (t) => {
  const reason = checkOnly(lowerFusedMatMul, { opType: 'FusedMatMul', attrs: { transA: 1 }, inputs: [{ name: 'A', tensor: f32(new Float32Array(6), [3, 2]) }, { name: 'B', tensor: f32(new Float32Array(6), [3, 2]) }], outputs: [['Y', DataType.FLOAT]], knowledge: 'none' });
  t.regex(reason ?? '', /rank of A .* unknown/);
});

test('FusedMatMul › fusedMatMulPerm › follows ORT\'s shape inference for every flag combination', (t) => {
  t.is(fusedMatMulPerm(1, true, true), undefined);
  t.is(fusedMatMulPerm(2, false, true), undefined);
  t.deepEqual(fusedMatMulPerm(2, true, true), [1, 0]);
  t.deepEqual(fusedMatMulPerm(3, true, false), [0, 2, 1]);
  t.deepEqual(fusedMatMulPerm(3, false, true), [1, 0, 2]);
  t.deepEqual(fusedMatMulPerm(3, true, true), [1, 2, 0]);
  t.deepEqual(fusedMatMulPerm(4, false, true), [1, 2, 0, 3]);
});
