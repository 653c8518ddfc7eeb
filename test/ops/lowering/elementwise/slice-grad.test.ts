import test from 'ava';
import { lowerSliceGrad } from '../../../../src/ops/lowering/elementwise/slice-grad.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { slicePositions, sliceGrad } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { close, f32, f64, finiteDiff, i32, i64, lower, lowerAndRun, nums, size, type InputSpec, type Knowledge } from '../../../helpers/lowering.js';

interface Case {
  name: string; data: number[]; starts: number[]; ends: number[]; axes?: number[]; steps?: number[];
  /** constant starts/ends/axes/steps (else runtime inputs) */ constant: boolean; shapeAs: 'Shape(X)' | 'input';
  knowledge?: Knowledge; int32?: boolean; path: 'Pad' | 'ScatterElements';
}

const cases: Case[] = [
  { name: 'unit steps, constants, static shape', data: [4, 6], starts: [1, 2], ends: [3, -1], axes: [0, 1], constant: true, shapeAs: 'Shape(X)', path: 'Pad' },
  { name: 'unit steps, ends past the end and negative starts, axes omitted', data: [3, 5], starts: [-2, 1], ends: [100, 2 ** 40], constant: true, shapeAs: 'Shape(X)', path: 'Pad' },
  { name: 'negative steps with clamped starts/ends', data: [5, 6], starts: [-1, 40], ends: [-100, 0], axes: [0, 1], steps: [-2, -1], constant: true, shapeAs: 'Shape(X)', path: 'ScatterElements' },
  { name: 'step 2 on a negative axis, runtime int32 starts/ends', data: [2, 3, 7], starts: [1], ends: [7], axes: [-1], steps: [2], constant: false, shapeAs: 'Shape(X)', int32: true, path: 'ScatterElements' },
  { name: 'unit steps but nothing known about the shape', data: [4, 4], starts: [1], ends: [3], axes: [1], constant: true, shapeAs: 'input', knowledge: 'none', path: 'ScatterElements' },
  { name: 'step 3 on axis 1 and step -1 on axis 0, runtime everything, nothing known', data: [3, 8, 2], starts: [2, 0], ends: [-4, 8], axes: [0, 1], steps: [-1, 3], constant: false, shapeAs: 'input', knowledge: 'none', path: 'ScatterElements' },
  { name: 'an empty slice (start past the end), static', data: [4, 3], starts: [5], ends: [10], axes: [0], constant: true, shapeAs: 'Shape(X)', path: 'Pad' },
  { name: 'an empty slice, nothing known', data: [4, 3], starts: [2], ends: [1], axes: [1], constant: false, shapeAs: 'input', knowledge: 'none', path: 'ScatterElements' },
];

for (const c of cases) {
  test(`SliceGrad › ${c.name} › puts dY at the sliced positions like finite differences of Slice (${c.path} path)`, async (t) => {
    const { dims: dyDims } = slicePositions(c.data, c.starts, c.ends, c.axes, c.steps);
    const rg = rng(size(c.data) + size(dyDims));
    const x = Array.from(randn(rg, size(c.data)));
    const dY = Array.from(randn(rg, size(dyDims)));
    const expected = sliceGrad(dY, c.data, c.starts, c.ends, c.axes, c.steps);
    const fd = await finiteDiff({
      dtype: 'float64',
      build: (b, xv) => b.op.Slice(xv, b.i64(c.starts), b.i64(c.ends), c.axes && b.i64(c.axes), c.steps && b.i64(c.steps)),
    }, x, c.data, dY);
    close(t, expected, fd, { rtol: 1e-6, atol: 1e-8 }, 'reference vs finite differences');
    const ints = (name: string, v: number[]): InputSpec => ({ name, tensor: c.int32 ? i32(v) : i64(v), constant: c.constant });
    for (const dtype of ['float32', 'float64'] as const) {
      const mk = dtype === 'float32' ? f32 : f64;
      const inputs: (InputSpec | undefined)[] = [
        { name: 'dY', tensor: mk(dY, dyDims) },
        c.shapeAs === 'Shape(X)' ? { name: 'shape', tensor: i64(c.data), shapeOf: c.data } : { name: 'shape', tensor: i64(c.data) },
        ints('starts', c.starts), ints('ends', c.ends), c.axes ? ints('axes', c.axes) : undefined, c.steps ? ints('steps', c.steps) : undefined,
      ];
      const spec = { opType: 'SliceGrad', inputs, outputs: [['dX', dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE]] as const, knowledge: c.knowledge };
      t.true(lower(t, lowerSliceGrad, spec).ops.includes(c.path), `uses ${c.path}`);
      const out = await lowerAndRun(t, lowerSliceGrad, spec);
      t.deepEqual(out.dX.dims, c.data);
      close(t, nums(out.dX), expected, { rtol: 0, atol: 0 }, `${dtype} vs reference (exact copy)`);
    }
  });
}
