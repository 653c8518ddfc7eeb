import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeModel, encodeModel, readModel } from '../../src/onnx/io.js';
import { Model } from '../../src/ir/graph.js';
import { OnnxTrainError } from '../../src/errors.js';
import { allModelFiles } from '../helpers/paths.js';
import { rng } from '../helpers/rng.js';

// Small models only: the fuzz loop must stay fast.
const seeds = allModelFiles().map((f) => fs.readFileSync(f)).filter((b) => b.length < 64 * 1024);

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const b = Uint8Array.from(src);
  const pos = () => Math.floor(r() * b.length);
  switch (Math.floor(r() * 7)) {
    case 0: { const n = 1 + Math.floor(r() * 8); for (let i = 0; i < n; i++) b[pos()] ^= 1 << Math.floor(r() * 8); return b; }
    case 1: return b.subarray(0, pos());
    case 2: { const n = 1 + Math.floor(r() * 16); for (let i = 0; i < n; i++) b[pos()] = Math.floor(r() * 256); return b; }
    case 3: { const p = pos(); const ins = Uint8Array.from({ length: 1 + Math.floor(r() * 32) }, () => Math.floor(r() * 256)); return new Uint8Array([...b.subarray(0, p), ...ins, ...b.subarray(p)]); }
    case 4: { const p = pos(); return new Uint8Array([...b.subarray(0, p), ...b.subarray(Math.min(b.length, p + 1 + Math.floor(r() * 64)))]); }
    case 5: { // huge declared length: write a 5-byte varint ~ 4 GB at a random position
      const p = pos(); b.set([0xff, 0xff, 0xff, 0xff, 0x0f].slice(0, b.length - p), p); return b; }
    default: { const p = pos(); const q = pos(); const len = Math.min(32, b.length - Math.max(p, q)); b.copyWithin(p, q, q + len); return b; }
  }
}

test('fuzz › 2,500 seeded mutations of fixture models › only OnnxTrainError, never a crash or a hang', (t) => {
  t.true(seeds.length > 0);
  const r = rng(20261125);
  let refused = 0, accepted = 0;
  const t0 = Date.now();
  for (let i = 0; i < 2500; i++) {
    const bytes = mutate(seeds[i % seeds.length], r);
    try {
      const m = decodeModel(bytes, `mutant-${i}.onnx`);
      // A mutant that still decodes must survive the IR and re-encoding.
      try {
        encodeModel(Model.fromProto(m).toProto());
      } catch (e) {
        if (!(e instanceof OnnxTrainError)) throw e;
      }
      accepted++;
    } catch (e) {
      if (!(e instanceof OnnxTrainError)) t.fail(`mutant ${i}: raw ${(e as Error).name}: ${(e as Error).message}`);
      else {
        t.regex(e.message, new RegExp(`mutant-${i}\\.onnx`));
        refused++;
      }
    }
  }
  t.log(`refused ${refused}, accepted ${accepted} in ${Date.now() - t0} ms`);
  t.true(refused > 1000);
});

test('fuzz › random bytes › refused with a typed error', (t) => {
  const r = rng(7);
  for (let i = 0; i < 500; i++) {
    const bytes = Uint8Array.from({ length: Math.floor(r() * 4096) }, () => Math.floor(r() * 256));
    const err = t.throws(() => decodeModel(bytes, 'random.onnx'));
    t.true(err instanceof OnnxTrainError, err?.message);
  }
});

test('bad input › absurd nesting › refused without a stack overflow', (t) => {
  // GraphProto.node[0].attribute[0].g -> GraphProto ... 10,000 levels deep.
  let inner: Uint8Array = new Uint8Array(0);
  const lenPrefix = (tag: number, payload: Uint8Array) => {
    const out: number[] = [tag];
    let n = payload.length;
    do { let byte = n & 0x7f; n = Math.floor(n / 128); if (n) byte |= 0x80; out.push(byte); } while (n);
    return new Uint8Array([...out, ...payload]);
  };
  for (let i = 0; i < 3000; i++) {
    const attr = lenPrefix((6 << 3) | 2, inner); // AttributeProto.g
    const node = lenPrefix((5 << 3) | 2, attr); // NodeProto.attribute
    inner = lenPrefix((1 << 3) | 2, node); // GraphProto.node
  }
  const model = lenPrefix((7 << 3) | 2, inner); // ModelProto.graph
  const err = t.throws(() => decodeModel(model, 'deep.onnx'));
  t.regex(err!.message, /nested deeper than/);
});

test('bad input › declared length far past the end › names the field and sizes', (t) => {
  const bytes = new Uint8Array([(7 << 3) | 2, 0xff, 0xff, 0xff, 0xff, 0x07, 1, 2, 3]);
  const err = t.throws(() => decodeModel(bytes, 'big.onnx'));
  t.regex(err!.message, /ModelProto\.graph.*declares 2147483647 bytes but only 3 remain|declares/);
});

test('bad input › wrong file types › PNG, JSON, empty file, a folder', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-bad-'));
  const cases: [string, Uint8Array][] = [
    ['image.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])],
    ['model.json', new TextEncoder().encode('{"graph": {"node": []}}')],
    ['empty.onnx', new Uint8Array(0)],
  ];
  for (const [name, bytes] of cases) {
    fs.writeFileSync(path.join(dir, name), bytes);
    const err = t.throws(() => readModel(path.join(dir, name)));
    t.true(err instanceof OnnxTrainError);
    t.true(err!.message.includes(name), err!.message);
  }
  const err = t.throws(() => readModel(dir));
  t.regex(err!.message, /folder/);
  const missing = t.throws(() => readModel(path.join(dir, 'nope.onnx')));
  t.is((missing as OnnxTrainError).code, 'IO');
});
