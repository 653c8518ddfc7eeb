/**
 * Training data from files, as named batches for a model's inputs.
 *
 * Sources (by extension):
 * - `.npy` — one array (see npy.ts). Named with `name=path`, or unnamed: unnamed arrays fill the model inputs that
 *   no file named, in the model's input order (so `--data x.npy --labels y.npy` feeds `input` and `labels`).
 * - `.safetensors` — tensors named as the model inputs.
 * - `.json` — either an object of named nested arrays (`{"input": [[…], …], "labels": [3, 1, …]}`) or an array of
 *   records (`[{"input": […], "labels": 3}, …]`); a bare nested array is one unnamed array.
 *
 * The first axis of every array is the sample axis; all must have the same number of samples. Values are
 * converted to the input's declared element type (float64 → float32 rounds; float → integer only when every
 * value is integral), and trailing dimensions are reshaped to the declared ones when only the grouping differs
 * (e.g. images [n, 28, 28] for an input [batch, 784]). Every mismatch is an OnnxTrainError naming the file and
 * the input, with the fix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxTrainError } from '../../errors.js';
import { decodeSafetensors } from '../../checkpoint/safetensors.js';
import { dtypeInfo } from '../../onnx/dtypes.js';
import type { HostTensor, TensorArray, TensorType } from '../engine.js';
import { arrayFor } from '../state.js';
import { decodeNpy } from './npy.js';
import { mulberry32 } from '../../util/prng.js';

/** What a dataset must provide: a model input (the manifest's TensorDecl shape). */
export interface InputSpec {
  readonly name: string;
  readonly dtype: TensorType;
  /** Numbers for static dims, strings for symbolic ones; dim 0 is the batch axis. */
  readonly shape: readonly (number | string)[];
}

/** Full arrays by input name, dim 0 = samples. */
export class TensorDataset {
  readonly count: number;
  readonly tensors: ReadonlyMap<string, HostTensor>;
  private readonly rowSize: Map<string, number>;

  constructor(tensors: Readonly<Record<string, HostTensor>>, where = 'dataset') {
    const entries = Object.entries(tensors);
    if (entries.length === 0) throw new OnnxTrainError('BAD_ARGUMENT', 'the dataset has no arrays', 'pass at least one data file', where);
    const counts = entries.map(([n, t]) => {
      if (t.dims.length === 0) throw new OnnxTrainError('SHAPE_MISMATCH', `"${n}" is a scalar; data arrays need a sample axis`, 'store one row per sample', where);
      return [n, t.dims[0]] as const;
    });
    const count = counts[0][1];
    if (counts.some(([, c]) => c !== count)) {
      throw new OnnxTrainError('SHAPE_MISMATCH', `the arrays have different numbers of samples: ${counts.map(([n, c]) => `${n} ${c}`).join(', ')}`,
        'every array needs one row per sample (the same first dimension)', where);
    }
    if (count === 0) throw new OnnxTrainError('BAD_ARGUMENT', 'the dataset has no samples', 'pass non-empty data', where);
    this.count = count;
    this.tensors = new Map(entries);
    this.rowSize = new Map(entries.map(([n, t]) => [n, t.dims.slice(1).reduce((a, d) => a * d, 1)]));
  }

  get names(): string[] { return [...this.tensors.keys()]; }

  /** The rows `indices` of every array, as feeds (copies). */
  rows(indices: ArrayLike<number>): Record<string, HostTensor> {
    const out: Record<string, HostTensor> = {};
    for (const [name, t] of this.tensors) {
      const rs = this.rowSize.get(name)!;
      const data = arrayFor(t.type, indices.length * rs);
      const src = t.data as unknown as { subarray(a: number, b: number): ArrayLike<unknown> };
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k];
        if (!(i >= 0 && i < this.count)) throw new OnnxTrainError('BAD_ARGUMENT', `row ${i} is out of range (0..${this.count - 1})`);
        (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(src.subarray(i * rs, (i + 1) * rs), k * rs);
      }
      out[name] = { type: t.type, dims: [indices.length, ...t.dims.slice(1)], data };
    }
    return out;
  }

  /** Rows [start, end). */
  slice(start: number, end: number): Record<string, HostTensor> {
    const idx = new Int32Array(Math.max(0, Math.min(end, this.count) - start));
    for (let k = 0; k < idx.length; k++) idx[k] = start + k;
    return this.rows(idx);
  }
}

/**
 * Which rows make batch `i` of an endless stream of epochs: each epoch is a permutation of the samples (seeded,
 * reproducible: batch i is the same on every run, so a resumed run sees the batches the uninterrupted run would
 * have seen) cut into `batchSize` rows; the last partial batch of an epoch is dropped (`dropLast`, default true —
 * models with a fixed batch dimension need it), or kept.
 */
