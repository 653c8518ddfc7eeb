import test from 'ava';
import { GraphBuilder, float, type Shape } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { randomTensor, rmsNorm, rng } from '../../../reference/conv-norm.js';
import { checkCase, close, f32, f64, lowerCase, nums, runModel, type NodeCase } from '../../../helpers/lowering.js';

const F = DataType.FLOAT;
const D = DataType.DOUBLE;

interface Case {
  title: string;
  dims: number[];
  axis: number;
  opset: number;
  dtype: number;
  domain?: string;
  xShape?: Shape | null;
  outputs?: string[];
  epsilon?: number;
}

const cases: Case[] = [
  { title: 'rank 3, axis -1, opset 12', dims: [2, 3, 8], axis: -1, opset: 12, dtype: F },
  { title: 'rank 3, axis 1, opset 17', dims: [2, 3, 4], axis: 1, opset: 17, dtype: F, epsilon: 1e-6 },
  { title: 'float64, rank 2, opset 14', dims: [3, 5], axis: -1, opset: 14, dtype: D },
  { title: 'unknown rank, Y only', dims: [2, 2, 6], axis: -1, opset: 13, dtype: F, xShape: null, outputs: ['Y', ''] },
  { title: 'com.microsoft domain, symbolic batch', dims: [4, 6], axis: -1, opset: 17, dtype: F, domain: 'com.microsoft', xShape: ['N', 6] },
];

function nodeCase(c: Case): NodeCase {
  const a = c.axis < 0 ? c.axis + c.dims.length : c.axis;
  return {
    opType: 'SimplifiedLayerNormalization', domain: c.domain ?? '', opset: c.opset,
    inputs: [{ name: 'X', dtype: c.dtype, shape: c.xShape === null ? undefined : c.xShape ?? c.dims }, { name: 'scale', dtype: c.dtype, shape: c.dims.slice(a) }],
    outputs: c.outputs ?? ['Y', 'inv_std_var'],
    attrs: { axis: c.axis, epsilon: c.epsilon === undefined ? undefined : float(c.epsilon) },
  };
}

for (const c of cases) {
  test(`SimplifiedLayerNormalization › ${c.title} › matches the reference and ORT's own SimplifiedLayerNormalization`, async (t) => {
    const r = rng(c.dims.reduce((a, v) => a * 5 + v, c.opset + c.axis));
    const a = c.axis < 0 ? c.axis + c.dims.length : c.axis;
    const x = randomTensor(c.dims, r, -2, 2);
    const scale = randomTensor(c.dims.slice(a), r, 0.5, 1.5);
    const T = c.dtype === D ? f64 : f32;
    const feeds = { X: T(x), scale: T(scale) };
    const lowered = lowerCase(nodeCase(c));
    t.false(lowered.ops.includes('SimplifiedLayerNormalization'));
    const out = await runModel(lowered.model, feeds);
    const ref = rmsNorm(x, c.axis, scale.data, Math.fround(c.epsilon ?? 1e-5));
    const tol = c.dtype === D ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };
    close(t, nums(out.Y), ref.y.data, tol, 'Y vs reference');
    const outputs = c.outputs ?? ['Y', 'inv_std_var'];
    if (outputs.includes('inv_std_var')) {
      t.is(out.inv_std_var.type, 'float32');
      t.deepEqual(out.inv_std_var.dims, c.dims.map((d, i) => (i < a ? d : 1)));
      close(t, nums(out.inv_std_var), ref.invStd, { rtol: 1e-6, atol: 1e-6 }, 'inv_std_var vs reference');
    }

    const b = GraphBuilder.create('rms', { opset: c.opset });
    const [y, inv] = b.node('SimplifiedLayerNormalization', [b.input('X', c.dtype), b.input('scale', c.dtype)], { outputs: 2, attrs: { axis: c.axis, epsilon: c.epsilon === undefined ? undefined : float(c.epsilon) } });
    b.output(y, 'Y', c.dtype);
    b.output(inv, 'inv_std_var', F);
    const ortOut = await runModel(b.toModel(), feeds);
    close(t, nums(out.Y), nums(ortOut.Y), c.dtype === D ? { rtol: 1e-9, atol: 1e-9 } : { rtol: 1e-5, atol: 1e-5 }, 'Y vs ORT');
    if (outputs.includes('inv_std_var')) close(t, nums(out.inv_std_var), nums(ortOut.inv_std_var), { rtol: 1e-6, atol: 1e-6 }, 'inv_std_var vs ORT');
  });
}

test('SimplifiedLayerNormalization › check with axis >= 0 and unknown rank › returns the reason', (t) => {
  t.regex(checkCase(nodeCase({ title: '', dims: [2, 3], axis: 1, opset: 14, dtype: F, xShape: null })) ?? '', /needs the rank of X/);
});
