import test from 'ava';
import { GraphBuilder, type Shape } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { randomTensor, rmsNorm, rmsNormGrad, rng, tensor } from '../../../reference/conv-norm.js';
import { close, f32, f64, finiteDifferences, lossOf, lowerCase, nums, runModel, type NodeCase } from '../../../helpers/lowering.js';

const F = DataType.FLOAT;
const D = DataType.DOUBLE;

interface Case {
  title: string;
  dims: number[];
  axis: number;
  opset: number;
  dtype: number;
  statType?: number;
  xShape?: Shape | null;
  outputs?: string[];
}

const cases: Case[] = [
  { title: 'rank 3, axis -1, opset 12', dims: [2, 3, 6], axis: -1, opset: 12, dtype: D },
  { title: 'rank 3, axis 1, opset 17', dims: [2, 3, 4], axis: 1, opset: 17, dtype: D },
  { title: 'float32 rank 2', dims: [4, 8], axis: -1, opset: 14, dtype: F },
  { title: 'float64 X with float32 inv_std_var (as ORT emits it)', dims: [3, 5], axis: -1, opset: 14, dtype: D, statType: F },
  { title: 'unknown rank, scale gradient only', dims: [2, 2, 5], axis: -1, opset: 13, dtype: D, xShape: null, outputs: ['', 'dScale'] },
  { title: 'dX only, symbolic batch, opset 18', dims: [3, 7], axis: -1, opset: 18, dtype: D, xShape: ['N', 7], outputs: ['dX', ''] },
];

const EPS = 1e-5;

for (const c of cases) {
  test(`SimplifiedLayerNormalizationGrad › ${c.title} › matches the chain-rule reference and finite differences of SimplifiedLayerNormalization`, async (t) => {
    const r = rng(c.dims.reduce((a, v) => a * 3 + v, c.opset - c.axis));
    const a = c.axis < 0 ? c.axis + c.dims.length : c.axis;
    const sDims = c.dims.slice(a);
    const statDims = c.dims.map((d, i) => (i < a ? d : 1));
    const x = randomTensor(c.dims, r, -2, 2);
    const dy = randomTensor(c.dims, r);
    const scale = randomTensor(sDims, r, 0.5, 1.5);
    const statType = c.statType ?? c.dtype;
    const fwd = rmsNorm(x, c.axis, scale.data, EPS);
    const inv = tensor(statDims, statType === F ? Float64Array.from(fwd.invStd, Math.fround) : fwd.invStd);
    const outputs = c.outputs ?? ['dX', 'dScale'];
    const xShape = c.xShape === null ? undefined : c.xShape ?? c.dims;
    const nc: NodeCase = {
      opType: 'SimplifiedLayerNormalizationGrad', domain: 'com.microsoft', opset: c.opset,
      inputs: [
        { name: 'dY', dtype: c.dtype, shape: xShape }, { name: 'X', dtype: c.dtype, shape: xShape },
        { name: 'scale', dtype: c.dtype, shape: sDims }, { name: 'inv_std_var', dtype: statType, shape: statDims },
      ],
      outputs, attrs: { axis: c.axis },
    };
    const T = c.dtype === D ? f64 : f32;
    const out = await runModel(lowerCase(nc).model, { dY: T(dy), X: T(x), scale: T(scale), inv_std_var: statType === D ? f64(inv) : f32(inv) });
    const ref = rmsNormGrad(dy, x, c.axis, scale.data, inv.data);
    const tol = c.dtype === D && statType === D ? { rtol: 1e-9, atol: 1e-10 } : { rtol: 1e-4, atol: 2e-5 };

    // Finite differences of ORT's own SimplifiedLayerNormalization in float64.
    const b = GraphBuilder.create('rms', { opset: 17 });
    const [y] = b.node('SimplifiedLayerNormalization', [b.input('X', D), b.input('scale', D)], { outputs: 1, attrs: { axis: c.axis }, dtypes: [D] });
    lossOf(b, y, b.input('dY', D));
    const fwdModel = b.toModel();
    const feeds = { X: f64(x), scale: f64(scale), dY: f64(dy) };
    const fdTol = statType === D ? { rtol: 1e-6, atol: 1e-7 } : { rtol: 1e-4, atol: 2e-5 };
    if (outputs.includes('dX')) {
      t.deepEqual(out.dX.dims, c.dims);
      close(t, nums(out.dX), ref.dX.data, tol, 'dX vs reference');
      close(t, nums(out.dX), await finiteDifferences(fwdModel, feeds, 'X', 1e-6), fdTol, 'dX vs finite differences');
    }
    if (outputs.includes('dScale')) {
      t.deepEqual(out.dScale.dims, sDims);
      close(t, nums(out.dScale), ref.dScale, tol, 'dScale vs reference');
      close(t, nums(out.dScale), await finiteDifferences(fwdModel, feeds, 'scale', 1e-6), fdTol, 'dScale vs finite differences');
    }
  });
}
