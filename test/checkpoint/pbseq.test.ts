import test from 'ava';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { decodePbseq, decodeTensorProto, encodePbseq, encodeTensorProto } from '../../src/checkpoint/pbseq.js';
import { decodeLegacyDir, encodeLegacyDir } from '../../src/checkpoint/legacy-dir.js';
import { readCheckpoint, writeCheckpoint } from '../../src/checkpoint/io.js';
import { DataType } from '../../src/checkpoint/dtype.js';
import type { CheckpointTensor } from '../../src/checkpoint/types.js';
import { FIXTURES, content, f32, floats, sampleState, tempDir, throwsCode } from './helpers.js';

/**
 * An independent TensorProto codec: protobufjs driven by the field declarations of onnx.proto (proto2,
 * only the fields a checkpoint uses). `Expanded` re-declares float_data/int64_data unpacked to exercise
 * the reader's non-packed path.
 */
const root = protobuf.parse(`
syntax = "proto2";
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  optional string doc_string = 12;
  optional int32 data_location = 14;
}
message Expanded {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = false];
  repeated int64 int64_data = 7 [packed = false];
  optional string name = 8;
}
`, { keepCase: true }).root;
const TensorProto = root.lookupType('TensorProto');
const Expanded = root.lookupType('Expanded');

const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b); // protobufjs hands out Buffers in Node
const pb = (fields: Record<string, unknown>, type = TensorProto): Uint8Array => plain(type.encode(type.fromObject(fields)).finish());
/** A .pbseq file built with protobufjs' own varint writer. */
function pbSeq(messages: Uint8Array[]): Uint8Array {
  const w = protobuf.Writer.create().uint32(messages.length);
  for (const m of messages) w.bytes(m);
  return plain(w.finish());
}
const le = (ctor: { new (a: ArrayLike<number>): ArrayBufferView }, values: number[]): Uint8Array => {
  const v = new ctor(values);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength).slice();
};
const i64 = (values: bigint[]): Uint8Array => {
  const v = BigInt64Array.from(values);
  return new Uint8Array(v.buffer);
};

test('pbseq › TensorProto › decodes every typed field written by protobufjs', (t) => {
  const cases: [string, Record<string, unknown>, Partial<CheckpointTensor>, typeof TensorProto?][] = [
    ['raw FLOAT', { name: 'w', dims: [2, 2], data_type: 1, raw_data: le(Float32Array, [1, 2, 3, 4]) }, { dims: [2, 2], data: le(Float32Array, [1, 2, 3, 4]) }],
    ['packed float_data', { name: 'f', dims: [3], data_type: 1, float_data: [0.5, -1, 3] }, { data: le(Float32Array, [0.5, -1, 3]) }],
    ['unpacked float_data', { name: 'f', dims: [3], data_type: 1, float_data: [0.5, -1, 3] }, { data: le(Float32Array, [0.5, -1, 3]) }, Expanded],
    ['int64_data with negatives', { name: 'i', dims: [3], data_type: 7, int64_data: ['-1', '0', '9007199254740993'] }, { data: i64([-1n, 0n, 9007199254740993n]) }],
    ['unpacked int64_data', { name: 'i', dims: [2], data_type: 7, int64_data: ['-7', '5'] }, { data: i64([-7n, 5n]) }, Expanded],
    ['INT32 int32_data', { name: 'n', dims: [2], data_type: 6, int32_data: [-2, 2147483647] }, { data: le(Int32Array, [-2, 2147483647]) }],
    ['INT8 int32_data', { name: 'n', dims: [2], data_type: 3, int32_data: [-128, 127] }, { data: Uint8Array.of(0x80, 0x7f) }],
    ['BOOL int32_data', { name: 'b', dims: [3], data_type: 9, int32_data: [1, 0, 1] }, { data: Uint8Array.of(1, 0, 1) }],
    ['FLOAT16 bit patterns in int32_data', { name: 'h', dims: [2], data_type: 10, int32_data: [0x3c00, 0xc000] }, { data: Uint8Array.of(0x00, 0x3c, 0x00, 0xc0) }],
    ['DOUBLE double_data', { name: 'd', dims: [2], data_type: 11, double_data: [Math.PI, -0] }, { data: le(Float64Array, [Math.PI, -0]) }],
    ['UINT64 uint64_data', { name: 'u', dims: [1], data_type: 13, uint64_data: ['18446744073709551615'] }, { data: i64([-1n]) }],
    ['STRING string_data', { name: 's', dims: [2], data_type: 8, string_data: [Buffer.from('hé'), Buffer.from('')] }, { data: new Uint8Array(0), strings: ['hé', ''] }],
    ['scalar with doc_string (skipped)', { name: 'x', data_type: 1, raw_data: le(Float32Array, [7]), doc_string: 'ignored' }, { dims: [], data: le(Float32Array, [7]) }],
  ];
  for (const [what, fields, expected, type] of cases) {
    const got = decodeTensorProto(pb(fields, type));
    t.is(got.name, fields.name as string, what);
    t.is(got.dataType, fields.data_type as number, what);
    if (expected.dims) t.deepEqual(got.dims, expected.dims, what);
    t.deepEqual(got.data, expected.data, what);
    t.deepEqual(got.strings, expected.strings, what);
  }
});

