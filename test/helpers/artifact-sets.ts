/**
 * Shared by the augment/export tests: the four real ORT artifact sets (read from ../shared/artifacts by path,
 * never copied), deterministic batches for them, and small tensor helpers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ort } from './ort.js';
import { ARTIFACTS } from './paths.js';
import { rng, randn } from './rng.js';
import type { TensorDecl } from '../../src/transforms/manifest.js';

export interface SetInfo {
  readonly name: string;
  /** Batch size for tests (small: resnet is slow). */
  readonly batch: number;
  /** Classes of the int64 label input, or undefined for a float target. */
  readonly classes?: number;
  readonly hasCheckpoint: boolean;
  readonly slow?: boolean;
}

export const SETS: readonly SetInfo[] = [
  { name: 'mnist-mlp-web', batch: 8, classes: 10, hasCheckpoint: true },
  { name: 'seizureguard-cnn1d', batch: 4, classes: 2, hasCheckpoint: true },
  { name: 'lora-linear-mse', batch: 8, hasCheckpoint: true },
  { name: 'resnet50-conv0', batch: 1, classes: 1000, hasCheckpoint: false, slow: true },
];

export const setDir = (name: string) => path.join(ARTIFACTS, name);
export const haveSet = (name: string) => fs.existsSync(path.join(setDir(name), 'training_model.onnx'));

/** A fresh temp folder (removed by the caller with `rmTemp`). */
export function tempDir(prefix = 'onnx-train-augment-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
export function rmTemp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Deterministic feeds for the user inputs of a set (symbolic dims = batch). */
export function batchFor(set: SetInfo, inputs: readonly TensorDecl[], seed = 1): Record<string, ort.Tensor> {
  const r = rng(seed);
  const feeds: Record<string, ort.Tensor> = {};
  for (const d of inputs) {
    const dims = d.shape.map((s) => (typeof s === 'number' && s > 0 ? s : set.batch));
    const n = dims.reduce((a, x) => a * x, 1);
    if (d.dtype === 'int64') {
      feeds[d.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * (set.classes ?? 2)))), dims);
    } else if (d.dtype === 'float32') {
      feeds[d.name] = new ort.Tensor('float32', randn(r, n), dims);
    } else {
      throw new Error(`test helper: no generator for ${d.dtype} input ${d.name}`);
    }
  }
  return feeds;
}

/** Float32 view of a tensor's data. */
export function f32data(t: ort.Tensor): Float32Array {
  return t.data as Float32Array;
}

/** max |a-b| / max(|b|, floor) over elements. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

/** max |a-b| / max(max|b|, floor): relative to the tensor's scale (robust for values that cross zero). */
export function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  if (a.length !== b.length) return Infinity;
  let scale = floor;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return Infinity;
    m = Math.max(m, d);
  }
  return m / scale;
}

/** ORT tensor from raw little-endian bytes (a checkpoint tensor). */
export function tensorFromBytes(t: { dataType: number; dims: readonly number[]; data: Uint8Array }): ort.Tensor {
  const copy = t.data.slice();
  switch (t.dataType) {
    case 1: return new ort.Tensor('float32', new Float32Array(copy.buffer, 0, copy.byteLength / 4), [...t.dims]);
    case 7: return new ort.Tensor('int64', new BigInt64Array(copy.buffer, 0, copy.byteLength / 8), [...t.dims]);
    default: throw new Error(`test helper: data type ${t.dataType}`);
  }
}