export class BatchSampler {
  readonly batchesPerEpoch: number;
  private epochCache: { epoch: number; perm: Int32Array } | undefined;

  constructor(readonly count: number, readonly batchSize: number, readonly opts: { shuffle?: boolean; seed?: number; dropLast?: boolean } = {}) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new OnnxTrainError('BAD_ARGUMENT', `batch size ${batchSize} is not a positive integer`);
    const dropLast = opts.dropLast ?? true;
    if (batchSize > count && dropLast) {
      throw new OnnxTrainError('BAD_ARGUMENT', `batch size ${batchSize} is larger than the ${count} samples`, `use --batch-size ${count} or less`);
    }
    this.batchesPerEpoch = dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
  }

  /** The epoch that batch `i` belongs to. */
  epochOf(i: number): number { return Math.floor(i / this.batchesPerEpoch); }

  /** Row indices of batch `i` (0-based over all epochs). */
  indices(i: number): Int32Array {
    const epoch = this.epochOf(i);
    const j = i - epoch * this.batchesPerEpoch;
    const perm = this.permutation(epoch);
    return perm.slice(j * this.batchSize, Math.min(perm.length, (j + 1) * this.batchSize));
  }

  private permutation(epoch: number): Int32Array {
    if (this.epochCache?.epoch === epoch) return this.epochCache.perm;
    const perm = new Int32Array(this.count);
    for (let i = 0; i < perm.length; i++) perm[i] = i;
    if (this.opts.shuffle !== false) shuffleInPlace(perm, mix(this.opts.seed ?? 0, epoch));
    this.epochCache = { epoch, perm };
    return perm;
  }
}

/** Batch `i` of `dataset` as drawn by `sampler`. */
export function batchFeeds(dataset: TensorDataset, sampler: BatchSampler, i: number): Record<string, HostTensor> {
  return dataset.rows(sampler.indices(i));
}

/** Consecutive batches covering every sample once (the last one may be smaller), for evaluation. */
export function* sequentialBatches(dataset: TensorDataset, batchSize: number): Generator<Record<string, HostTensor>> {
  for (let s = 0; s < dataset.count; s += batchSize) yield dataset.slice(s, s + batchSize);
}

