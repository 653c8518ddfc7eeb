import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeModel, encodeModel, readModel, writeModel } from '../../src/onnx/io.js';
import { onnxType } from '../../src/onnx/schema.js';
import { Model } from '../../src/ir/graph.js';
import { allModelFiles } from '../helpers/paths.js';
import type { ModelProto } from '../../src/onnx/types.js';

const T = () => onnxType('ModelProto');
const canon = (m: ModelProto, defaults = false) =>
  JSON.stringify(T().toObject(T().fromObject(m), { longs: String, bytes: String, defaults }));

const files = allModelFiles();

test('roundtrip › model files are present › at least the 12 artifact models', (t) => {
  t.true(files.length >= 12, `found ${files.length}`);
});

for (const f of files) {
  const label = path.relative(path.resolve('..'), f);
  test(`roundtrip › ${label} › decode-encode-decode is identical`, (t) => {
    const bytes = fs.readFileSync(f);
    const m1 = decodeModel(bytes, f);
    const m2 = decodeModel(encodeModel(m1), f);
    t.is(canon(m2), canon(m1));
  });
  test(`roundtrip › ${label} › through the IR keeps every field`, (t) => {
    const m1 = decodeModel(fs.readFileSync(f), f);
    const m2 = decodeModel(encodeModel(Model.fromProto(m1).toProto()));
    t.is(canon(m2, true), canon(m1, true));
  });
}

test('roundtrip › newer fields › node/graph/function metadata, float8/int4 tensors, device config survive', (t) => {
  const m: ModelProto = {
    ir_version: 11,
    opset_import: [{ domain: '', version: 21 }],
    graph: {
      name: 'g',
      node: [{ op_type: 'Identity', input: ['x'], output: ['y'], name: 'n', metadata_props: [{ key: 'k', value: 'v' }] }],
      input: [{ name: 'x', type: { tensor_type: { elem_type: 17, shape: { dim: [{ dim_param: 'N' }] } } }, metadata_props: [{ key: 'a', value: 'b' }] }],
      output: [{ name: 'y', type: { tensor_type: { elem_type: 17 } } }],
      initializer: [{ name: 'w4', data_type: 22, dims: [3], raw_data: new Uint8Array([0x21, 0x03]) }],
      metadata_props: [{ key: 'graph', value: 'meta' }],
    },
    functions: [{ name: 'F', domain: 'custom', overload: 'o1', input: ['a'], output: ['b'], node: [{ op_type: 'Neg', input: ['a'], output: ['b'] }], value_info: [{ name: 'b' }], metadata_props: [{ key: 'f', value: 'm' }] }],
    configuration: [{ name: 'mesh', num_devices: 2, device: ['gpu0', 'gpu1'] }],
    training_info: [{ algorithm: { name: 'alg' }, update_binding: [{ key: 'w', value: 'w_new' }] }],
  };
  const bytes = encodeModel(m);
  const back = decodeModel(bytes);
  t.is(canon(back), canon(m));
  t.is(back.functions?.[0].overload, 'o1');
  t.is(back.graph?.node?.[0].metadata_props?.[0].value, 'v');
});

test('roundtrip › unknown field › refused with a clear error, never dropped', (t) => {
  const good = encodeModel({ ir_version: 8, graph: { name: 'g' } });
  // Append field 99 (varint) to the model: not in the schema.
  const withUnknown = new Uint8Array([...good, 0x98, 0x06, 1]); // tag: field 99, varint
  const err = t.throws(() => decodeModel(withUnknown, 'x.onnx'));
  t.regex(err!.message, /field number 99 is not in the ONNX schema/);
  t.regex(err!.message, /x\.onnx/);
});

test('external data › write and read back › tensors above the threshold go to the side file', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-ext-'));
  const f = files.find((x) => x.includes('mnist-mlp-web') && x.endsWith('eval_model.onnx'));
  if (!f) return t.pass();
  const m = readModel(f);
  // eval model has no initializers (params are inputs); attach one big initializer.
  const big = new Float32Array(5000).map((_, i) => i * 0.5);
  m.graph!.initializer = [{ name: 'big', data_type: 1, dims: [5000], raw_data: new Uint8Array(big.buffer) }];
  const out = path.join(dir, 'm.onnx');
  writeModel(out, m, { externalDataThreshold: 1024 });
  t.true(fs.existsSync(path.join(dir, 'm.onnx.data')));
  const onDisk = decodeModel(fs.readFileSync(out));
  t.is(onDisk.graph!.initializer![0].data_location, 1);
  const back = readModel(out);
  t.deepEqual(new Float32Array(back.graph!.initializer![0].raw_data!.slice().buffer), big);
  // The caller's model was not modified.
  t.truthy(m.graph!.initializer![0].raw_data);
});

test('external data › unsafe locations › absolute, .. and symlink escapes are refused', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-ext-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-outside-'));
  fs.writeFileSync(path.join(outside, 'secret.bin'), new Uint8Array(16));
  fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(dir, 'link.bin'));
  for (const loc of [path.join(outside, 'secret.bin'), '../' + path.basename(outside) + '/secret.bin', 'link.bin']) {
    const m: ModelProto = {
      ir_version: 8, opset_import: [{ domain: '', version: 17 }],
      graph: { name: 'g', initializer: [{ name: 'w', data_type: 1, dims: [4], data_location: 1, external_data: [{ key: 'location', value: loc }] }] },
    };
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(m));
    const err = t.throws(() => readModel(path.join(dir, 'm.onnx')));
    t.regex(err!.message, /escapes|absolute|outside/, loc);
  }
});

test('external data › truncated side file › clear error naming the tensor', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-ext-'));
  fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(8));
  const m: ModelProto = {
    ir_version: 8, graph: { name: 'g', initializer: [{ name: 'w', data_type: 1, dims: [4], data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }, { key: 'length', value: '16' }] }] },
  };
  fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(m));
  const err = t.throws(() => readModel(path.join(dir, 'm.onnx')));
  t.regex(err!.message, /tensor "w"/);
});

test('tensor › unaligned raw_data inside a pooled Buffer › values are read from the right bytes', async (t) => {
  const { tensorToArray } = await import('../../src/onnx/tensor.js');
  const big = Buffer.alloc(64, 0xee);
  const payload = new BigInt64Array([1n, -2n]);
  big.set(new Uint8Array(payload.buffer), 3); // offset 3: unaligned for int64
  const raw = big.subarray(3, 19);
  const arr = tensorToArray({ name: 'x', data_type: 7, dims: [2], raw_data: raw });
  t.deepEqual(Array.from(arr as BigInt64Array), [1n, -2n]);
});