test('pbseq › TensorProto › packed float_data written by hand decodes', (t) => {
  // dims=2 (08 02), data_type=FLOAT (10 01), float_data packed: tag 0x22, 8 bytes = 1.0f, 2.0f; name="p".
  const bytes = Uint8Array.of(0x08, 0x02, 0x10, 0x01, 0x22, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0x42, 0x01, 0x70);
  const got = decodeTensorProto(bytes);
  t.deepEqual([got.name, got.dims, Array.from(floats(got))], ['p', [2], [1, 2]]);
});

test('pbseq › TensorProto › protobufjs decodes what the encoder writes', (t) => {
  const w = f32('layer.weight', [2, 3], 1);
  const m = TensorProto.toObject(TensorProto.decode(encodeTensorProto(w)), { longs: Number, bytes: Array });
  t.deepEqual(m, { dims: [2, 3], data_type: 1, name: 'layer.weight', raw_data: Array.from(w.data) });

  const lr = { name: 'learning_rate_', dataType: DataType.FLOAT, dims: [], data: le(Float32Array, [0.25]) };
  t.deepEqual(TensorProto.toObject(TensorProto.decode(encodeTensorProto(lr, 'typed'))), { data_type: 1, float_data: [0.25], name: 'learning_rate_' });
  const step = { name: 'step_', dataType: DataType.INT64, dims: [], data: i64([-(1n << 40n)]) };
  t.deepEqual(TensorProto.toObject(TensorProto.decode(encodeTensorProto(step, 'typed')), { longs: String }), {
    data_type: 7,
    int64_data: [String(-(1n << 40n))],
    name: 'step_',
  });
  const s = { name: 's', dataType: DataType.STRING, dims: [1], data: new Uint8Array(0), strings: ['ok'] };
  t.deepEqual(TensorProto.toObject(TensorProto.decode(encodeTensorProto(s)), { longs: Number, bytes: String }), {
    dims: [1],
    data_type: 8,
    string_data: [Buffer.from('ok').toString('base64')],
    name: 's',
  });
});

test('pbseq › sequence › hand-written bytes decode', (t) => {
  // count=1, length=17: dims=2 (08 02), data_type=FLOAT (10 01), name="a" (42 01 61),
  // raw_data = 8 bytes (4a 08) holding 1.0f, 2.0f little-endian.
  const bytes = Uint8Array.of(0x01, 0x11, 0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 0x61, 0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40);
  const [a] = decodePbseq(bytes);
  t.deepEqual({ ...a, data: Array.from(floats(a!)) }, { name: 'a', dataType: 1, dims: [2], data: [1, 2] });
  t.deepEqual(encodePbseq([a!]), bytes);
});

test('pbseq › sequence › round trip through protobufjs framing', (t) => {
  const ts = [f32('a', [3], 1), f32('b', [2, 2], 2)];
  const theirs = pbSeq(ts.map((x) => encodeTensorProto(x)));
  t.deepEqual(encodePbseq(ts), theirs);
  t.deepEqual(decodePbseq(theirs), ts);
  t.deepEqual(decodePbseq(encodePbseq([])), []);
});

