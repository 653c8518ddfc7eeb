import test from 'ava';
import { readFile, symlink, writeFile, copyFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Builder } from 'flatbuffers';
import { decodeOdtc, encodeOdtc, isOdtc } from '../../src/checkpoint/odtc.js';
import { FbsCheckpoint, FbsModuleState, FbsTensor, createOffsetVector } from '../../src/checkpoint/odtc-schema.js';
import { readCheckpoint, writeCheckpoint } from '../../src/checkpoint/io.js';
import { DataType } from '../../src/checkpoint/dtype.js';
import type { CheckpointState, CheckpointTensor } from '../../src/checkpoint/types.js';
import { artifact, digest, f32, floats, sampleState, tempDir, throwsCode } from './helpers.js';

/**
 * An independent, minimal ODTC walker (DataView + the schema's slot numbers, no flatbuffers package) used to
 * cross-check the decoder on the real files: tensor name, dims, type and the raw data's byte range.
 */
function walk(bytes: Uint8Array): { name: string; dims: number[]; dataType: number; start: number; length: number }[][] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const field = (table: number, slotIndex: number): number => {
    const vt = table - dv.getInt32(table, true);
    const vo = 4 + 2 * slotIndex;
    if (vo >= dv.getUint16(vt, true)) return 0;
    const o = dv.getUint16(vt + vo, true);
    return o === 0 ? 0 : table + o;
  };
  const deref = (p: number): number => p + dv.getUint32(p, true);
  const str = (p: number): string => {
    const s = deref(p);
    return new TextDecoder().decode(bytes.subarray(s + 4, s + 4 + dv.getUint32(s, true)));
  };
  const root = deref(0);
  const module = deref(field(root, 1));
  return [0, 1].map((list) => {
    const vec = deref(field(module, list));
    const out = [];
    for (let i = 0; i < dv.getUint32(vec, true); i++) {
      const t = deref(vec + 4 + 4 * i);
      const dimsVec = deref(field(t, 2));
      const dims = Array.from({ length: dv.getUint32(dimsVec, true) }, (_, k) => Number(dv.getBigInt64(dimsVec + 4 + 8 * k, true)));
      const raw = deref(field(t, 4));
      out.push({ name: str(field(t, 0)), dims, dataType: dv.getInt32(field(t, 3), true), start: raw + 4, length: dv.getUint32(raw, true) });
    }
    return out;
  });
}

const sig = (ts: CheckpointTensor[]) => ts.map((t) => [t.name, t.dims]);

test('odtc › reads mnist v1 › 4 trainable tensors in order', async (t) => {
  const s = await readCheckpoint(artifact('mnist-mlp-web'));
  t.is(s.format, 'odtc');
  t.is(s.version, 1);
  t.deepEqual(sig(s.trainable), [
    ['fc1.weight', [500, 784]],
    ['fc1.bias', [500]],
    ['fc2.weight', [10, 500]],
    ['fc2.bias', [10]],
  ]);
  t.deepEqual(s.frozen, []);
  t.is(s.optimizer, undefined);
  t.deepEqual(s.properties, {});
  t.true(s.trainable.every((x) => x.dataType === DataType.FLOAT));
});

test('odtc › reads mnist v1 › byte sizes match dims × 4', async (t) => {
  const s = await readCheckpoint(artifact('mnist-mlp-web'));
  for (const x of s.trainable) t.is(x.data.length, x.dims.reduce((a, b) => a * b, 1) * 4, x.name);
  t.is(s.trainable.reduce((n, x) => n + x.data.length / 4, 0), 397_510); // README: 397,510 parameters
});

test("odtc › reads mnist v1 › values are finite and inside PyTorch's nn.Linear init bound 1/sqrt(fan_in)", async (t) => {
  // Independent fact: the demo checkpoint is freshly initialised, weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
  // A byte-offset or endianness bug in the decoder cannot satisfy both "inside" and "reaches" the bound.
  const s = await readCheckpoint(artifact('mnist-mlp-web'));
  for (const [name, fanIn] of [['fc1.weight', 784], ['fc1.bias', 784], ['fc2.weight', 500], ['fc2.bias', 500]] as const) {
    const v = floats(s.trainable.find((x) => x.name === name)!);
    const bound = 1 / Math.sqrt(fanIn);
    const max = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    t.true(v.every(Number.isFinite), `${name} finite`);
    t.true(max <= bound * (1 + 1e-6), `${name} max |x| ${max} <= ${bound}`);
    if (v.length > 1000) t.true(max > bound * 0.999, `${name} reaches the bound (${max})`);
  }
  const bias = floats(s.trainable[1]!);
  t.true(bias.slice(0, 5).every((x) => x !== 0 && Math.abs(x) < 0.0358), 'first fc1.bias elements: non-zero, plausible magnitude');
});

