import test from 'ava';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { accumulate } from '../../../reference/lowering-core.js';
import { numbers, runLowered, type OpSpec } from '../../../helpers/lowering.js';

const dims = [3, 4];
// float32-representable inputs, so float32 addition on ORT equals the rounded float64 reference sum
const buffer = numbers(1, 12).map(Math.fround);
const grad = numbers(2, 12).map(Math.fround);

const spec = (withFlag: boolean, valueType: number = DataType.FLOAT): OpSpec => ({
  op: 'com.microsoft::InPlaceAccumulatorV2',
  inputs: withFlag ? ['w_grad.accumulation.buffer', 'w_grad', 'lazy_reset_grad'] : ['w_grad.accumulation.buffer', 'w_grad'],
  tensors: {
    'w_grad.accumulation.buffer': { dtype: DataType.FLOAT, dims, data: buffer },
    w_grad: { dtype: valueType, dims, data: grad },
    lazy_reset_grad: { dtype: DataType.BOOL, dims: [1], data: [1] },
  },
  outputs: [{ name: 'w_grad.accumulation.out', dtype: DataType.BOOL, dims: [1] }],
});

for (const reset of [true, false]) {
  test(`InPlaceAccumulatorV2 › lazy_reset_grad=${reset} › buffer.out = ${reset ? 'grad' : 'buffer + grad'}, flag true`, async (t) => {
    const out = await runLowered(spec(true), undefined, { lazy_reset_grad: [reset ? 1 : 0] });
    const expected = accumulate(buffer, grad, reset).map(Math.fround);
    t.deepEqual(out['w_grad.accumulation.buffer.out'].data, expected);
    t.deepEqual(out['w_grad.accumulation.buffer.out'].dims, dims);
    t.deepEqual(out['w_grad.accumulation.out'].data, [1]);
    t.deepEqual(out.$lowered.report.stateOutputs, [{ input: 'w_grad.accumulation.buffer', output: 'w_grad.accumulation.buffer.out' }]);
    const declared = out.$lowered.model.graph.outputs.map((o) => o.name);
    t.deepEqual(declared, ['w_grad.accumulation.out', 'w_grad.accumulation.buffer.out']);
  });
}

test('InPlaceAccumulatorV2 › no overwrite flag › always accumulates', async (t) => {
  const out = await runLowered(spec(false));
  t.deepEqual(out['w_grad.accumulation.buffer.out'].data, accumulate(buffer, grad, false).map(Math.fround));
});

test('InPlaceAccumulatorV2 › float64 value into a float32 buffer › value is cast like the kernel', async (t) => {
  const out = await runLowered(spec(true, DataType.DOUBLE), undefined, { lazy_reset_grad: [0] });
  const expected = buffer.map((b, i) => Math.fround(Math.fround(b) + Math.fround(grad[i])));
  t.deepEqual(out['w_grad.accumulation.buffer.out'].data, expected);
});

test('InPlaceAccumulatorV2 › flags: false › only the buffer output remains', async (t) => {
  const out = await runLowered(spec(true), { flags: false }, { lazy_reset_grad: [0] });
  t.deepEqual(Object.keys(out).filter((k) => k !== '$lowered'), ['w_grad.accumulation.buffer.out']);
  t.deepEqual(out.$lowered.report.removedOutputs, ['w_grad.accumulation.out']);
});

test('InPlaceAccumulatorV2 › accumulation: none › the gradient is an output; buffer and flag inputs are gone', async (t) => {
  const s = spec(true);
  const lowered = (await import('../../../helpers/lowering.js')).lowerSpec(s, { accumulation: 'none' });
  const g = lowered.model.graph;
  t.deepEqual(g.inputs.map((i) => i.name), ['w_grad']);
  t.deepEqual(g.outputs.map((o) => o.name), ['w_grad.accumulation.out', 'w_grad.out']);
  t.deepEqual(lowered.report.gradientOutputs, ['w_grad.out']);
  t.deepEqual([...lowered.report.removedInputs].sort(), ['lazy_reset_grad', 'w_grad.accumulation.buffer']);
});
