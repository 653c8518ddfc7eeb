import test from 'ava';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { decodeSafetensors, encodeSafetensors, isSafetensors, momentumTensorName } from '../../src/checkpoint/safetensors.js';
import { readCheckpoint, writeCheckpoint } from '../../src/checkpoint/io.js';
import { DataType } from '../../src/checkpoint/dtype.js';
import type { CheckpointState } from '../../src/checkpoint/types.js';
import { artifact, content, digest, f32, floats, sampleState, tempDir, throwsCode } from './helpers.js';

/** A safetensors file assembled by hand: header text as given, then the data bytes. */
function file(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const f32bytes = (...v: number[]) => new Uint8Array(Float32Array.from(v).buffer);

function header(bytes: Uint8Array): Record<string, any> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

test('safetensors › round trip › full state incl. optimizer, step, lr and properties', (t) => {
  const s: CheckpointState = { ...sampleState(), format: 'safetensors', version: 1 };
  s.optimizer!.groups[0]!.initialLearningRate = 0.1; // float64 survives exactly here (decimal string)
  s.properties.ratio = 1 / 3;
  t.deepEqual(decodeSafetensors(encodeSafetensors(s)), s);
});

test('safetensors › round trip › real mnist checkpoint', async (t) => {
  const s = await readCheckpoint(artifact('mnist-mlp-web'));
  const back = decodeSafetensors(encodeSafetensors(s));
  t.deepEqual(digest(content(back) as CheckpointState), digest(content(s) as CheckpointState));
});

test('safetensors › naming › momentums are <param>.exp_avg / .exp_avg_sq, metadata says so', (t) => {
  const s = sampleState();
  const bytes = encodeSafetensors(s);
  const h = header(bytes);
  t.deepEqual(Object.keys(h).filter((k) => k.startsWith('fc1.weight')), ['fc1.weight', 'fc1.weight.exp_avg', 'fc1.weight.exp_avg_sq']);
  t.deepEqual(h['fc1.weight.exp_avg'].shape, [4, 3]);
  t.is(h['fc1.weight.exp_avg'].dtype, 'F32');
  t.is(h.positions.dtype, 'I64');
  t.is(h.half.dtype, 'F16');
  t.is(h.mask.dtype, 'BOOL');
  const meta = h.__metadata__;
  t.is(meta['onnx_train.version'], '1');
  t.deepEqual(JSON.parse(meta['onnx_train.frozen']), ['embed', 'positions', 'mask', 'half']);
  const opt = JSON.parse(meta['onnx_train.optimizer']);
  t.is(opt[0].step, String((1n << 40n) + 3n));
  t.deepEqual(opt[0].params[0], { param: 'fc1.weight', momentums: { momentum0: 'fc1.weight.exp_avg', momentum1: 'fc1.weight.exp_avg_sq' } });
  t.is(momentumTensorName('w', 'momentum0', 'group1', 1), 'w.group1.exp_avg');
  // Data section starts 8-byte aligned.
  t.is((bytes.length - [...Object.values(h)].reduce((n: number, e: any) => Math.max(n, e.data_offsets?.[1] ?? 0), 0)) % 8, 0);
});

test('safetensors › foreign files › a plain torch-style file reads as all-trainable, metadata as string properties', (t) => {
  const bytes = file(
    '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
    f32bytes(1, 2, 3, 4),
  );
  t.true(isSafetensors(bytes));
  const s = decodeSafetensors(bytes);
  t.is(s.format, 'safetensors');
  t.is(s.version, undefined);
  // Tensors come out in data order.
  t.deepEqual(s.trainable.map((x) => [x.name, Array.from(floats(x))]), [['a', [1, 2]], ['b', [3, 4]]]);
  t.deepEqual(s.frozen, []);
  t.is(s.optimizer, undefined);
  t.deepEqual(s.properties, { format: 'pt' });
});

test('safetensors › validation › malformed files are BAD_CHECKPOINT with the reason', async (t) => {
  const d8 = f32bytes(1, 2);
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than the length prefix', Uint8Array.of(1, 2, 3), /too short/],
    ['header length past the end', (() => { const b = file('{}', d8); new DataView(b.buffer).setBigUint64(0, 1000n, true); return b; })(), /header length 1000 runs past the end/],
    ['header length 2^64-1', (() => { const b = file('{}'); new DataView(b.buffer).setBigUint64(0, (1n << 64n) - 1n, true); return b; })(), /runs past the end/],
    ['header not JSON', file('{"a":', d8), /not valid UTF-8 JSON/],
    ['header an array', file('[]'), /not a JSON object/],
    ['unknown dtype', file('{"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}}', d8), /dtype "Q7"/],
    ['bad shape', file('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', d8), /invalid shape/],
    ['offsets past the data', file('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', d8), /past the end of the data section/],
    ['begin after end', file('{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', d8), /begin after end/],
    ['size ≠ shape × dtype', file('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', d8), /12 bytes\) but data_offsets span 8/],
    ['overlapping tensors', file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', d8), /overlaps "a"/],
    ['hole between tensors', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', d8), /belong to no tensor/],
    ['data not fully covered', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', d8), /tensors cover 4/],
    ['metadata value not a string', file('{"__metadata__":{"n":1}}'), /is not a string/],
    ['metadata names a missing tensor', file('{"__metadata__":{"onnx_train.frozen":"[\\"zz\\"]"}}'), /"zz", which the file does not contain/],
    ['newer mapping version', file('{"__metadata__":{"onnx_train.version":"9"}}'), /version 9/],
  ];
  for (const [what, bytes, re] of cases) {
    const e = await throwsCode(t, () => decodeSafetensors(bytes, 'x.safetensors'), 'BAD_CHECKPOINT');
    t.regex(e.what, re, what);
    t.is(e.where, 'x.safetensors');
  }
});

test('safetensors › writer › refuses what safetensors cannot hold', async (t) => {
  const str = sampleState();
  str.frozen.push({ name: 'vocab', dataType: DataType.STRING, dims: [1], data: new Uint8Array(0), strings: ['x'] });
  await throwsCode(t, () => encodeSafetensors(str), 'BAD_ARGUMENT');
  const clash = sampleState();
  clash.frozen.push(f32('fc1.weight.exp_avg', [1], 1));
  const e = await throwsCode(t, () => encodeSafetensors(clash), 'BAD_ARGUMENT');
  t.regex(e.what, /already in use/);
  await throwsCode(t, () => encodeSafetensors({ ...sampleState(), nominal: true }), 'BAD_ARGUMENT');
  const int4 = sampleState();
  int4.frozen.push({ name: 'q', dataType: DataType.INT4, dims: [3], data: new Uint8Array(2) });
  await throwsCode(t, () => encodeSafetensors(int4), 'BAD_ARGUMENT');
});

test('safetensors › io › writeCheckpoint picks safetensors from the extension; readCheckpoint detects it', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'model.safetensors');
  await writeCheckpoint(path, sampleState());
  const bytes = new Uint8Array(await readFile(path));
  t.true(isSafetensors(bytes));
  t.deepEqual(content(await readCheckpoint(path)), content(sampleState()));
});

test('safetensors › names › "__proto__" and integer-like names are ordinary tensors', (t) => {
  const s: CheckpointState = {
    format: 'safetensors',
    version: 1,
    trainable: [f32('z', [1], 1), f32('__proto__', [1], 2), f32('0', [1], 3)],
    frozen: [],
    properties: {},
  };
  Object.defineProperty(s.properties, '__proto__', { value: 'p', enumerable: true, writable: true, configurable: true });
  const back = decodeSafetensors(encodeSafetensors(s));
  t.deepEqual(back.trainable.map((x) => x.name), ['z', '__proto__', '0']);
  t.deepEqual(Object.keys(back.properties), ['__proto__']);
});
