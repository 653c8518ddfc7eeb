import test from 'ava';
import { GraphBuilder } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { centralDifference } from '../../../reference/lowering-core.js';
import { sceGrad, sceLoss } from '../../../reference/lowering-loss.js';
import { ortTensor, run, runLowered, type OpSpec } from '../../../helpers/lowering.js';
import { closeTo, lossFixture, lossTable, REDUCTIONS, tolerance, type LossFixture } from './loss-cases.js';

function gradSpec(f: LossFixture, logProb: number[]): OpSpec {
  const { cs } = f;
  const inputs = ['dY', 'log_prob', 'label'];
  if (cs.weights) inputs.push('weight');
  return {
    op: 'com.microsoft::SoftmaxCrossEntropyLossGrad',
    inputs,
    tensors: {
      dY: { dtype: f.T, dims: cs.reduction === 'none' ? f.labelDims : [], data: f.dY },
      log_prob: { dtype: f.T, dims: f.dims, data: logProb },
      label: { dtype: f.L, dims: f.labelDims, data: cs.labels },
      weight: { dtype: f.T, dims: [cs.c], data: cs.weights ?? [] },
    },
    attrs: { reduction: cs.reduction, ...(cs.ignoreIndex !== undefined ? { ignore_index: cs.ignoreIndex } : {}) },
    outputs: [{ name: 'd_logits', dtype: f.T }],
  };
}

for (const f of lossTable()) {
  test(`SoftmaxCrossEntropyLossGrad › ${f.title} › equals the reference`, async (t) => {
    const { logProb } = sceLoss(f.scores, f.cs);
    const out = await runLowered(gradSpec(f, logProb));
    const expected = sceGrad(f.dY, logProb, f.cs);
    t.deepEqual(out.d_logits.dims, f.dims);
    const problem = closeTo(out.d_logits.data, expected, tolerance(f.T));
    t.is(problem, undefined);
  });
}

/**
 * Finite differences of the *standard* forward op (ONNX SoftmaxCrossEntropyLoss, float64, run on ORT) of
 * L(scores) = Σ dY ⊙ loss(scores), against the lowered gradient fed with ORT's own log_prob output.
 */
async function checkAgainstFiniteDifferences(t: import('ava').ExecutionContext, f: LossFixture): Promise<void> {
  const { cs } = f;
  const b = GraphBuilder.create('sce', { opset: 17 });
  const scores = b.input('scores', DataType.DOUBLE, f.dims);
  const labels = b.input('labels', f.L, f.labelDims);
  const weights = cs.weights ? b.input('weights', DataType.DOUBLE, [cs.c]) : undefined;
  const dY = b.input('dY', DataType.DOUBLE, cs.reduction === 'none' ? f.labelDims : []);
  const [loss, logProb] = b.op.SoftmaxCrossEntropyLoss(scores, labels, weights, { reduction: cs.reduction, ignore_index: cs.ignoreIndex }, 2);
  b.output(b.op.ReduceSum(b.op.Mul(loss, dY), undefined, 0), 'L');
  b.output(logProb, 'log_prob');
  const forward = b.toModel();
  const feeds = (s: ArrayLike<number>) => ({
    scores: ortTensor(DataType.DOUBLE, f.dims, s),
    labels: ortTensor(f.L, f.labelDims, cs.labels),
    dY: ortTensor(DataType.DOUBLE, cs.reduction === 'none' ? f.labelDims : [], f.dY),
    ...(cs.weights ? { weights: ortTensor(DataType.DOUBLE, [cs.c], cs.weights) } : {}),
  });
  const base = await run(forward, feeds(f.scores));
  const lowered = await runLowered(gradSpec({ ...f, T: DataType.DOUBLE }, base.log_prob.data));
  const L = async (s: Float64Array) => (await run(forward, feeds(s))).L.data[0];
  for (let i = 0; i < f.scores.length; i++) {
    const fd = await centralDifference(L, f.scores, i, 1e-5);
    const g = lowered.d_logits.data[i];
    t.true(Math.abs(fd - g) <= 1e-7 * Math.max(1, Math.abs(fd)), `coordinate ${i}: finite difference ${fd}, lowered ${g}`);
  }
}

for (const reduction of REDUCTIONS) {
  for (const [weights, ignore] of [[false, undefined], [true, 1], [false, -100]] as const) {
    for (const dims of [[3, 4], [2, 3, 2]]) {
      const f = lossFixture({ dims, reduction, weights, ignore, T: DataType.DOUBLE, L: DataType.INT64, seed: 500 + dims.length * 10 });
      test(`SoftmaxCrossEntropyLossGrad › ${f.title} › matches central differences of the standard forward op on ORT`, (t) => checkAgainstFiniteDifferences(t, f));
    }
  }
}

test('SoftmaxCrossEntropyLossGrad › reduction="avg" › refused with the reason', async (t) => {
  const f = lossFixture({ dims: [3, 4], reduction: 'mean', weights: false, T: DataType.FLOAT, L: DataType.INT64, seed: 1 });
  const spec = gradSpec(f, sceLoss(f.scores, f.cs).logProb);
  const err = await t.throwsAsync(() => runLowered({ ...spec, attrs: { reduction: 'avg' } }));
  t.regex(err?.message ?? '', /reduction="avg" \(must be none, sum or mean\)/);
});