test('odtc › reads mnist v1 › decoder agrees with an independent vtable walker', async (t) => {
  const bytes = new Uint8Array(await readFile(artifact('mnist-mlp-web')));
  const s = decodeOdtc(bytes);
  const [trainable] = walk(bytes);
  t.deepEqual(s.trainable.map((x) => [x.name, x.dims, x.dataType]), trainable!.map((x) => [x.name, x.dims, x.dataType]));
  s.trainable.forEach((x, i) => {
    const w = trainable![i]!;
    t.is(Buffer.compare(x.data, bytes.subarray(w.start, w.start + w.length)), 0, x.name);
  });
});

test('odtc › writer › output agrees with the independent vtable walker; raw data 16-byte aligned', async (t) => {
  const s = await readCheckpoint(artifact('seizureguard-cnn1d'));
  const bytes = encodeOdtc(s).checkpoint;
  const [wt, wf] = walk(bytes);
  t.deepEqual(sig(s.trainable), wt!.map((x) => [x.name, x.dims]));
  t.deepEqual(sig(s.frozen), wf!.map((x) => [x.name, x.dims]));
  [...wt!, ...wf!].forEach((w, i) => {
    const x = [...s.trainable, ...s.frozen][i]!;
    t.is(w.start % 16, 0, `${x.name} aligned`);
    t.is(Buffer.compare(x.data, bytes.subarray(w.start, w.start + w.length)), 0, x.name);
  });
});

test('odtc › reads seizureguard v2 › 4 trainable + 6 frozen with the model shapes', async (t) => {
  const path = artifact('seizureguard-cnn1d');
  const s = await readCheckpoint(path);
  t.is(s.version, 2);
  t.deepEqual(sig(s.trainable), [
    ['classifier.0.weight', [100, 128, 16]],
    ['classifier.0.bias', [100]],
    ['classifier.1.weight', [2, 100, 1]],
    ['classifier.1.bias', [2]],
  ]);
  t.deepEqual(s.frozen.map((x) => x.name), ['onnx::Conv_57', 'onnx::Conv_58', 'onnx::Conv_60', 'onnx::Conv_61', 'onnx::Conv_63', 'onnx::Conv_64']);
  const count = (ts: CheckpointTensor[]) => ts.reduce((n, x) => n + x.data.length / 4, 0);
  t.is(count(s.trainable), 205_102); // README
  t.is(count(s.frozen), 105_600);
  const [wt, wf] = walk(new Uint8Array(await readFile(path)));
  t.deepEqual(sig(s.frozen), wf!.map((x) => [x.name, x.dims]));
  t.deepEqual(sig(s.trainable), wt!.map((x) => [x.name, x.dims]));
  for (const x of [...s.trainable, ...s.frozen]) t.true(floats(x).every(Number.isFinite), x.name);
});

test('odtc › reads lora v2 › shapes, and LoRA B is zero-initialised', async (t) => {
  const s = await readCheckpoint(artifact('lora-linear-mse'));
  t.is(s.version, 2);
  t.deepEqual(sig(s.trainable), [
    ['linear.weight', [2, 10]],
    ['linear.bias', [2]],
    ['lora.A', [10, 2]],
    ['lora.B', [2, 2]],
  ]);
  t.is(s.trainable.reduce((n, x) => n + x.data.length / 4, 0), 46);
  t.deepEqual(Array.from(floats(s.trainable[3]!)), [0, 0, 0, 0]); // LoRA convention: B = 0 so training starts at the base model
  t.true(floats(s.trainable[2]!).some((x) => x !== 0));
});

