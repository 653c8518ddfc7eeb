/** Shared helpers of the checkpoint tests (not a test file itself: ava only runs `*.test.ts`). */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ExecutionContext } from 'ava';
import { OnnxTrainError, type ErrorCode } from '../../src/errors.js';
import { DataType } from '../../src/checkpoint/dtype.js';
import type { CheckpointState, CheckpointTensor } from '../../src/checkpoint/types.js';

/** The real ORT artifact sets (read in place; never copied into the repo). */
export const ARTIFACTS = resolve('..', 'shared', 'artifacts');
export const artifact = (set: string, file = 'checkpoint'): string => join(ARTIFACTS, set, file);

/** Repo fixtures of this module. */
export const FIXTURES = resolve('fixtures', 'checkpoint');

/** mulberry32: small, seeded, deterministic PRNG returning [0, 1). */
import { mulberry32 as rng } from '../../src/util/prng.js';

export { rng };

/** A FLOAT tensor with seeded values in [-1, 1). */
export function f32(name: string, dims: number[], seed: number): CheckpointTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const v = Float32Array.from({ length: n }, () => r() * 2 - 1);
  return { name, dataType: DataType.FLOAT, dims, data: new Uint8Array(v.buffer) };
}

/** Float32 view (copied, so alignment does not matter) of a tensor's data. */
export const floats = (t: CheckpointTensor): Float32Array => new Float32Array(t.data.slice().buffer);

/** A small but complete state: trainable + frozen, AdamW state in one group, every property type. */
export function sampleState(): CheckpointState {
  const trainable = [f32('fc1.weight', [4, 3], 1), f32('fc1.bias', [4], 2), f32('fc2.weight', [2, 4], 3)];
  const i64 = new Uint8Array(16);
  new DataView(i64.buffer).setBigInt64(0, -5n, true);
  new DataView(i64.buffer).setBigInt64(8, 1n << 40n, true);
  const frozen: CheckpointTensor[] = [
    f32('embed', [3, 2], 4),
    { name: 'positions', dataType: DataType.INT64, dims: [2], data: i64 },
    { name: 'mask', dataType: DataType.BOOL, dims: [3], data: Uint8Array.of(1, 0, 1) },
    { name: 'half', dataType: DataType.FLOAT16, dims: [2], data: Uint8Array.of(0x00, 0x3c, 0x00, 0xc0) },
  ];
  return {
    format: 'odtc',
    version: 2,
    trainable,
    frozen,
    optimizer: {
      groups: [
        {
          name: 'group0',
          step: (1n << 40n) + 3n,
          initialLearningRate: Math.fround(1e-3),
          params: trainable.map((t, i) => ({
            param: t.name,
            momentums: [
              { ...f32('momentum0', t.dims, 100 + i) },
              { ...f32('momentum1', t.dims, 200 + i) },
            ],
          })),
        },
      ],
    },
    properties: { epoch: 7n, best_loss: Math.fround(0.125), big: -(1n << 62n), tag: 'run-α', ratio: Math.fround(-2.5) },
  };
}

/** Same content, ignoring `format`/`version` (which legitimately differ between formats). */
export function content(s: CheckpointState): unknown {
  const { format: _f, version: _v, ...rest } = s;
  return rest;
}

/** Asserts `fn` throws an OnnxTrainError with `code`; returns it. */
export async function throwsCode(
  t: ExecutionContext,
  fn: () => unknown,
  code: ErrorCode,
): Promise<OnnxTrainError> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof OnnxTrainError)) {
      t.fail(`expected OnnxTrainError(${code}), got ${(e as Error)?.stack ?? String(e)}`);
      throw e;
    }
    t.is(e.code, code, e.message);
    return e;
  }
  t.fail(`expected OnnxTrainError(${code}), nothing was thrown`);
  throw new Error('unreachable');
}

/** A fresh temp folder, removed when the test ends. */
export async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'onnx-train-ckpt-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The state with every tensor's bytes replaced by their sha256 (ava's deepEqual walks typed arrays element
 * by element, which takes seconds for megabyte checkpoints).
 */
export function digest(s: CheckpointState): unknown {
  const h = (x: CheckpointTensor) => ({ ...x, data: `${x.data.length}:${createHash('sha256').update(x.data).digest('hex')}` });
  return {
    ...s,
    trainable: s.trainable.map(h),
    frozen: s.frozen.map(h),
    optimizer: s.optimizer && {
      groups: s.optimizer.groups.map((g) => ({ ...g, params: g.params.map((p) => ({ ...p, momentums: p.momentums.map(h) })) })),
    },
  };
}
