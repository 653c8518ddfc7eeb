import test from 'ava';
import { GraphBuilder, float, type Shape } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { batchNormGrad, batchNormTrain, randomTensor, rng } from '../../../reference/conv-norm.js';
import { close, f32, f64, finiteDifferences, lossOf, lowerCase, nums, runModel, type NodeCase } from '../../../helpers/lowering.js';

const F = DataType.FLOAT;
const D = DataType.DOUBLE;

interface Case {
  title: string;
  dims: number[];
  opset: number;
  dtype: number;
  xShape?: Shape | null;
  outputs?: string[];
}

const cases: Case[] = [
  { title: 'rank 4, opset 12 (ResNet)', dims: [2, 3, 3, 4], opset: 12, dtype: D },
  { title: 'rank 3, symbolic batch, opset 17', dims: [3, 2, 5], opset: 17, dtype: D, xShape: ['N', 2, 5] },
  { title: 'rank 2, unknown shape, opset 14', dims: [5, 3], opset: 14, dtype: D, xShape: null },
  { title: 'float32 rank 4', dims: [2, 4, 3, 3], opset: 12, dtype: F },
  { title: 'dScale and dBias only (frozen input)', dims: [2, 3, 2, 2], opset: 17, dtype: D, outputs: ['', 'dScale', 'dBias'] },
  { title: 'dX only, opset 18', dims: [2, 3, 4], opset: 18, dtype: D, outputs: ['dX', '', ''] },
];

const EPS = 1e-5;

for (const c of cases) {
  test(`BatchNormalizationGrad › ${c.title} › matches the chain-rule reference and finite differences of BatchNormalization`, async (t) => {
    const r = rng(c.dims.reduce((a, v) => a * 17 + v, c.opset));
    const C = c.dims[1];
    const x = randomTensor(c.dims, r, -1, 2);
    const dy = randomTensor(c.dims, r);
    const scale = randomTensor([C], r, 0.5, 1.5).data;
    const bias = randomTensor([C], r).data;
    const fwd = batchNormTrain(x, scale, bias, new Float64Array(C), new Float64Array(C).fill(1), EPS, 0.9);
    const outputs = c.outputs ?? ['dX', 'dScale', 'dBias'];
    const nc: NodeCase = {
      opType: 'BatchNormalizationGrad', domain: 'com.microsoft', opset: c.opset,
      inputs: [
        { name: 'dY', dtype: c.dtype, shape: c.xShape === null ? undefined : c.xShape ?? c.dims },
        { name: 'X', dtype: c.dtype, shape: c.xShape === null ? undefined : c.xShape ?? c.dims },
        ...['scale', 'saved_mean', 'saved_inv_std'].map((name) => ({ name, dtype: c.dtype, shape: [C] })),
      ],
      outputs, attrs: { epsilon: float(EPS) },
    };
    const T = c.dtype === D ? f64 : f32;
    const V = c.dtype === D ? f64 : f32;
    const out = await runModel(lowerCase(nc).model, { dY: T(dy), X: T(x), scale: V(scale), saved_mean: V(fwd.savedMean), saved_inv_std: V(fwd.savedInvStd) });
    const ref = batchNormGrad(dy, x, scale, fwd.savedMean, fwd.savedInvStd);
    const tol = c.dtype === D ? { rtol: 1e-9, atol: 1e-10 } : { rtol: 1e-4, atol: 2e-5 };

    // Finite differences of ORT's training-mode BatchNormalization (float64), L = Σ dY·Y.
    const b = GraphBuilder.create('bn', { opset: 15 });
    const ins = ['X', 'scale', 'B', 'mean', 'var'].map((n) => b.input(n, D));
    const [y] = b.node('BatchNormalization', ins, { outputs: 3, attrs: { epsilon: float(EPS), training_mode: 1 }, dtypes: [D, D, D] });
    lossOf(b, y, b.input('dY', D));
    const fwdModel = b.toModel();
    const feeds = { X: f64(x), scale: f64(scale), B: f64(bias), mean: f64(new Float64Array(C)), var: f64(new Float64Array(C).fill(1)), dY: f64(dy) };
    const fdTol = { rtol: 1e-5, atol: 1e-6 };
    if (outputs.includes('dX')) {
      t.deepEqual(out.dX.dims, c.dims);
      close(t, nums(out.dX), ref.dX.data, tol, 'dX vs reference');
      close(t, nums(out.dX), await finiteDifferences(fwdModel, feeds, 'X', 1e-5), fdTol, 'dX vs finite differences');
    }
    if (outputs.includes('dScale')) {
      t.deepEqual(out.dScale.dims, [C]);
      close(t, nums(out.dScale), ref.dScale, tol, 'dScale vs reference');
      close(t, nums(out.dScale), await finiteDifferences(fwdModel, feeds, 'scale', 1e-5), fdTol, 'dScale vs finite differences');
    }
    if (outputs.includes('dBias')) {
      close(t, nums(out.dBias), ref.dBias, tol, 'dBias vs reference');
      close(t, nums(out.dBias), await finiteDifferences(fwdModel, feeds, 'B', 1e-5), fdTol, 'dBias vs finite differences');
    }
  });
}
