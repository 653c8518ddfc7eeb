import test from 'ava';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { logSoftmaxAxis1, nllLoss } from '../../../reference/lowering-loss.js';
import { runLowered, type OpSpec } from '../../../helpers/lowering.js';
import { closeTo, lossTable, tolerance, type LossFixture } from './loss-cases.js';

function spec(op: string, f: LossFixture, input: number[], ignoreAs: 'constant' | 'input'): OpSpec {
  const { cs } = f;
  const inputs = ['input', 'target', cs.weights ? 'weight' : '', cs.ignoreIndex !== undefined ? 'ignore_index' : ''];
  while (inputs[inputs.length - 1] === '') inputs.pop();
  return {
    op,
    inputs,
    tensors: {
      input: { dtype: f.T, dims: f.dims, data: input },
      target: { dtype: f.L, dims: f.labelDims, data: cs.labels },
      weight: { dtype: f.T, dims: [cs.c], data: cs.weights ?? [] },
      ignore_index: { dtype: DataType.INT64, dims: [1], data: [cs.ignoreIndex ?? 0], constant: ignoreAs === 'constant' },
    },
    attrs: { reduction: cs.reduction },
    outputs: [{ name: 'loss', dtype: f.T }],
  };
}

const table = lossTable();
for (const op of ['com.microsoft::NegativeLogLikelihoodLossInternal', 'com.microsoft::NegativeLogLikelihoodLossInternal2']) {
  for (const f of op.endsWith('2') ? table.filter((_, i) => i % 3 === 0) : table) {
    for (const ignoreAs of f.cs.ignoreIndex === undefined ? (['constant'] as const) : (['constant', 'input'] as const)) {
      test(`${op.split('::')[1]} › ${f.title}, ignore_index ${f.cs.ignoreIndex === undefined ? 'absent' : `as ${ignoreAs}`} › equals the reference`, async (t) => {
        const logProb = logSoftmaxAxis1(f.scores, f.cs.n, f.cs.c, f.cs.d);
        const out = await runLowered(spec(op, f, logProb, ignoreAs));
        const standard = out.$lowered.model.graph.nodes.some((n) => n.opType === 'NegativeLogLikelihoodLoss');
        t.is(standard, ignoreAs === 'constant' && f.T === DataType.FLOAT);
        if (f.cs.reduction === 'mean' && f.cs.labels.every((l) => l === f.cs.ignoreIndex)) {
          // Σ w = 0: the explicit form gives 0 (like the SCE kernels), stock ORT's standard op 0/0 = NaN.
          t.is(Number.isNaN(out.loss.data[0]), standard);
          if (!standard) t.is(out.loss.data[0], 0);
          return;
        }
        t.is(closeTo(out.loss.data, nllLoss(logProb, f.cs), tolerance(f.T)), undefined);
        t.deepEqual(out.loss.dims, f.cs.reduction === 'none' ? f.labelDims : []);
      });
    }
  }
}