for (const set of ['mnist-mlp-web', 'seizureguard-cnn1d', 'lora-linear-mse']) {
  test(`odtc › round trip › ${set} re-encodes to an identical state`, async (t) => {
    const s = await readCheckpoint(artifact(set));
    const again = decodeOdtc(encodeOdtc(s, { version: s.version }).checkpoint);
    t.deepEqual(digest(again), digest(s));
  });
}

test('odtc › round trip › optimizer state, step, lr and property bag survive', (t) => {
  const s = sampleState();
  const bytes = encodeOdtc(s).checkpoint;
  t.true(isOdtc(bytes));
  const back = decodeOdtc(bytes);
  t.deepEqual(back, s);
  t.is(back.optimizer!.groups[0]!.step, (1n << 40n) + 3n);
  t.deepEqual(back.optimizer!.groups[0]!.params[0]!.momentums.map((m) => m.name), ['momentum0', 'momentum1']);
  t.is(back.properties.tag, 'run-α');
  t.is(back.properties.big, -(1n << 62n));
});

test('odtc › round trip › via writeCheckpoint/readCheckpoint on disk', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'checkpoint');
  await writeCheckpoint(path, sampleState());
  t.deepEqual(await readCheckpoint(dir), sampleState()); // folder containing "checkpoint"
});

test('odtc › round trip › empty optimizer group list stays distinct from none', (t) => {
  const s: CheckpointState = { ...sampleState(), optimizer: { groups: [] } };
  t.deepEqual(decodeOdtc(encodeOdtc(s).checkpoint).optimizer, { groups: [] });
  const { optimizer: _o, ...none } = s;
  t.is(decodeOdtc(encodeOdtc(none).checkpoint).optimizer, undefined);
});

test('odtc › round trip › float lr is stored as float32', (t) => {
  const s = sampleState();
  s.optimizer!.groups[0]!.initialLearningRate = 0.1;
  t.is(decodeOdtc(encodeOdtc(s).checkpoint).optimizer!.groups[0]!.initialLearningRate, Math.fround(0.1));
});

test('odtc › round trip › STRING tensors use string_data', (t) => {
  const s = sampleState();
  s.frozen.push({ name: 'vocab', dataType: DataType.STRING, dims: [3], data: new Uint8Array(0), strings: ['a', '', 'ü'] });
  t.deepEqual(decodeOdtc(encodeOdtc(s).checkpoint), s);
});

test('odtc › v1 › reads a v1 file written by onnx-train', (t) => {
  const s = { ...sampleState(), version: 1 };
  const bytes = encodeOdtc(s, { version: 1 }).checkpoint;
  const back = decodeOdtc(bytes);
  t.is(back.version, 1);
  t.deepEqual(back, s);
  // The v1 schema has no is_nominal_state/has_external_data: their slots must not be written.
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const root = dv.getUint32(0, true);
  const rootVt = root - dv.getInt32(root, true);
  const msField = root + dv.getUint16(rootVt + 6, true);
  const ms = msField + dv.getUint32(msField, true);
  const msVt = ms - dv.getInt32(ms, true);
  t.true(dv.getUint16(msVt, true) <= 8, 'ModuleState vtable lists at most 2 fields');
});

test('odtc › v1 › cannot express nominal state or external data', async (t) => {
  await throwsCode(t, () => encodeOdtc({ ...sampleState(), nominal: true }, { version: 1 }), 'BAD_ARGUMENT');
  await throwsCode(t, () => encodeOdtc(sampleState(), { version: 1, externalData: true }), 'BAD_ARGUMENT');
});

test('odtc › nominal › names and shapes survive without data', (t) => {
  const s = sampleState();
  const nominal: CheckpointState = {
    format: 'odtc',
    version: 2,
    nominal: true,
    trainable: s.trainable.map((x) => ({ ...x, data: new Uint8Array(0) })),
    frozen: s.frozen.map((x) => ({ ...x, data: new Uint8Array(0) })),
    properties: {},
  };
  t.deepEqual(decodeOdtc(encodeOdtc(nominal).checkpoint), nominal);
});