test('pbseq › sequence › corrupt input is BAD_CHECKPOINT', async (t) => {
  const good = encodePbseq([f32('a', [3], 1), f32('b', [2], 2)]);
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /empty/],
    ['truncated message', good.subarray(0, good.length - 3), /truncated/],
    ['count larger than the file', Uint8Array.of(0xff, 0xff, 0x03), /claims 65535 messages/],
    ['trailing bytes', Uint8Array.of(...good, 0x00), /unexpected bytes/],
    ['length ≠ dims', pbSeq([pb({ name: 'x', dims: [3], data_type: 1, raw_data: new Uint8Array(8) })]), /needs 12 bytes of data, found 8/],
    ['too few typed values', pbSeq([pb({ name: 'x', dims: [3], data_type: 1, float_data: [1] })]), /1 values in float_data, expected 3/],
    ['no name', pbSeq([pb({ dims: [1], data_type: 1, raw_data: new Uint8Array(4) })]), /has no name/],
    ['external data', pbSeq([pb({ name: 'x', dims: [1], data_type: 1, data_location: 1 })]), /externally/],
    ['negative dim', pbSeq([pb({ name: 'x', dims: [-2], data_type: 1 })]), /invalid dim -2/],
    ['wrong wire type for name', pbSeq([Uint8Array.of(0x40, 0x01)]), /wrong wire type/],
    ['overlong varint', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /longer than 10 bytes/],
  ];
  for (const [what, bytes, re] of cases) {
    const e = await throwsCode(t, () => decodePbseq(bytes, 'f.pbseq'), 'BAD_CHECKPOINT');
    t.regex(e.what, re, what);
    t.is(e.where, 'f.pbseq');
  }
});

test('pbseq › legacy folder › round trip of a full state (optimizer, properties)', async (t) => {
  const dir = await tempDir(t);
  const s = sampleState();
  await writeCheckpoint(join(dir, 'ckpt'), s, { format: 'pbseq' });
  t.deepEqual((await readdir(join(dir, 'ckpt'))).sort(), [
    'custom_properties.pbseq',
    'optim_group0_momentum0_tensors.pbseq',
    'optim_group0_momentum1_tensors.pbseq',
    'optim_group0_properties.pbseq',
    'paramfrozen_tensors.pbseq',
    'paramtrain_tensors.pbseq',
  ]);
  const back = await readCheckpoint(join(dir, 'ckpt'));
  t.is(back.format, 'pbseq');
  t.is(back.version, undefined);
  t.deepEqual(content(back), content(s));
  // The folder holding "checkpoint/" (an artifacts folder) and a file of the folder resolve to it too.
  await mkdir(join(dir, 'artifacts'));
  await writeCheckpoint(join(dir, 'artifacts', 'checkpoint'), s, { format: 'pbseq' });
  t.deepEqual(content(await readCheckpoint(join(dir, 'artifacts'))), content(s));
  t.deepEqual(content(await readCheckpoint(join(dir, 'ckpt', 'paramtrain_tensors.pbseq'))), content(s));
});

test('pbseq › legacy folder › names that break the file naming are refused', async (t) => {
  const s = sampleState();
  s.optimizer!.groups[0]!.name = 'group_0';
  await throwsCode(t, () => encodeLegacyDir(s), 'BAD_ARGUMENT');
  const k = sampleState();
  k.optimizer!.groups[0]!.params[0]!.momentums[0]!.name = '../evil';
  await throwsCode(t, () => encodeLegacyDir(k), 'BAD_ARGUMENT');
});

test('pbseq › legacy folder › older single param_tensors.pbseq layout reads as trainable', (t) => {
  const ts = [f32('a', [2], 1)];
  const s = decodeLegacyDir(new Map([['param_tensors.pbseq', encodePbseq(ts)]]), 'dir');
  t.deepEqual(s.trainable, ts);
  t.deepEqual(s.frozen, []);
});

/**
 * The committed fixture `fixtures/checkpoint/legacy-pbseq/checkpoint/` is encoded by protobufjs (not by
 * this module's encoder), so reading it checks the decoder against an independent writer. Regenerate with
 * `UPDATE_FIXTURES=1 npx ava test/checkpoint/pbseq.test.ts` and review the diff.
 */
