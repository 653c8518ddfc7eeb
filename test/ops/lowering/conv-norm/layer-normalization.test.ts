import test from 'ava';
import { GraphBuilder, float, type Shape } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { layerNorm, randomTensor, rng } from '../../../reference/conv-norm.js';
import { checkCase, close, f32, f64, lowerCase, nums, runModel, type NodeCase } from '../../../helpers/lowering.js';
import type { Feeds } from '../../../helpers/ort.js';

const F = DataType.FLOAT;
const D = DataType.DOUBLE;

interface Case {
  title: string;
  dims: number[];
  axis: number;
  opset: number;
  dtype: number;
  bias?: boolean;
  domain?: string;
  /** Declared X shape (default dims); null = unknown. */
  xShape?: Shape | null;
  outputs?: string[];
  epsilon?: number;
}

const cases: Case[] = [
  { title: 'rank 3, axis -1, with bias, opset 12', dims: [2, 3, 5], axis: -1, opset: 12, dtype: F, bias: true },
  { title: 'rank 3, axis 1 (2-D scale), no bias, opset 14', dims: [2, 3, 4], axis: 1, opset: 14, dtype: F, epsilon: 1e-3 },
  { title: 'rank 4, axis -2, opset 17 (emitted as the standard op)', dims: [2, 2, 3, 4], axis: -2, opset: 17, dtype: F, bias: true },
  { title: 'float64, rank 2, opset 12', dims: [4, 6], axis: -1, opset: 12, dtype: D, bias: true },
  { title: 'unknown rank, axis -1, opset 13', dims: [3, 2, 4], axis: -1, opset: 13, dtype: F, bias: true, xShape: null },
  { title: 'symbolic batch, Y only, opset 14', dims: [3, 5], axis: -1, opset: 14, dtype: F, bias: true, xShape: ['N', 5], outputs: ['Y', '', ''] },
  { title: 'com.microsoft domain, opset 14', dims: [2, 6], axis: -1, opset: 14, dtype: F, bias: true, domain: 'com.microsoft' },
];

function nodeCase(c: Case): NodeCase {
  const a = c.axis < 0 ? c.axis + c.dims.length : c.axis;
  const sShape = c.dims.slice(a);
  return {
    opType: 'LayerNormalization', domain: c.domain ?? '', opset: c.opset,
    inputs: [
      { name: 'X', dtype: c.dtype, shape: c.xShape === null ? undefined : c.xShape ?? c.dims },
      { name: 'Scale', dtype: c.dtype, shape: sShape },
      ...(c.bias ? [{ name: 'B', dtype: c.dtype, shape: sShape }] : []),
    ],
    outputs: c.outputs ?? ['Y', 'Mean', 'InvStdDev'],
    attrs: { axis: c.axis, epsilon: c.epsilon === undefined ? undefined : float(c.epsilon) },
  };
}

for (const c of cases) {
  test(`LayerNormalization › ${c.title} › matches the reference and ORT's own LayerNormalization`, async (t) => {
    const r = rng(c.dims.reduce((a, v) => a * 7 + v, c.opset + c.axis));
    const a = c.axis < 0 ? c.axis + c.dims.length : c.axis;
    const sDims = c.dims.slice(a);
    const x = randomTensor(c.dims, r, -2, 2);
    const scale = randomTensor(sDims, r, 0.5, 1.5);
    const bias = randomTensor(sDims, r);
    const T = c.dtype === D ? f64 : f32;
    const feeds: Feeds = { X: T(x), Scale: T(scale), ...(c.bias ? { B: T(bias) } : {}) };
    const lowered = lowerCase(nodeCase(c));
    t.is(lowered.ops.includes('LayerNormalization'), c.opset >= 17);
    const out = await runModel(lowered.model, feeds);
    const ref = layerNorm(x, c.axis, scale.data, c.bias ? bias.data : undefined, Math.fround(c.epsilon ?? 1e-5));
    const statDims = c.dims.map((d, i) => (i < a ? d : 1));
    const tol = c.dtype === D ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };
    close(t, nums(out.Y), ref.y.data, tol, 'Y vs reference');
    t.is(out.Y.type, c.dtype === D ? 'float64' : 'float32');
    const outputs = c.outputs ?? ['Y', 'Mean', 'InvStdDev'];
    if (outputs.includes('Mean')) {
      t.is(out.Mean.type, 'float32', 'Mean is emitted in the stash type');
      t.deepEqual(out.Mean.dims, statDims);
      close(t, nums(out.Mean), ref.mean, { rtol: 1e-6, atol: 1e-6 }, 'Mean vs reference');
      close(t, nums(out.InvStdDev), ref.invStd, { rtol: 1e-6, atol: 1e-6 }, 'InvStdDev vs reference');
    }

    // ORT's own kernel for the node as written (the default-domain contrib op, or standard at 17).
    const b = GraphBuilder.create('ln', { opset: c.opset });
    const ins = ['X', 'Scale', ...(c.bias ? ['B'] : [])].map((n) => b.input(n, c.dtype));
    const [y, m, inv] = b.node('LayerNormalization', ins, { outputs: 3, attrs: { axis: c.axis, epsilon: c.epsilon === undefined ? undefined : float(c.epsilon) } });
    b.output(y, 'Y', c.dtype);
    b.output(m, 'Mean', F);
    b.output(inv, 'InvStdDev', F);
    const ortOut = await runModel(b.toModel(), feeds);
    close(t, nums(out.Y), nums(ortOut.Y), tol.rtol < 1e-6 ? { rtol: 1e-9, atol: 1e-9 } : { rtol: 1e-5, atol: 1e-5 }, 'Y vs ORT');
    if (outputs.includes('Mean')) {
      close(t, nums(out.Mean), nums(ortOut.Mean), { rtol: 1e-6, atol: 1e-6 }, 'Mean vs ORT');
      close(t, nums(out.InvStdDev), nums(ortOut.InvStdDev), { rtol: 1e-5, atol: 1e-5 }, 'InvStdDev vs ORT');
    }
  });
}

test('LayerNormalization › check with axis >= 0 and unknown rank › returns the reason', (t) => {
  t.regex(checkCase(nodeCase({ title: '', dims: [2, 3], axis: 1, opset: 14, dtype: F, xShape: null })) ?? '', /axis 1 >= 0 needs the rank of X/);
});

test('LayerNormalization › check with axis out of range › returns the reason', (t) => {
  const c = nodeCase({ title: '', dims: [2, 3], axis: -1, opset: 14, dtype: F });
  c.attrs = { axis: 2 };
  t.regex(checkCase(c) ?? '', /axis 2 is out of range for rank 2/);
});
