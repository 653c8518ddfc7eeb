/**
 * External data (TensorProto.data_location = EXTERNAL): tensors whose bytes live in a side file named by the
 * `location` entry, at `offset` for `length` bytes. Locations are resolved inside the model's folder; absolute
 * paths, `..` escapes and symlinks that lead outside are refused (a model file must not read arbitrary files).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxTrainError } from '../errors.js';
import type { GraphProto, ModelProto, TensorProto } from './types.js';
import { byteSize } from './dtypes.js';
import { toNumber } from './int64.js';

const EXTERNAL = 1;

function entries(t: TensorProto): Map<string, string> {
  return new Map((t.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
}

/** Resolve an external-data location safely inside `baseDir`; throws UNSAFE_PATH otherwise. */
export function resolveInside(baseDir: string, location: string, where: string): string {
  if (location === '' || path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location)) {
    throw new OnnxTrainError('UNSAFE_PATH', `external data location "${location}" is absolute or empty`, 'external data must be a relative path inside the model folder', where);
  }
  const base = fs.realpathSync(baseDir);
  const full = path.resolve(base, location);
  const rel = path.relative(base, full);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new OnnxTrainError('UNSAFE_PATH', `external data location "${location}" escapes the model folder`, 'move the data file next to the model and fix the location', where);
  }
  let real: string;
  try {
    real = fs.realpathSync(full);
  } catch {
    throw new OnnxTrainError('IO', `external data file "${location}" does not exist`, 'copy the data file next to the model', where);
  }
  const realRel = path.relative(base, real);
  if (realRel.startsWith('..') || path.isAbsolute(realRel)) {
    throw new OnnxTrainError('UNSAFE_PATH', `external data location "${location}" is a link that leads outside the model folder`, 'replace the symlink by the file itself', where);
  }
  return real;
}

function* graphTensors(g: GraphProto | undefined): Generator<TensorProto> {
  if (!g) return;
  for (const t of g.initializer ?? []) yield t;
  for (const s of g.sparse_initializer ?? []) {
    if (s.values) yield s.values;
    if (s.indices) yield s.indices;
  }
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) {
      if (a.t) yield a.t;
      for (const t of a.tensors ?? []) yield t;
      if (a.g) yield* graphTensors(a.g);
      for (const sg of a.graphs ?? []) yield* graphTensors(sg);
    }
  }
}

/** All tensors of a model (initializers, constants, subgraphs, training info), for external-data handling. */
export function* modelTensors(m: ModelProto): Generator<TensorProto> {
  yield* graphTensors(m.graph);
  for (const ti of m.training_info ?? []) {
    yield* graphTensors(ti.initialization);
    yield* graphTensors(ti.algorithm);
  }
}

/** Moves external bytes into raw_data (in place), so that the model is self-contained in memory. */
export function loadExternalData(m: ModelProto, baseDir: string, where: string): void {
  const files = new Map<string, Buffer>();
  for (const t of modelTensors(m)) {
    if (t.data_location !== EXTERNAL) continue;
    const e = entries(t);
    const loc = e.get('location');
    if (loc === undefined) {
      throw new OnnxTrainError('BAD_MODEL', `tensor "${t.name}" is marked external but has no location`, 're-export the model', where);
    }
    const file = resolveInside(baseDir, loc, where);
    let buf = files.get(file);
    if (!buf) {
      buf = fs.readFileSync(file);
      files.set(file, buf);
    }
    const offset = Number(e.get('offset') ?? '0');
    const count = (t.dims ?? []).reduce<number>((a, d) => a * toNumber(d), 1);
    const expected = byteSize(t.data_type ?? 0, count);
    const length = e.has('length') ? Number(e.get('length')) : expected;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > buf.length) {
      throw new OnnxTrainError('BAD_MODEL', `tensor "${t.name}": external range offset ${e.get('offset')} length ${e.get('length')} is outside "${loc}" (${buf.length} bytes)`, 'the data file is truncated or does not belong to this model', where);
    }
    if (length !== expected) {
      throw new OnnxTrainError('BAD_MODEL', `tensor "${t.name}": external length ${length} does not match its shape (${expected} bytes)`, 're-export the model', where);
    }
    t.raw_data = new Uint8Array(buf.buffer, buf.byteOffset + offset, length);
    t.data_location = 0;
    t.external_data = [];
  }
}

export interface ExternalizeOptions {
  /**
   * Write tensors of at least this many bytes to a side file. Default: only when the model would pass the
   * 2 GB protobuf limit, in which case every tensor >= 1 KiB goes out.
   */
  externalDataThreshold?: number;
  /** Side-file name (relative, inside the model folder). Default `<model file name>.data`. */
  externalDataFile?: string;
}

const PROTOBUF_LIMIT = 2 ** 31 - 1;

function approxSize(m: ModelProto): number {
  let n = 0;
  for (const t of modelTensors(m)) n += t.raw_data?.length ?? 0;
  return n;
}

/**
 * Returns the model to encode: itself, or a shallow copy whose large tensors point into a freshly written
 * side file. The caller's model is not modified.
 */
export function externalizeLargeTensors(m: ModelProto, file: string, opts: ExternalizeOptions): ModelProto {
  let threshold = opts.externalDataThreshold;
  if (threshold === undefined) {
    if (approxSize(m) < PROTOBUF_LIMIT - (64 << 20)) return m;
    threshold = 1024;
  }
  const dataName = opts.externalDataFile ?? `${path.basename(file)}.data`;
  const dataPath = resolveTarget(path.dirname(path.resolve(file)), dataName, file);
  // Work on a structural copy of the tensors we change: swap in replacements, restore afterwards is brittle;
  // instead clone the affected TensorProto objects into a new model tree.
  const copy = structuredCloneModel(m);
  const fd = fs.openSync(`${dataPath}.tmp-${process.pid}`, 'w');
  let offset = 0;
  try {
    for (const t of modelTensors(copy)) {
      const raw = t.raw_data;
      if (!raw || raw.length < threshold) continue;
      const pad = (4096 - (offset % 4096)) % 4096;
      if (pad) { fs.writeSync(fd, new Uint8Array(pad)); offset += pad; }
      let w = 0;
      while (w < raw.length) w += fs.writeSync(fd, raw, w, raw.length - w);
      t.external_data = [
        { key: 'location', value: dataName },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(raw.length) },
      ];
      t.data_location = EXTERNAL;
      t.raw_data = undefined;
      offset += raw.length;
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${dataPath}.tmp-${process.pid}`, dataPath);
  return copy;
}

function resolveTarget(baseDir: string, name: string, where: string): string {
  if (path.isAbsolute(name) || path.relative(baseDir, path.resolve(baseDir, name)).startsWith('..')) {
    throw new OnnxTrainError('UNSAFE_PATH', `external data file "${name}" would be outside the model folder`, 'use a plain file name', where);
  }
  return path.resolve(baseDir, name);
}

/** Copy of the message tree sharing the byte payloads (cheap even for large models). */
function structuredCloneModel(m: ModelProto): ModelProto {
  return cloneTree(m) as ModelProto;
}

function cloneTree(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(cloneTree);
  if ((v as { constructor?: { name?: string } }).constructor?.name === 'Long') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = cloneTree((v as Record<string, unknown>)[k]);
  return out;
}
