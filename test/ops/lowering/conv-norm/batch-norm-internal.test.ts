import test from 'ava';
import { GraphBuilder, float, type Shape } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { batchNormTrain, randomTensor, rng } from '../../../reference/conv-norm.js';
import { checkCase, close, f32, f64, lowerCase, nums, runModel, type NodeCase } from '../../../helpers/lowering.js';
import type { ort } from '../../../helpers/ort.js';

const F = DataType.FLOAT;
const D = DataType.DOUBLE;
const OUT = ['Y', 'running_mean', 'running_var', 'saved_mean', 'saved_inv_std'];

interface BnCase {
  title: string;
  dims: number[];
  opset: number;
  dtype: number;
  /** Declared X shape (default: dims); null = unknown shape. */
  xShape?: Shape | null;
  outputs?: string[];
  epsilon?: number;
  momentum?: number;
}

const cases: BnCase[] = [
  { title: 'rank 4, opset 12 (ResNet), all outputs', dims: [2, 3, 4, 5], opset: 12, dtype: F, epsilon: 1e-5, momentum: 0.9 },
  { title: 'rank 4, float64, symbolic batch', dims: [3, 2, 3, 3], opset: 17, dtype: D, xShape: ['N', 2, 3, 3], momentum: 0.7 },
  { title: 'rank 3 (Conv1d), opset 18', dims: [4, 3, 7], opset: 18, dtype: F, epsilon: 1e-3 },
  { title: 'rank 2 (BatchNorm1d on features), unknown shape', dims: [6, 4], opset: 15, dtype: D, xShape: null },
  { title: 'only Y, saved_mean and saved_inv_std (as the gradient uses them)', dims: [2, 3, 3, 2], opset: 12, dtype: F, outputs: ['Y', '', '', 'saved_mean', 'saved_inv_std'] },
];

function nodeCase(c: BnCase): NodeCase {
  const C = c.dims[1];
  return {
    opType: 'BatchNormInternal', domain: 'com.microsoft', opset: c.opset,
    inputs: [
      { name: 'X', dtype: c.dtype, shape: c.xShape === null ? undefined : c.xShape ?? c.dims },
      ...['scale', 'B', 'input_mean', 'input_var'].map((name) => ({ name, dtype: c.dtype, shape: [C] })),
    ],
    outputs: c.outputs ?? OUT,
    attrs: { epsilon: c.epsilon === undefined ? undefined : float(c.epsilon), momentum: c.momentum === undefined ? undefined : float(c.momentum), training_mode: 1 },
  };
}

for (const c of cases) {
  test(`BatchNormInternal › ${c.title} › matches the reference and ORT's training-mode BatchNormalization`, async (t) => {
    const r = rng(c.dims.reduce((a, v) => a * 13 + v, c.opset));
    const C = c.dims[1];
    const x = randomTensor(c.dims, r, -2, 3);
    const [scale, bias, mean, variance] = [randomTensor([C], r), randomTensor([C], r), randomTensor([C], r), randomTensor([C], r, 0.5, 2)].map((v) => v.data);
    const vec = c.dtype === D ? f64 : f32;
    const feeds = { X: c.dtype === D ? f64(x) : f32(x), scale: vec(scale), B: vec(bias), input_mean: vec(mean), input_var: vec(variance) };
    const out = await runModel(lowerCase(nodeCase(c)).model, feeds);
    const eps = Math.fround(c.epsilon ?? 1e-5);
    const momentum = Math.fround(c.momentum ?? 0.9);
    const ref = batchNormTrain(x, scale, bias, mean, variance, eps, momentum);
    const tol = c.dtype === D ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };
    const expected: Record<string, ArrayLike<number>> = {
      Y: ref.y.data, running_mean: ref.runningMean, running_var: ref.runningVar, saved_mean: ref.savedMean, saved_inv_std: ref.savedInvStd,
    };
    for (const name of (c.outputs ?? OUT).filter((o) => o)) {
      close(t, nums(out[name]), expected[name], tol, `${name} vs reference`);
      t.deepEqual(out[name].dims, name === 'Y' ? c.dims : [C], `${name} dims`);
    }

    // ORT's own kernel for the same math: standard BatchNormalization-15 in training mode.
    const b = GraphBuilder.create('bn', { opset: 15 });
    const ins = ['X', 'scale', 'B', 'input_mean', 'input_var'].map((n) => b.input(n, c.dtype));
    const [y, rm, rv] = b.node('BatchNormalization', ins, { outputs: 3, attrs: { epsilon: float(eps), momentum: float(momentum), training_mode: 1 }, dtypes: [c.dtype, c.dtype, c.dtype] });
    b.output(y, 'Y');
    b.output(rm, 'running_mean');
    b.output(rv, 'running_var');
    const ortOut: Record<string, ort.Tensor> = await runModel(b.toModel(), feeds);
    for (const name of ['Y', 'running_mean', 'running_var'].filter((o) => (c.outputs ?? OUT).includes(o))) {
      close(t, nums(out[name]), nums(ortOut[name]), c.dtype === D ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 }, `${name} vs ORT BatchNormalization`);
    }
  });
}

test('BatchNormInternal › a single output › is the inference BatchNormalization with the running statistics', async (t) => {
  const c: BnCase = { title: 'inference', dims: [2, 3, 4], opset: 12, dtype: F, outputs: ['Y'] };
  const lowered = lowerCase(nodeCase(c));
  t.deepEqual(lowered.ops.filter((o) => o === 'BatchNormalization'), ['BatchNormalization']);
  const r = rng(3);
  const x = randomTensor(c.dims, r);
  const [scale, bias, mean, variance] = [randomTensor([3], r), randomTensor([3], r), randomTensor([3], r), randomTensor([3], r, 0.5, 2)].map((v) => v.data);
  const out = await runModel(lowered.model, { X: f32(x), scale: f32(scale), B: f32(bias), input_mean: f32(mean), input_var: f32(variance) });
  const expected = Float64Array.from(x.data, (v, i) => {
    const ch = Math.floor(i / 4) % 3;
    return (v - mean[ch]) / Math.sqrt(variance[ch] + Math.fround(1e-5)) * scale[ch] + bias[ch];
  });
  close(t, nums(out.Y), expected, { rtol: 1e-5, atol: 1e-5 }, 'Y');
});

test('BatchNormInternal › check with rank-1 X › returns the reason', (t) => {
  const c = nodeCase({ title: '', dims: [4, 4], opset: 17, dtype: F });
  c.inputs[0].shape = [4];
  t.regex(checkCase(c) ?? '', /rank >= 2/);
});

test('BatchNormInternal › check with an int64 input › returns the reason', (t) => {
  const c = nodeCase({ title: '', dims: [4, 4], opset: 17, dtype: F });
  c.inputs[3].dtype = DataType.INT64;
  t.regex(checkCase(c) ?? '', /INT64; a float type is expected/);
});
