import test from 'ava';
import { lowerDivGrad } from '../../../../src/ops/lowering/elementwise/div-grad.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import type { Dim } from '../../../../src/ops/lowering/rule.js';
import { broadcastDims, divGrad } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, finiteDiff, lower, lowerAndRun, nums, size, type Knowledge } from '../../../helpers/lowering.js';

interface Case { name: string; a: number[]; b: number[]; knowledge?: Knowledge; declA?: Dim[]; declB?: Dim[]; want?: 'dA' | 'dB'; path: 'static' | 'runtime' }

const cases: Case[] = [
  { name: '[2,3] / [3], static', a: [2, 3], b: [3], path: 'static' },
  { name: '[3,1] / [1,4], static', a: [3, 1], b: [1, 4], path: 'static' },
  { name: 'scalar / [2,2], shapes unknown', a: [], b: [2, 2], knowledge: 'none', path: 'runtime' },
  { name: '[2,1,3] / [4,1], ranks only', a: [2, 1, 3], b: [4, 1], knowledge: 'rank', path: 'runtime' },
  { name: 'equal shapes, static: no reductions', a: [2, 3], b: [2, 3], path: 'static' },
  { name: '[N,3] / [N,3] (same dim_param): no reductions', a: [4, 3], b: [4, 3], declA: ['N', 3], declB: ['N', 3], path: 'static' },
  { name: '[N,3] / [1,3]: reduce B\'s 1 even though N is symbolic', a: [5, 3], b: [1, 3], declA: ['N', 3], declB: [1, 3], path: 'static' },
  { name: '[N,3] / [M,3]: undecidable, runtime axes', a: [2, 3], b: [1, 3], declA: ['N', 3], declB: ['M', 3], path: 'runtime' },
  { name: 'only dA requested, [4,2] / [2]', a: [4, 2], b: [2], want: 'dA', path: 'static' },
  { name: 'only dB requested, [4,2] / [4,1], shapes unknown', a: [4, 2], b: [4, 1], want: 'dB', knowledge: 'none', path: 'runtime' },
];

for (const c of cases) {
  test(`DivGrad › ${c.name} › dA and dB match the reference and finite differences of Div (${c.path} axes)`, async (t) => {
    const r = rng(size(c.a) * 13 + size(c.b));
    const A = Array.from(randn(r, size(c.a)));
    const B = Array.from(randn(r, size(c.b)), (v) => Math.sign(v || 1) * (0.5 + Math.abs(v)));
    const yd = broadcastDims(c.a, c.b);
    const dY = Array.from(randn(r, size(yd)));
    const ref = divGrad(dY, A, c.a, B, c.b);
    const fdA = await finiteDiff({ dtype: 'float64', build: (b, x) => b.op.Div(x, b.const(B, DataType.DOUBLE, c.b)) }, A, c.a, dY);
    const fdB = await finiteDiff({ dtype: 'float64', build: (b, x) => b.op.Div(b.const(A, DataType.DOUBLE, c.a), x) }, B, c.b, dY);
    close(t, ref.dA, fdA, { rtol: 1e-6, atol: 1e-8 }, 'reference dA vs finite differences');
    close(t, ref.dB, fdB, { rtol: 1e-6, atol: 1e-8 }, 'reference dB vs finite differences');
    for (const dtype of ['float32', 'float64'] as const) {
      const mk = dtype === 'float32' ? f32 : f64;
      const T = dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE;
      const spec = {
        opType: 'DivGrad', knowledge: c.knowledge,
        inputs: [{ name: 'dY', tensor: mk(dY, yd) }, { name: 'A', tensor: mk(A, c.a), declared: c.declA }, { name: 'B', tensor: mk(B, c.b), declared: c.declB }],
        outputs: [[c.want === 'dB' ? '' : 'dA', T], [c.want === 'dA' ? '' : 'dB', T]] as const,
      };
      const ops = lower(t, lowerDivGrad, spec).ops;
      t.is(ops.includes('NonZero'), c.path === 'runtime', `${c.path} axes`);
      const out = await lowerAndRun(t, lowerDivGrad, spec);
      const tol = dtype === 'float32' ? { rtol: 1e-5, atol: 1e-5 } : { rtol: 1e-12, atol: 1e-12 };
      if (c.want !== 'dB') { t.deepEqual(out.dA.dims, c.a); close(t, nums(out.dA), ref.dA, tol, `${dtype} dA`); }
      if (c.want !== 'dA') { t.deepEqual(out.dB.dims, c.b); close(t, nums(out.dB), ref.dB, tol, `${dtype} dB`); }
      if (c.want) t.deepEqual(Object.keys(out), [c.want]);
    }
  });
}