function mix(seed: number, epoch: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (epoch + 0x85ebca6b), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Fisher–Yates with mulberry32: the same permutation on every platform for a seed. */
function shuffleInPlace(a: Int32Array, seed: number): void {
  const rand = mulberry32(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

// ----------------------------------------------------------------------------------------- reading files

/** An array read from a file, with the name it was given (undefined = fill the next unnamed input). */
export interface LoadedArray {
  readonly name: string | undefined;
  readonly tensor: HostTensor;
  readonly file: string;
}

/**
 * Reads one data file spec: `path` or `name=path` (a name applies to single-array files: .npy, or a JSON bare
 * array). Returns every array it holds.
 */
export function readDataFile(spec: string): LoadedArray[] {
  const eq = spec.indexOf('=');
  const named = eq > 0 && !fs.existsSync(spec) ? spec.slice(0, eq) : undefined;
  const file = named !== undefined ? spec.slice(eq + 1) : spec;
  if (!fs.existsSync(file)) throw new OnnxTrainError('IO', `data file not found: ${file}`, 'check the path', file);
  const bytes = new Uint8Array(fs.readFileSync(file));
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') return [{ name: named, tensor: decodeNpy(bytes, file), file }];
  if (ext === '.safetensors') {
    if (named !== undefined) throw new OnnxTrainError('BAD_ARGUMENT', `"${spec}": a .safetensors file names its own tensors`, `pass it as --data ${file}`, file);
    const st = decodeSafetensors(bytes, file);
    return [...st.trainable, ...st.frozen].map((t) => {
      const type = dtypeInfo(t.dataType)?.ort as TensorType | undefined;
      if (!type || !['float32', 'float64', 'int32', 'int64', 'int8', 'uint8', 'bool'].includes(type)) {
        throw new OnnxTrainError('BAD_ARGUMENT', `tensor "${t.name}" has a data type the loader does not read (${dtypeInfo(t.dataType)?.name ?? t.dataType})`, 'store float32/float64/int64/int32/uint8/bool', file);
      }
      const n = t.dims.reduce((a, d) => a * d, 1);
      const data = arrayFor(type, n);
      new Uint8Array(data.buffer).set(t.data);
      return { name: t.name, tensor: { type, dims: [...t.dims], data }, file };
    });
  }
  if (ext === '.json') return readJsonData(bytes, file, named);
  throw new OnnxTrainError('BAD_ARGUMENT', `unsupported data file type "${ext || '(none)'}": ${file}`, 'use .npy, .safetensors or .json', file);
}

function readJsonData(bytes: Uint8Array, file: string, named: string | undefined): LoadedArray[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new OnnxTrainError('BAD_ARGUMENT', `not valid JSON: ${(e as Error).message}`, 'fix the file', file);
  }
  const fix = 'use {"<input>": [[...], ...], ...}, or an array of records [{"<input>": ..., ...}, ...], or one nested array';
  if (Array.isArray(json) && json.length > 0 && json.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
    if (named !== undefined) throw new OnnxTrainError('BAD_ARGUMENT', 'an array of records names its own fields', `pass it without "${named}="`, file);
    const keys = Object.keys(json[0] as object);
    const cols: Record<string, unknown[]> = {};
    for (const k of keys) cols[k] = [];
    json.forEach((r, i) => {
      const rk = Object.keys(r as object);
      if (rk.length !== keys.length || rk.some((k) => !(k in cols))) {
        throw new OnnxTrainError('BAD_ARGUMENT', `record ${i} has fields {${rk.join(', ')}}, record 0 has {${keys.join(', ')}}`, 'give every record the same fields', file);
      }
      for (const k of keys) cols[k].push((r as Record<string, unknown>)[k]);
    });
    return keys.map((k) => ({ name: k, tensor: nestedToTensor(cols[k], `${file}: field "${k}"`), file }));
  }
  if (Array.isArray(json)) return [{ name: named, tensor: nestedToTensor(json, file), file }];
  if (typeof json === 'object' && json !== null) {
    if (named !== undefined) throw new OnnxTrainError('BAD_ARGUMENT', 'a JSON object names its own arrays', `pass it without "${named}="`, file);
    return Object.entries(json).map(([k, v]) => {
      if (!Array.isArray(v)) throw new OnnxTrainError('BAD_ARGUMENT', `"${k}" is not an array`, fix, file);
      return { name: k, tensor: nestedToTensor(v, `${file}: "${k}"`), file };
    });
  }
  throw new OnnxTrainError('BAD_ARGUMENT', 'the JSON holds no arrays', fix, file);
}

/** A rectangular nested array of numbers/booleans → float64 (numbers) or bool tensor. */
function nestedToTensor(v: unknown[], where: string): HostTensor {
  const dims: number[] = [];
  for (let x: unknown = v; Array.isArray(x); x = x[0]) dims.push(x.length);
  const flat: unknown[] = [];
  const walk = (x: unknown, d: number, at: string) => {
    if (d === dims.length) {
      if (Array.isArray(x)) throw new OnnxTrainError('SHAPE_MISMATCH', `${at} is nested deeper than ${at.replace(/\[\d+\]$/, '[0]')}`, 'make the array rectangular', where);
      flat.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== dims[d]) {
      throw new OnnxTrainError('SHAPE_MISMATCH', `${at} has ${Array.isArray(x) ? `${x.length} items` : 'a scalar'} where ${dims[d]} were expected (the array is not rectangular)`, 'make every row the same length', where);
    }
    x.forEach((y, i) => walk(y, d + 1, `${at}[${i}]`));
  };
  walk(v, 0, 'item');
  if (flat.length > 0 && flat.every((x) => typeof x === 'boolean')) {
    return { type: 'bool', dims, data: Uint8Array.from(flat as boolean[], (b) => (b ? 1 : 0)) };
  }
  const bad = flat.findIndex((x) => typeof x !== 'number');
  if (bad >= 0) throw new OnnxTrainError('BAD_ARGUMENT', `value ${JSON.stringify(flat[bad])} (element ${bad}) is not a number`, 'store numbers (or booleans) only', where);
  return { type: 'float64', dims, data: Float64Array.from(flat as number[]) };
}

// ----------------------------------------------------------------------------------------- to model inputs

/**
 * Assembles the arrays of `files` (specs as for {@link readDataFile}, data first then labels) into a dataset
 * for `inputs`: named arrays go to their input, unnamed ones fill the remaining inputs in order; each is
 * converted to the input's type and checked against its shape.
 */
export function loadDataset(files: readonly string[], inputs: readonly InputSpec[], where = 'data'): TensorDataset {
  return datasetFromArrays(files.flatMap(readDataFile), inputs, where);
}

/** {@link loadDataset} for arrays already in memory. */
export function datasetFromArrays(arrays: readonly LoadedArray[], inputs: readonly InputSpec[], where = 'data'): TensorDataset {
  const byInput = new Map<string, LoadedArray>();
  const known = new Set(inputs.map((i) => i.name));
  const inputList = inputs.map((i) => `"${i.name}" [${i.shape}] ${i.dtype}`).join(', ');
  for (const a of arrays.filter((x) => x.name !== undefined)) {
    if (!known.has(a.name!)) {
      throw new OnnxTrainError('BAD_ARGUMENT', `${a.file}: array "${a.name}" is not an input of the model`, `the model's inputs are ${inputList}; name the arrays after them`, a.file);
    }
    if (byInput.has(a.name!)) throw new OnnxTrainError('BAD_ARGUMENT', `input "${a.name}" is given twice (${byInput.get(a.name!)!.file} and ${a.file})`, 'pass each input once', a.file);
    byInput.set(a.name!, a);
  }
  const open = inputs.filter((i) => !byInput.has(i.name));
  const unnamed = arrays.filter((x) => x.name === undefined);
  if (unnamed.length > open.length) {
    throw new OnnxTrainError('BAD_ARGUMENT', `${unnamed.length} unnamed array(s) (${unnamed.map((u) => u.file).join(', ')}) but only ${open.length} input(s) left to fill`, `the model's inputs are ${inputList}`, where);
  }
  unnamed.forEach((u, k) => byInput.set(open[k].name, { ...u, name: open[k].name }));
  const missing = inputs.filter((i) => !byInput.has(i.name));
  if (missing.length) {
    throw new OnnxTrainError('BAD_ARGUMENT', `no data for input(s) ${missing.map((m) => `"${m.name}" [${m.shape}] ${m.dtype}`).join(', ')}`,
      'pass one file per input (--data for the inputs, --labels for the labels), or name them: --data <input>=<file>.npy', where);
  }
  const out: Record<string, HostTensor> = {};
  for (const spec of inputs) {
    const a = byInput.get(spec.name)!;
    out[spec.name] = fitToInput(a.tensor, spec, a.file);
  }
  return new TensorDataset(out, where);
}

/** Converts `t` to the declared type and checks/reshapes the per-sample dims. */
export function fitToInput(t: HostTensor, spec: InputSpec, where: string): HostTensor {
  const label = `input "${spec.name}"`;
  if (t.dims.length === 0) throw new OnnxTrainError('SHAPE_MISMATCH', `${label}: the array is a scalar`, 'store one row per sample', where);
  const want = spec.shape.slice(1);
  const have = t.dims.slice(1);
  let dims = [...t.dims];
  const matches = have.length === want.length && want.every((d, i) => typeof d !== 'number' || d === have[i]);
  if (!matches) {
    const allStatic = want.every((d): d is number => typeof d === 'number');
    const perSample = (xs: readonly number[]) => xs.reduce((a, d) => a * d, 1);
    if (allStatic && perSample(want) === perSample(have)) {
      dims = [t.dims[0], ...want];
    } else {
      throw new OnnxTrainError('SHAPE_MISMATCH', `${label}: the data has per-sample shape [${have}] (array [${t.dims}]), the model expects [${want}] (input [${spec.shape}])`,
        'reshape the data so that dim 0 counts samples and the rest match the model input', where);
    }
  }
  return { type: spec.dtype, dims, data: convert(t, spec.dtype, `${label}`, where) };
}

function convert(t: HostTensor, to: TensorType, label: string, where: string): TensorArray {
  if (t.type === to) return t.data;
  const n = t.data.length;
  const out = arrayFor(to, n);
  const isFloat = (x: TensorType) => x === 'float32' || x === 'float64' || x === 'float16';
  if (to === 'float16' || t.type === 'float16') throw new OnnxTrainError('BAD_ARGUMENT', `${label}: converting ${t.type} to ${to} is not supported`, `store the data as ${to}`, where);
  const src = t.data as ArrayLike<number | bigint>;
  if (to === 'int64') {
    for (let i = 0; i < n; i++) (out as BigInt64Array)[i] = BigInt(integral(src[i], i, t.type, to, label, where));
    return out;
  }
  const intTarget = !isFloat(to);
  const range: Partial<Record<TensorType, [number, number]>> = { int32: [-2147483648, 2147483647], int8: [-128, 127], uint8: [0, 255], bool: [0, 1] };
  for (let i = 0; i < n; i++) {
    const v = src[i];
    let x: number = typeof v === 'bigint' ? Number(v) : v;
    if (intTarget) {
      x = integral(v, i, t.type, to, label, where);
      const r = range[to];
      if (to === 'bool') x = x ? 1 : 0;
      else if (r && (x < r[0] || x > r[1])) throw new OnnxTrainError('BAD_ARGUMENT', `${label}: value ${x} (element ${i}) does not fit ${to}`, `store values in ${to}'s range`, where);
    }
    (out as Float32Array)[i] = x;
  }
  return out;
}

function integral(v: number | bigint, i: number, from: TensorType, to: TensorType, label: string, where: string): number {
  if (typeof v === 'bigint') return Number(v);
  if (!Number.isInteger(v)) {
    throw new OnnxTrainError('BAD_ARGUMENT', `${label}: the model expects ${to} but the data is ${from} with the non-integral value ${v} (element ${i})`, `store ${to} values (e.g. class indices as integers)`, where);
  }
  return v;
}
