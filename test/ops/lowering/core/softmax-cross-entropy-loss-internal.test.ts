import test from 'ava';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { sceLoss } from '../../../reference/lowering-loss.js';
import { runLowered, type OpSpec } from '../../../helpers/lowering.js';
import { closeTo, lossFixture, lossTable, tolerance, type LossFixture } from './loss-cases.js';

type IgnoreAs = 'constant' | 'input';

function spec(f: LossFixture, ignoreAs: IgnoreAs, opset = 17, outputType?: number): OpSpec {
  const { cs } = f;
  const inputs = ['scores', 'labels', cs.weights ? 'weights' : ''];
  if (cs.ignoreIndex !== undefined) inputs.push('ignore_index');
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const outT = outputType ?? f.T;
  return {
    op: 'com.microsoft::SoftmaxCrossEntropyLossInternal',
    inputs,
    tensors: {
      scores: { dtype: f.T, dims: f.dims, data: f.scores },
      labels: { dtype: f.L, dims: f.labelDims, data: f.cs.labels },
      weights: { dtype: f.T, dims: [cs.c], data: cs.weights ?? [] },
      ignore_index: { dtype: DataType.INT64, dims: [], data: [cs.ignoreIndex ?? 0], constant: ignoreAs === 'constant' },
    },
    attrs: { reduction: cs.reduction, ...(outputType !== undefined ? { output_type: outputType } : {}) },
    outputs: [{ name: 'loss', dtype: outT }, { name: 'log_prob', dtype: outT }],
    opset,
  };
}

for (const f of lossTable()) {
  for (const ignoreAs of f.cs.ignoreIndex === undefined ? (['constant'] as const) : (['constant', 'input'] as const)) {
    test(`SoftmaxCrossEntropyLossInternal › ${f.title}, ignore_index ${f.cs.ignoreIndex === undefined ? 'absent' : `as ${ignoreAs}`} › loss and log_prob equal the reference`, async (t) => {
      const out = await runLowered(spec(f, ignoreAs));
      const ref = sceLoss(f.scores, f.cs);
      // A constant (or absent) ignore_index on float32 maps to the standard op; anything else is decomposed.
      const standard = out.$lowered.model.graph.nodes.some((n) => n.opType === 'SoftmaxCrossEntropyLoss');
      t.is(standard, ignoreAs === 'constant' && f.T === DataType.FLOAT);
      const allIgnored = f.cs.labels.every((l) => l === f.cs.ignoreIndex);
      if (standard && allIgnored && f.cs.reduction === 'mean') {
        // Stock ORT's standard op divides 0 by 0 here (ORT-training's kernel returned 0; the decomposition does).
        t.true(Number.isNaN(out.loss.data[0]));
      } else {
        t.is(closeTo(out.loss.data, ref.loss, tolerance(f.T)), undefined);
      }
      t.deepEqual(out.loss.dims, f.cs.reduction === 'none' ? f.labelDims : []);
      t.is(closeTo(out.log_prob.data, ref.logProb, tolerance(f.T)), undefined);
    });
  }
}

test('SoftmaxCrossEntropyLossInternal › opset 12, rank 4, runtime ignore_index › LogSoftmax over the class axis despite the old axis semantics', async (t) => {
  const f = lossFixture({ dims: [2, 3, 2, 2], reduction: 'mean', weights: true, ignore: 1, T: DataType.FLOAT, L: DataType.INT64, seed: 77 });
  const out = await runLowered(spec(f, 'input', 12));
  const ref = sceLoss(f.scores, f.cs);
  t.is(out.$lowered.report.opset.to, 12);
  t.is(closeTo(out.loss.data, ref.loss, tolerance(f.T)), undefined);
  t.is(closeTo(out.log_prob.data, ref.logProb, tolerance(f.T)), undefined);
});

test('SoftmaxCrossEntropyLossInternal › output_type=float32 on float64 scores › outputs are cast', async (t) => {
  const f = lossFixture({ dims: [3, 4], reduction: 'sum', weights: false, T: DataType.DOUBLE, L: DataType.INT64, seed: 78 });
  const out = await runLowered(spec(f, 'constant', 17, DataType.FLOAT));
  const ref = sceLoss(f.scores, f.cs);
  t.is(closeTo(out.loss.data, ref.loss.map(Math.fround), 1e-7), undefined);
  t.is(out.$lowered.model.graph.nodes.filter((n) => n.opType === 'Cast').length >= 2, true);
});

test('SoftmaxCrossEntropyLossInternal › log_prob not wired › only the loss is computed', async (t) => {
  const f = lossFixture({ dims: [3, 4], reduction: 'mean', weights: false, T: DataType.FLOAT, L: DataType.INT64, seed: 79 });
  const s = spec(f, 'constant');
  const out = await runLowered({ ...s, outputs: [s.outputs[0]] });
  t.is(closeTo(out.loss.data, sceLoss(f.scores, f.cs).loss, 2e-6), undefined);
});