test('odtc › versions › newer version is read with a warning, version 0 is refused', async (t) => {
  const warnings: string[] = [];
  const s = decodeOdtc(encodeOdtc(sampleState(), { version: 3 }).checkpoint, { onWarning: (w) => warnings.push(w) });
  t.is(s.version, 3);
  t.is(warnings.length, 1);
  t.regex(warnings[0]!, /version 3/);
  const b = new Builder(64);
  FbsCheckpoint.start(b);
  FbsCheckpoint.finish(b, FbsCheckpoint.end(b));
  const e = await throwsCode(t, () => decodeOdtc(b.asUint8Array(), { where: 'x.ckpt' }), 'BAD_CHECKPOINT');
  t.is(e.where, 'x.ckpt');
});

/** Builds an ODTC file with one trainable tensor whose fields are set freely (to forge inconsistencies). */
function forge(name: string | null, dataType: number, dims: number[], raw: Uint8Array | null, twice = false): Uint8Array {
  const b = new Builder(256);
  const one = (): number => {
    const n = name === null ? 0 : b.createString(name);
    const d = FbsTensor.createDims(b, dims);
    const r = raw === null ? 0 : FbsTensor.createRawData(b, raw);
    FbsTensor.start(b);
    if (n) FbsTensor.addName(b, n);
    FbsTensor.addDims(b, d);
    FbsTensor.addDataType(b, dataType);
    if (r) FbsTensor.addRawData(b, r);
    return FbsTensor.end(b);
  };
  const ts = twice ? [one(), one()] : [one()];
  const vec = createOffsetVector(b, ts);
  const frozen = createOffsetVector(b, []);
  FbsModuleState.start(b);
  FbsModuleState.addRequiresGradParams(b, vec);
  FbsModuleState.addFrozenParams(b, frozen);
  const ms = FbsModuleState.end(b);
  FbsCheckpoint.start(b);
  FbsCheckpoint.addVersion(b, 2);
  FbsCheckpoint.addModuleState(b, ms);
  FbsCheckpoint.finish(b, FbsCheckpoint.end(b));
  return b.asUint8Array().slice();
}

test('odtc › validation › forged files: consistent one reads, each inconsistency is BAD_CHECKPOINT', async (t) => {
  const ok = forge('w', DataType.FLOAT, [2, 3], new Uint8Array(24));
  t.deepEqual(decodeOdtc(ok).trainable[0]!.dims, [2, 3]);
  const cases: [string, Uint8Array, RegExp][] = [
    ['byte length ≠ dims × dtype size', forge('w', DataType.FLOAT, [2, 3], new Uint8Array(20)), /needs 24 bytes of data, found 20/],
    ['no raw data', forge('w', DataType.FLOAT, [2, 3], null), /needs 24 bytes/],
    ['unknown data type', forge('w', 99, [2], new Uint8Array(8)), /unknown data type 99/],
    ['negative dim', forge('w', DataType.FLOAT, [-1], new Uint8Array(0)), /invalid dim -1/],
    ['no name', forge(null, DataType.FLOAT, [1], new Uint8Array(4)), /has no name/],
    ['duplicate name', forge('w', DataType.FLOAT, [1], new Uint8Array(4), true), /appears twice/],
  ];
  for (const [what, bytes, re] of cases) {
    const e = await throwsCode(t, () => decodeOdtc(bytes, { where: 'forged' }), 'BAD_CHECKPOINT');
    t.regex(e.what, re, what);
    t.is(e.where, 'forged');
  }
});

test('odtc › validation › wrong identifier', async (t) => {
  const bytes = encodeOdtc(sampleState()).checkpoint;
  bytes.set([0x4f, 0x52, 0x54, 0x4d], 4); // "ORTM": an ORT format *model*
  const e = await throwsCode(t, () => decodeOdtc(bytes), 'BAD_CHECKPOINT');
  t.regex(e.what, /identifier is "ORTM", expected "ODTC"/);
});

test('odtc › validation › every truncation of the lora checkpoint is BAD_CHECKPOINT (or cuts only padding)', async (t) => {
  const bytes = new Uint8Array(await readFile(artifact('lora-linear-mse')));
  const full = decodeOdtc(bytes);
  let failures = 0;
  for (let n = 0; n < bytes.length; n++) {
    try {
      // The file ends in alignment padding after the last string; cutting only that leaves a valid buffer.
      t.deepEqual(decodeOdtc(bytes.subarray(0, n)), full, `prefix ${n} decoded to something else`);
      t.true(bytes.subarray(n).every((b) => b === 0), `prefix ${n} decoded though it cut non-padding bytes`);
    } catch (e) {
      failures++;
      t.is((e as { code?: string }).code, 'BAD_CHECKPOINT', `prefix ${n}: ${(e as Error).message}`);
    }
  }
  t.true(failures >= bytes.length - 8);
});

