import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeSafetensors } from '../../../src/checkpoint/safetensors.js';
import { DataType } from '../../../src/checkpoint/dtype.js';
import { OnnxTrainError } from '../../../src/errors.js';
import { encodeNpy } from '../../../src/runtime/data/npy.js';
import {
  BatchSampler, TensorDataset, batchFeeds, datasetFromArrays, loadDataset, readDataFile, sequentialBatches, type InputSpec,
} from '../../../src/runtime/data/tabular.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tabular-test-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: Uint8Array | string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};

const MNIST_LIKE: InputSpec[] = [
  { name: 'input', dtype: 'float32', shape: ['batch_size', 4] },
  { name: 'labels', dtype: 'int64', shape: ['batch_size'] },
];
const vals = (t: { data: ArrayLike<number | bigint> }) => Array.from(t.data as ArrayLike<number | bigint>, Number);

test('loadDataset › .npy data + labels › fill the inputs in order, labels converted to int64', (t) => {
  const x = file('x.npy', encodeNpy({ type: 'float64', dims: [3, 2, 2], data: Float64Array.from({ length: 12 }, (_, i) => i / 4) }));
  const y = file('y.npy', encodeNpy({ type: 'int32', dims: [3], data: Int32Array.of(2, 0, 1) }));
  const ds = loadDataset([x, y], MNIST_LIKE);
  t.is(ds.count, 3);
  const input = ds.tensors.get('input')!;
  t.deepEqual([input.type, input.dims], ['float32', [3, 4]], 'float64 → float32, [3,2,2] reshaped to [3,4]');
  t.deepEqual(vals(input).slice(0, 5), [0, 0.25, 0.5, 0.75, 1]);
  const labels = ds.tensors.get('labels')!;
  t.deepEqual([labels.type, vals(labels)], ['int64', [2, 0, 1]]);
  t.true(labels.data instanceof BigInt64Array);
});

test('loadDataset › name=file.npy › goes to the named input whatever the order', (t) => {
  const x = file('x2.npy', encodeNpy({ type: 'float32', dims: [2, 4], data: new Float32Array(8).fill(1) }));
  const y = file('y2.npy', encodeNpy({ type: 'int64', dims: [2], data: BigInt64Array.of(1n, 3n) }));
  const ds = loadDataset([`labels=${y}`, x], MNIST_LIKE);
  t.deepEqual(vals(ds.tensors.get('labels')!), [1, 3]);
  t.deepEqual(vals(ds.tensors.get('input')!), new Array(8).fill(1));
});