const LEGACY_FIXTURE = join(FIXTURES, 'legacy-pbseq', 'checkpoint');
function legacyFixtureFiles(): Map<string, Uint8Array> {
  return new Map([
    ['paramtrain_tensors.pbseq', pbSeq([
      pb({ dims: [2, 2], data_type: 1, name: 'fc.weight', raw_data: le(Float32Array, [1, -2, 3.5, 0.25]) }),
      pb({ dims: [2], data_type: 1, name: 'fc.bias', float_data: [0.5, -0.5] }),
    ])],
    ['paramfrozen_tensors.pbseq', pbSeq([pb({ dims: [3], data_type: 7, name: 'positions', int64_data: [-1, 0, 7] })])],
    ['optim_group0_momentum0_tensors.pbseq', pbSeq([
      pb({ dims: [2], data_type: 1, name: 'fc.bias', raw_data: le(Float32Array, [0.01, 0.02]) }),
      pb({ dims: [2, 2], data_type: 1, name: 'fc.weight', raw_data: le(Float32Array, [0.1, 0.2, 0.3, 0.4]) }),
    ])],
    ['optim_group0_momentum1_tensors.pbseq', pbSeq([
      pb({ dims: [2], data_type: 1, name: 'fc.bias', raw_data: le(Float32Array, [1e-4, 4e-4]) }),
      pb({ dims: [2, 2], data_type: 1, name: 'fc.weight', raw_data: le(Float32Array, [0.01, 0.04, 0.09, 0.16]) }),
    ])],
    ['optim_group0_properties.pbseq', pbSeq([
      pb({ data_type: 1, name: 'learning_rate_', float_data: [0.001] }),
      pb({ data_type: 7, name: 'step_', int64_data: [42] }),
    ])],
    ['custom_properties.pbseq', pbSeq([
      pb({ data_type: 7, name: 'epoch', int64_data: [3] }),
      pb({ data_type: 1, name: 'best_loss', float_data: [0.25] }),
      pb({ data_type: 8, name: 'tag', string_data: [Buffer.from('demo')] }),
    ])],
  ]);
}

test('pbseq › fixture › protobufjs-written legacy folder decodes to the expected state', async (t) => {
  const files = legacyFixtureFiles();
  if (process.env.UPDATE_FIXTURES) {
    await mkdir(LEGACY_FIXTURE, { recursive: true });
    for (const [name, bytes] of files) await writeFile(join(LEGACY_FIXTURE, name), bytes);
  }
  for (const [name, bytes] of files) t.deepEqual(new Uint8Array(await readFile(join(LEGACY_FIXTURE, name))), bytes, `${name} is current`);

  const s = await readCheckpoint(join(FIXTURES, 'legacy-pbseq'));
  t.is(s.format, 'pbseq');
  t.deepEqual(s.trainable.map((x) => [x.name, x.dims, Array.from(floats(x))]), [
    ['fc.weight', [2, 2], [1, -2, 3.5, 0.25]],
    ['fc.bias', [2], [0.5, -0.5]],
  ]);
  t.deepEqual(s.frozen.map((x) => [x.name, x.dataType, Array.from(new BigInt64Array(x.data.slice().buffer))]), [['positions', 7, [-1n, 0n, 7n]]]);
  const g = s.optimizer!.groups;
  t.deepEqual(g.map((x) => [x.name, x.step, x.initialLearningRate]), [['group0', 42n, Math.fround(0.001)]]);
  t.deepEqual(
    g[0]!.params.map((p) => [p.param, p.momentums.map((m) => [m.name, Array.from(floats(m))])]),
    [
      ['fc.bias', [['momentum0', [0.01, 0.02].map(Math.fround)], ['momentum1', [1e-4, 4e-4].map(Math.fround)]]],
      ['fc.weight', [['momentum0', [0.1, 0.2, 0.3, 0.4].map(Math.fround)], ['momentum1', [0.01, 0.04, 0.09, 0.16].map(Math.fround)]]],
    ],
  );
  t.deepEqual(s.properties, { epoch: 3n, best_loss: 0.25, tag: 'demo' });
});