test('odtc › validation › decoded data is a copy, not a view of the input', (t) => {
  const bytes = encodeOdtc(sampleState()).checkpoint;
  const s = decodeOdtc(Buffer.from(bytes));
  const before = s.trainable[0]!.data.slice();
  bytes.fill(0);
  t.deepEqual(s.trainable[0]!.data, before);
  t.is(s.trainable[0]!.data.byteOffset, 0);
  t.is(s.trainable[0]!.data.buffer.byteLength, s.trainable[0]!.data.length);
});

test('odtc › validation › encoder refuses inconsistent states with BAD_ARGUMENT', async (t) => {
  const s = sampleState();
  s.trainable[0] = { ...s.trainable[0]!, data: new Uint8Array(3) };
  await throwsCode(t, () => encodeOdtc(s), 'BAD_ARGUMENT');
  const d = sampleState();
  d.frozen.push(f32('fc1.bias', [4], 9));
  await throwsCode(t, () => encodeOdtc(d), 'BAD_ARGUMENT');
  const p = sampleState();
  p.properties.huge = 1n << 63n;
  await throwsCode(t, () => encodeOdtc(p), 'BAD_ARGUMENT');
});

test('odtc › external data › large tensors go to <checkpoint>.data and read back', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'checkpoint');
  const s = sampleState();
  s.trainable.push(f32('big', [64, 8], 5));
  await writeCheckpoint(path, s, { externalData: true });
  const data = await readFile(`${path}.data`);
  t.true(data.length >= 64 * 8 * 4);
  const ckpt = await readFile(path);
  t.true(ckpt.length < data.length, 'the big tensor is not inline');
  t.deepEqual(await readCheckpoint(path), s);
  // Small tensors (< 64 bytes, ORT's kMinimumSizeForExternalData) stay inline: decoding without the
  // companion fails only for the big ones.
  const e = await throwsCode(t, () => decodeOdtc(ckpt), 'BAD_CHECKPOINT');
  t.regex(e.what, /external data file/);
});

test('odtc › external data › missing or truncated .data file is BAD_CHECKPOINT', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'checkpoint');
  const s = sampleState();
  s.trainable.push(f32('big', [64, 8], 5));
  await writeCheckpoint(path, s, { externalData: { minBytes: 1 } });
  await truncate(`${path}.data`, 100);
  const e = await throwsCode(t, () => readCheckpoint(path), 'BAD_CHECKPOINT');
  t.regex(e.what, /truncated/);
  await writeFile(`${path}.data`, '');
  await copyFile(path, join(dir, 'other'));
  const e2 = await throwsCode(t, () => readCheckpoint(join(dir, 'other')), 'BAD_CHECKPOINT');
  t.regex(e2.what, /does not exist/);
});

test('odtc › external data › locations escaping the folder are UNSAFE_PATH', async (t) => {
  const dir = await tempDir(t);
  const sub = join(dir, 'ckpt');
  const path = join(sub, 'checkpoint');
  const s = sampleState();
  s.trainable.push(f32('big', [64, 8], 5));
  await (await import('node:fs/promises')).mkdir(sub);
  await writeCheckpoint(path, s, { externalData: true });
  await copyFile(`${path}.data`, join(dir, 'outside.data'));
  await throwsCode(t, () => readCheckpoint(path, { externalDataPath: '../outside.data' }), 'UNSAFE_PATH');
  await throwsCode(t, () => readCheckpoint(path, { externalDataPath: join(dir, 'outside.data') }), 'UNSAFE_PATH');
  // A symlink inside the folder that leads out is refused too.
  await symlink(join(dir, 'outside.data'), join(sub, 'link.data'));
  await throwsCode(t, () => readCheckpoint(path, { externalDataPath: 'link.data' }), 'UNSAFE_PATH');
  // The legitimate location still works.
  t.deepEqual(await readCheckpoint(path, { externalDataPath: 'checkpoint.data' }), s);
});
