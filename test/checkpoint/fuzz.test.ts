/**
 * Seeded mutation fuzzing: every decoder must either return a consistent state or throw
 * OnnxTrainError('BAD_CHECKPOINT') — never a RangeError, TypeError, hang, or silently inconsistent tensor.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { OnnxTrainError } from '../../src/errors.js';
import { decodeOdtc, encodeOdtc } from '../../src/checkpoint/odtc.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { decodePbseq, encodePbseq } from '../../src/checkpoint/pbseq.js';
import { decodeLegacyDir, encodeLegacyDir } from '../../src/checkpoint/legacy-dir.js';
import { tensorProblem } from '../../src/checkpoint/tensor-check.js';
import type { CheckpointState } from '../../src/checkpoint/types.js';
import { DataType } from '../../src/checkpoint/dtype.js';
import { artifact, rng, sampleState } from './helpers.js';

/** Rounds per fuzz test; raise locally for a deeper run: FUZZ_ROUNDS=20000 npx ava test/checkpoint/fuzz.test.ts */
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 400);

type Mutation = (b: Uint8Array, r: () => number) => Uint8Array;
const int = (r: () => number, n: number) => Math.floor(r() * n);
const MUTATIONS: [string, Mutation][] = [
  ['flip bytes', (b, r) => {
    const c = b.slice();
    for (let i = 0, n = 1 + int(r, 4); i < n && c.length > 0; i++) c[int(r, c.length)] = int(r, 256);
    return c;
  }],
  ['truncate', (b, r) => b.slice(0, int(r, b.length))],
  ['insert bytes', (b, r) => {
    const at = int(r, b.length + 1);
    const ins = Uint8Array.from({ length: 1 + int(r, 8) }, () => int(r, 256));
    return Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
  }],
  ['delete range', (b, r) => {
    const at = int(r, b.length);
    return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + int(r, 16))]);
  }],
  ['overwrite an aligned int32 (offsets, lengths)', (b, r) => {
    const c = b.slice();
    if (c.length >= 4) {
      const at = int(r, c.length >> 2) * 4;
      const v = [0, 1, 0x7fffffff, 0xffffffff, int(r, 0x100000000), int(r, c.length * 2)][int(r, 6)]!;
      new DataView(c.buffer).setUint32(at, v >>> 0, true);
    }
    return c;
  }],
];

/** A decoded state must be self-consistent (the decoder validated every tensor). */
function consistent(s: CheckpointState): string | undefined {
  const all = [...s.trainable, ...s.frozen, ...(s.optimizer?.groups.flatMap((g) => g.params.flatMap((p) => p.momentums)) ?? [])];
  for (const t of all) {
    const p = tensorProblem(t, s.nominal === true);
    if (p !== undefined) return `${t.name} ${p}`;
  }
  return undefined;
}

function fuzz(t: ExecutionContext, seed: number, seeds: Uint8Array[], decode: (b: Uint8Array) => CheckpointState): void {
  const r = rng(seed);
  const outcomes = { ok: 0, bad: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    const base = seeds[i % seeds.length]!;
    const [name, mutate] = MUTATIONS[i % MUTATIONS.length]!;
    const input = mutate(base, r);
    try {
      const s = decode(input);
      const problem = consistent(s);
      if (problem !== undefined) t.fail(`round ${i} (${name}): decoded an inconsistent tensor: ${problem}`);
      outcomes.ok++;
    } catch (e) {
      if (!(e instanceof OnnxTrainError) || e.code !== 'BAD_CHECKPOINT') {
        t.fail(`round ${i} (${name}): ${(e as Error)?.stack ?? String(e)}`);
        return;
      }
      outcomes.bad++;
    }
  }
  t.is(outcomes.ok + outcomes.bad, ROUNDS);
  t.true(outcomes.bad > ROUNDS / 4, `most mutations are caught (${JSON.stringify(outcomes)})`);
  t.log(outcomes);
}

function withStrings(): CheckpointState {
  const s = sampleState();
  s.frozen.push({ name: 'vocab', dataType: DataType.STRING, dims: [2], data: new Uint8Array(0), strings: ['a', 'bc'] });
  return s;
}

test('fuzz › odtc › mutated real and synthetic checkpoints give BAD_CHECKPOINT or a consistent state', (t) => {
  const seeds = [
    new Uint8Array(readFileSync(artifact('lora-linear-mse'))),
    encodeOdtc(withStrings()).checkpoint,
    encodeOdtc(sampleState(), { version: 1 }).checkpoint,
  ];
  fuzz(t, 1, seeds, (b) => decodeOdtc(b));
});

test('fuzz › odtc › random bytes behind a valid identifier give BAD_CHECKPOINT', (t) => {
  const r = rng(2);
  for (let i = 0; i < ROUNDS; i++) {
    const b = Uint8Array.from({ length: int(r, 600) }, () => int(r, 256));
    if (b.length >= 8) b.set([0x4f, 0x44, 0x54, 0x43], 4);
    if (b.length >= 4 && i % 2 === 0) new DataView(b.buffer).setUint32(0, 8 + 4 * int(r, 16), true); // plausible root
    try {
      const s = decodeOdtc(b);
      t.is(consistent(s), undefined);
    } catch (e) {
      t.true(e instanceof OnnxTrainError && e.code === 'BAD_CHECKPOINT', String((e as Error)?.stack ?? e));
    }
  }
});

test('fuzz › safetensors › mutated files give BAD_CHECKPOINT or a consistent state', (t) => {
  fuzz(t, 3, [encodeSafetensors(sampleState())], (b) => decodeSafetensors(b));
});

test('fuzz › pbseq › mutated sequences and legacy folders give BAD_CHECKPOINT or a consistent state', (t) => {
  const files = encodeLegacyDir(withStrings());
  const seeds = [encodePbseq(sampleState().trainable), ...files.values()];
  fuzz(t, 4, seeds, (b) => ({ format: 'pbseq', trainable: decodePbseq(b), frozen: [], properties: {} }));
  // The same mutations applied to one file of a whole legacy folder.
  const names = [...files.keys()];
  fuzz(t, 5, [files.get(names[0]!)!], (b) => decodeLegacyDir(new Map([...files, [names[0]!, b]]), 'dir'));
});

test('fuzz › every format › random bytes give BAD_CHECKPOINT', (t) => {
  const r = rng(6);
  for (let i = 0; i < ROUNDS; i++) {
    const b = Uint8Array.from({ length: int(r, 200) }, () => int(r, 256));
    for (const decode of [decodeOdtc, decodeSafetensors, decodePbseq]) {
      try {
        decode(b);
      } catch (e) {
        t.true(e instanceof OnnxTrainError && e.code === 'BAD_CHECKPOINT', String((e as Error)?.stack ?? e));
      }
    }
  }
});