test('loadDataset › .safetensors named after the inputs › loaded by name', (t) => {
  const f32 = new Float32Array(8).map((_, i) => i);
  const lab = BigInt64Array.of(4n, 5n);
  const st = encodeSafetensors({
    format: 'safetensors',
    trainable: [
      { name: 'labels', dataType: DataType.INT64, dims: [2], data: new Uint8Array(lab.buffer) },
      { name: 'input', dataType: DataType.FLOAT, dims: [2, 4], data: new Uint8Array(f32.buffer) },
    ],
    frozen: [],
    properties: {},
  });
  const ds = loadDataset([file('d.safetensors', st)], MNIST_LIKE);
  t.deepEqual(vals(ds.tensors.get('input')!), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.deepEqual(vals(ds.tensors.get('labels')!), [4, 5]);
});

test('loadDataset › JSON object, records and bare arrays › same dataset', (t) => {
  const input = [[1, 2, 3, 4], [5, 6, 7, 8]];
  const labels = [1, 0];
  const a = loadDataset([file('obj.json', JSON.stringify({ input, labels }))], MNIST_LIKE);
  const b = loadDataset([file('rec.json', JSON.stringify(input.map((x, i) => ({ input: x, labels: labels[i] }))))], MNIST_LIKE);
  const c = loadDataset([file('bare-x.json', JSON.stringify(input)), file('bare-y.json', JSON.stringify(labels))], MNIST_LIKE);
  for (const ds of [a, b, c]) {
    t.deepEqual(vals(ds.tensors.get('input')!), [1, 2, 3, 4, 5, 6, 7, 8]);
    t.deepEqual(vals(ds.tensors.get('labels')!), [1, 0]);
    t.is(ds.tensors.get('labels')!.type, 'int64');
  }
});

test('loadDataset › mistakes › OnnxTrainError naming the input and the fix', (t) => {
  const x = file('x3.npy', encodeNpy({ type: 'float32', dims: [3, 4], data: new Float32Array(12) }));
  const x5 = file('x5.npy', encodeNpy({ type: 'float32', dims: [3, 5], data: new Float32Array(15) }));
  const y2 = file('y3.npy', encodeNpy({ type: 'int64', dims: [2], data: new BigInt64Array(2) }));
  const yf = file('yf.json', JSON.stringify([0.5, 1, 2]));
  const cases: [string, () => unknown, RegExp][] = [
    ['labels missing', () => loadDataset([x], MNIST_LIKE), /no data for input\(s\) "labels".*--labels/s],
    ['sample counts differ', () => loadDataset([x, y2], MNIST_LIKE), /different numbers of samples: input 3, labels 2/],
    ['per-sample shape', () => loadDataset([x5, file('y5.json', '[0,1,2]')], MNIST_LIKE), /per-sample shape \[5\].*expects \[4\]/],
    ['non-integral labels', () => loadDataset([x, yf], MNIST_LIKE), /non-integral value 0\.5/],
    ['unknown name', () => loadDataset([file('bad.json', JSON.stringify({ image: [[1, 2, 3, 4]], labels: [1] }))], MNIST_LIKE), /"image" is not an input.*"input" \[batch_size,4\] float32/s],
    ['too many files', () => loadDataset([x, y2, x], MNIST_LIKE), /3 unnamed array\(s\).*only 2 input/],
    ['ragged JSON', () => readDataFile(file('ragged.json', '[[1,2],[3]]')), /not rectangular/],
    ['strings in JSON', () => readDataFile(file('str.json', '[1,"a"]')), /"a".*is not a number/],
    ['unknown extension', () => readDataFile(file('x.csv', '1,2')), /unsupported data file type "\.csv"/],
    ['missing file', () => readDataFile(path.join(dir, 'nope.npy')), /not found/],
    ['bad npy', () => readDataFile(file('bad.npy', 'garbage')), /not an \.npy file/],
  ];
  for (const [name, fn, msg] of cases) {
    const e = t.throws(fn, { instanceOf: OnnxTrainError }, name);
    t.regex(e?.message ?? '', msg, name);
  }
});

test('BatchSampler › seeded epochs › every sample once per epoch, same order for the same seed, new order per epoch', (t) => {
  const s = new BatchSampler(10, 3, { seed: 7 });
  t.is(s.batchesPerEpoch, 3);
  const epoch = (e: number) => [0, 1, 2].flatMap((j) => Array.from(s.indices(e * 3 + j)));
  const e0 = epoch(0);
  t.is(new Set(e0).size, 9, 'drop_last: 9 distinct of 10');
  const again = new BatchSampler(10, 3, { seed: 7 });
  t.deepEqual([0, 1, 2].flatMap((j) => Array.from(again.indices(j))), e0, 'reproducible');
  t.notDeepEqual(epoch(1), e0, 'reshuffled each epoch');
  t.notDeepEqual([0, 1, 2].flatMap((j) => Array.from(new BatchSampler(10, 3, { seed: 8 }).indices(j))), e0, 'seed matters');
  // Random access: batch 5 alone equals batch 5 after reading 0..4 (resume sees the same batches).
  const fresh = new BatchSampler(10, 3, { seed: 7 });
  t.deepEqual(Array.from(fresh.indices(5)), Array.from(s.indices(5)));
  const keep = new BatchSampler(10, 3, { shuffle: false, dropLast: false });
  t.is(keep.batchesPerEpoch, 4);
  t.deepEqual(Array.from(keep.indices(3)), [9]);
  t.throws(() => new BatchSampler(2, 3), { message: /batch size 3 is larger than the 2 samples/ });
});

test('TensorDataset › rows, batchFeeds, sequentialBatches › gathers the right rows', (t) => {
  const ds = new TensorDataset({
    x: { type: 'float32', dims: [5, 2], data: Float32Array.from({ length: 10 }, (_, i) => i) },
    y: { type: 'int64', dims: [5], data: BigInt64Array.of(0n, 1n, 2n, 3n, 4n) },
  });
  const r = ds.rows([4, 0]);
  t.deepEqual([r.x.dims, vals(r.x), vals(r.y)], [[2, 2], [8, 9, 0, 1], [4, 0]]);
  const sampler = new BatchSampler(5, 2, { shuffle: false });
  t.deepEqual(vals(batchFeeds(ds, sampler, 1).y), [2, 3]);
  t.deepEqual(vals(batchFeeds(ds, sampler, 2).y), [0, 1], 'wraps into epoch 1');
  t.deepEqual([...sequentialBatches(ds, 2)].map((b) => vals(b.y)), [[0, 1], [2, 3], [4]]);
  t.throws(() => datasetFromArrays([], MNIST_LIKE), { message: /no data for input/ });
});
