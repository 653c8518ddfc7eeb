import test from 'ava';
import { GraphBuilder, type Shape } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { layerNorm, layerNormGrad, randomTensor, rng, tensor } from '../../../reference/conv-norm.js';
import { close, f32, f64, finiteDifferences, lossOf, lowerCase, nums, runModel, type NodeCase } from '../../../helpers/lowering.js';

const F = DataType.FLOAT;
const D = DataType.DOUBLE;

interface Case {
  title: string;
  dims: number[];
  axis: number;
  opset: number;
  dtype: number;
  /** Type of the saved mean / inv_std_dev inputs (default: dtype). */
  statType?: number;
  xShape?: Shape | null;
  outputs?: string[];
}

const cases: Case[] = [
  { title: 'rank 3, axis -1, opset 12', dims: [2, 3, 5], axis: -1, opset: 12, dtype: D },
  { title: 'rank 3, axis 1 (2-D scale), opset 17', dims: [2, 3, 4], axis: 1, opset: 17, dtype: D },
  { title: 'rank 2, float32 with float32 statistics', dims: [4, 6], axis: -1, opset: 14, dtype: F },
  { title: 'float64 X with float32 saved statistics (as ORT emits them)', dims: [3, 4], axis: -1, opset: 14, dtype: D, statType: F },
  { title: 'unknown rank, axis -1, opset 13', dims: [2, 2, 5], axis: -1, opset: 13, dtype: D, xShape: null },
  { title: 'scale and bias gradients only', dims: [3, 5], axis: -1, opset: 17, dtype: D, outputs: ['', 'dScale', 'dBias'] },
  { title: 'dX only, symbolic batch', dims: [3, 4, 3], axis: -2, opset: 18, dtype: D, xShape: ['N', 4, 3], outputs: ['dX', '', ''] },
];

const EPS = 1e-5;

for (const c of cases) {
  test(`LayerNormalizationGrad › ${c.title} › matches the chain-rule reference and finite differences of LayerNormalization`, async (t) => {
    const r = rng(c.dims.reduce((a, v) => a * 11 + v, c.opset - c.axis));
    const a = c.axis < 0 ? c.axis + c.dims.length : c.axis;
    const sDims = c.dims.slice(a);
    const statDims = c.dims.map((d, i) => (i < a ? d : 1));
    const x = randomTensor(c.dims, r, -2, 2);
    const dy = randomTensor(c.dims, r);
    const scale = randomTensor(sDims, r, 0.5, 1.5);
    const bias = randomTensor(sDims, r);
    const fwd = layerNorm(x, c.axis, scale.data, bias.data, EPS);
    const statType = c.statType ?? c.dtype;
    const round = (v: Float64Array) => (statType === F ? Float64Array.from(v, Math.fround) : v);
    const mean = tensor(statDims, round(fwd.mean));
    const inv = tensor(statDims, round(fwd.invStd));
    const outputs = c.outputs ?? ['dX', 'dScale', 'dBias'];
    const xShape = c.xShape === null ? undefined : c.xShape ?? c.dims;
    const nc: NodeCase = {
      opType: 'LayerNormalizationGrad', domain: 'com.microsoft', opset: c.opset,
      inputs: [
        { name: 'dY', dtype: c.dtype, shape: xShape }, { name: 'X', dtype: c.dtype, shape: xShape }, { name: 'scale', dtype: c.dtype, shape: sDims },
        { name: 'mean', dtype: statType, shape: statDims }, { name: 'inv_std_dev', dtype: statType, shape: statDims },
      ],
      outputs, attrs: { axis: c.axis },
    };
    const T = c.dtype === D ? f64 : f32;
    const S = statType === D ? f64 : f32;
    const out = await runModel(lowerCase(nc).model, { dY: T(dy), X: T(x), scale: T(scale), mean: S(mean), inv_std_dev: S(inv) });
    const ref = layerNormGrad(dy, x, c.axis, scale.data, mean.data, inv.data);
    const tol = c.dtype === D && statType === D ? { rtol: 1e-9, atol: 1e-10 } : { rtol: 1e-4, atol: 2e-5 };

    const b = GraphBuilder.create('ln', { opset: 17 });
    const [y] = b.op.LayerNormalization(b.input('X', D), b.input('scale', D), b.input('B', D), c.axis, EPS);
    lossOf(b, y, b.input('dY', D));
    const fwdModel = b.toModel();
    const feeds = { X: f64(x), scale: f64(scale), B: f64(bias), dY: f64(dy) };
    // float32 saved statistics make the analytic gradient exact only to ~1e-7 relative.
    const fdTol = statType === D ? { rtol: 1e-6, atol: 1e-7 } : { rtol: 1e-4, atol: 2e-5 };
    if (outputs.includes('dX')) {
      t.deepEqual(out.dX.dims, c.dims);
      t.is(out.dX.type, c.dtype === D ? 'float64' : 'float32');
      close(t, nums(out.dX), ref.dX.data, tol, 'dX vs reference');
      close(t, nums(out.dX), await finiteDifferences(fwdModel, feeds, 'X', 1e-6), fdTol, 'dX vs finite differences');
    }
    if (outputs.includes('dScale')) {
      t.deepEqual(out.dScale.dims, sDims);
      close(t, nums(out.dScale), ref.dScale, tol, 'dScale vs reference');
      close(t, nums(out.dScale), await finiteDifferences(fwdModel, feeds, 'scale', 1e-6), fdTol, 'dScale vs finite differences');
    }
    if (outputs.includes('dBias')) {
      t.deepEqual(out.dBias.dims, sDims);
      close(t, nums(out.dBias), ref.dBias, tol, 'dBias vs reference');
      close(t, nums(out.dBias), await finiteDifferences(fwdModel, feeds, 'B', 1e-6), fdTol, 'dBias vs finite differences');
    }
  });
}
