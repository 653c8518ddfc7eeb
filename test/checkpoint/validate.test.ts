import test from 'ava';
import { checkpointMismatches, validateAgainst } from '../../src/checkpoint/validate.js';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { DataType } from '../../src/checkpoint/dtype.js';
import { artifact, f32, sampleState, throwsCode } from './helpers.js';

const MNIST = [
  { name: 'fc1.weight', dims: [500, 784], dataType: DataType.FLOAT },
  { name: 'fc1.bias', dims: [500], dataType: DataType.FLOAT },
  { name: 'fc2.weight', dims: [10, 500], dataType: DataType.FLOAT },
  { name: 'fc2.bias', dims: [10], dataType: DataType.FLOAT },
];

test('validate › mnist › matches the model interface from the artifacts README', async (t) => {
  const s = await readCheckpoint(artifact('mnist-mlp-web'));
  t.notThrows(() => validateAgainst(s, MNIST));
  t.deepEqual(checkpointMismatches(s, MNIST), []);
});

test('validate › mismatches › every missing, extra, wrong-shape and wrong-dtype tensor in one error', async (t) => {
  const s = await readCheckpoint(artifact('mnist-mlp-web'));
  const expected = [
    { name: 'fc1.weight', dims: [784, 500], dataType: DataType.FLOAT }, // transposed
    { name: 'fc1.bias', dims: [500], dataType: DataType.FLOAT16 }, // wrong dtype
    { name: 'fc2.weight', dims: [10, 500], dataType: DataType.DOUBLE }, // wrong dtype
    { name: 'fc3.weight', dims: [2, 10], dataType: DataType.FLOAT }, // missing
    { name: 'fc3.bias', dims: [2], dataType: DataType.FLOAT }, // missing
    // fc2.bias not expected: extra
  ];
  const e = await throwsCode(t, () => validateAgainst(s, expected, 'mnist/checkpoint'), 'SHAPE_MISMATCH');
  t.is(e.where, 'mnist/checkpoint');
  t.regex(e.what, /2 missing, 1 extra, 1 shape, 2 dtype/);
  for (const line of [
    'fc1.weight: shape [784,500] in the model, [500,784] in the checkpoint',
    'fc1.bias: type FLOAT16 in the model, FLOAT in the checkpoint',
    'fc2.weight: type DOUBLE in the model, FLOAT in the checkpoint',
    'fc3.weight: missing from the checkpoint (model expects FLOAT[2,10])',
    'fc3.bias: missing from the checkpoint (model expects FLOAT[2])',
    'fc2.bias: in the checkpoint (FLOAT[10]) but not in the model',
  ]) {
    t.true(e.what.includes(line), line);
  }
  t.is(checkpointMismatches(s, expected).length, 6);
});

test('validate › optimizer › momentum shape and unknown parameter are reported', async (t) => {
  const s = sampleState();
  const expected = [...s.trainable, ...s.frozen].map((x) => ({ name: x.name, dims: x.dims, dataType: x.dataType }));
  t.notThrows(() => validateAgainst(s, expected));
  s.optimizer!.groups[0]!.params[0]!.momentums[1] = f32('momentum1', [3, 4], 1);
  s.optimizer!.groups[0]!.params.push({ param: 'ghost', momentums: [f32('momentum0', [1], 2)] });
  const e = await throwsCode(t, () => validateAgainst(s, expected), 'SHAPE_MISMATCH');
  t.regex(e.what, /fc1\.weight: optimizer state "momentum1" is FLOAT\[3,4\], the parameter is FLOAT\[4,3\]/);
  t.regex(e.what, /ghost: optimizer state "momentum0" \(group "group0"\) for a parameter the checkpoint does not have/);
});
