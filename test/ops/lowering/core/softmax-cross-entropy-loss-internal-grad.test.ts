import test from 'ava';
import { GraphBuilder } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { centralDifference } from '../../../reference/lowering-core.js';
import { sceGrad, sceLoss } from '../../../reference/lowering-loss.js';
import { numbers, ortTensor, run, runLowered, type OpSpec } from '../../../helpers/lowering.js';
import { closeTo, lossFixture, lossTable, tolerance, type LossFixture } from './loss-cases.js';

function spec(f: LossFixture, logProb: number[], o: { ignoreAs?: 'constant' | 'input'; bias?: number[]; outputType?: number } = {}): OpSpec {
  const { cs } = f;
  const inputs = ['dY', 'log_prob', 'label', cs.weights ? 'weight' : '', cs.ignoreIndex !== undefined ? 'ignore_index' : '', o.bias ? 'bias' : ''];
  while (inputs[inputs.length - 1] === '') inputs.pop();
  return {
    op: 'com.microsoft::SoftmaxCrossEntropyLossInternalGrad',
    inputs,
    tensors: {
      dY: { dtype: f.T, dims: cs.reduction === 'none' ? f.labelDims : [], data: f.dY },
      log_prob: { dtype: f.T, dims: f.dims, data: logProb },
      label: { dtype: f.L, dims: f.labelDims, data: cs.labels },
      weight: { dtype: f.T, dims: [cs.c], data: cs.weights ?? [] },
      ignore_index: { dtype: DataType.INT64, dims: [], data: [cs.ignoreIndex ?? 0], constant: (o.ignoreAs ?? 'constant') === 'constant' },
      bias: { dtype: f.T, dims: f.dims, data: o.bias ?? [] },
    },
    attrs: { reduction: cs.reduction, ...(o.outputType !== undefined ? { output_type: o.outputType } : {}) },
    outputs: [{ name: 'd_logits', dtype: o.outputType ?? f.T }],
  };
}

for (const f of lossTable().filter((_, i) => i % 2 === 0)) {
  for (const ignoreAs of f.cs.ignoreIndex === undefined ? (['constant'] as const) : (['constant', 'input'] as const)) {
    test(`SoftmaxCrossEntropyLossInternalGrad › ${f.title}, ignore_index ${f.cs.ignoreIndex === undefined ? 'absent' : `as ${ignoreAs}`} › equals the reference`, async (t) => {
      const { logProb } = sceLoss(f.scores, f.cs);
      const out = await runLowered(spec(f, logProb, { ignoreAs }));
      t.is(closeTo(out.d_logits.data, sceGrad(f.dY, logProb, f.cs), tolerance(f.T)), undefined);
    });
  }
}

test('SoftmaxCrossEntropyLossInternalGrad › bias and output_type › bias is added, result cast', async (t) => {
  const f = lossFixture({ dims: [2, 3, 2], reduction: 'mean', weights: true, ignore: 1, T: DataType.DOUBLE, L: DataType.INT64, seed: 300 });
  const { logProb } = sceLoss(f.scores, f.cs);
  const bias = numbers(301, logProb.length);
  const out = await runLowered(spec(f, logProb, { ignoreAs: 'input', bias, outputType: DataType.FLOAT }));
  const expected = sceGrad(f.dY, logProb, f.cs).map((v, i) => Math.fround(v + bias[i]));
  t.is(closeTo(out.d_logits.data, expected, 1e-7), undefined);
});

test('SoftmaxCrossEntropyLossInternalGrad › runtime ignore_index, float64 › matches central differences of the forward on ORT', async (t) => {
  const f = lossFixture({ dims: [3, 4], reduction: 'mean', weights: true, ignore: 2, T: DataType.DOUBLE, L: DataType.INT64, seed: 400 });
  const { cs } = f;
  const b = GraphBuilder.create('sce', { opset: 17 });
  const scores = b.input('scores', DataType.DOUBLE, f.dims);
  const labels = b.input('labels', DataType.INT64, f.labelDims);
  const weights = b.input('weights', DataType.DOUBLE, [cs.c]);
  const [loss, lp] = b.op.SoftmaxCrossEntropyLoss(scores, labels, weights, { reduction: 'mean', ignore_index: 2 }, 2);
  b.output(b.op.Mul(loss, f.dY[0]), 'L');
  b.output(lp, 'log_prob');
  const forward = b.toModel();
  const feeds = (s: ArrayLike<number>) => ({ scores: ortTensor(DataType.DOUBLE, f.dims, s), labels: ortTensor(DataType.INT64, f.labelDims, cs.labels), weights: ortTensor(DataType.DOUBLE, [cs.c], cs.weights!) });
  const base = await run(forward, feeds(f.scores));
  const lowered = await runLowered(spec(f, base.log_prob.data, { ignoreAs: 'input' }));
  for (let i = 0; i < f.scores.length; i++) {
    const fd = await centralDifference(async (s) => (await run(forward, feeds(s))).L.data[0], f.scores, i, 1e-5);
    t.true(Math.abs(fd - lowered.d_logits.data[i]) <= 1e-7 * Math.max(1, Math.abs(fd)), `coordinate ${i}`);
  }
});
