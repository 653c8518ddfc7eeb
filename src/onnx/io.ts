/**
 * Bytes <-> ModelProto. Every decode is preceded by a structural check (wire.ts) so that bad input becomes an
 * OnnxTrainError naming the file and the field, never a protobufjs exception, a hang or a huge allocation.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxTrainError } from '../errors.js';
import { onnxType } from './schema.js';
import { checkWire } from './wire.js';
import type { ModelProto, TensorProto } from './types.js';
import { loadExternalData, externalizeLargeTensors, type ExternalizeOptions } from './external-data.js';

const MODEL = 'ModelProto';

/** Decodes ModelProto bytes; `where` names the source in errors. */
export function decodeModel(bytes: Uint8Array, where = '<bytes>'): ModelProto {
  return decodeMessage<ModelProto>(bytes, MODEL, where);
}

/** Decodes any schema message (e.g. 'TensorProto') with the same checks as decodeModel. */
export function decodeMessage<T>(bytes: Uint8Array, typeName: string, where = '<bytes>'): T {
  if (bytes.length === 0) {
    throw new OnnxTrainError('BAD_MODEL', `the file is empty, not an ONNX ${typeName}`, 'check the path and that the file was written completely', where);
  }
  const type = onnxType(typeName);
  const problem = checkWire(bytes, type);
  if (problem) {
    throw new OnnxTrainError(
      'BAD_MODEL',
      `not a valid ONNX ${typeName}: ${problem.message} (at ${problem.path}, byte ${problem.offset} of ${bytes.length})`,
      'the file is truncated, corrupt or not an ONNX model; re-export it or copy it again',
      where,
    );
  }
  try {
    return type.decode(bytes) as unknown as T;
  } catch (e) {
    throw new OnnxTrainError('BAD_MODEL', `could not decode ONNX ${typeName}: ${(e as Error).message}`, 'the file is corrupt; re-export it', where);
  }
}

/** Encodes a ModelProto (or any schema message with `typeName`). */
export function encodeMessage(msg: object, typeName = MODEL): Uint8Array {
  const type = onnxType(typeName);
  return type.encode(type.fromObject(msg)).finish();
}

export function encodeModel(model: ModelProto): Uint8Array {
  return encodeMessage(model, MODEL);
}

export interface ReadModelOptions {
  /** Load tensors stored as external data into raw_data (default true). */
  loadExternal?: boolean;
}

/** Reads a .onnx file, loading external data relative to its folder (refusing paths that escape it). */
export function readModel(file: string, opts: ReadModelOptions = {}): ModelProto {
  let bytes: Uint8Array;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) {
      throw new OnnxTrainError('BAD_MODEL', 'is a folder, not an .onnx file', 'pass the path of a .onnx file', file);
    }
    bytes = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof OnnxTrainError) throw e;
    throw new OnnxTrainError('IO', `cannot read: ${(e as Error).message}`, 'check that the file exists and is readable', file);
  }
  const model = decodeModel(bytes, file);
  if (opts.loadExternal !== false) loadExternalData(model, path.dirname(path.resolve(file)), file);
  return model;
}

export interface WriteModelOptions extends ExternalizeOptions {}

/**
 * Writes a model atomically (temp file + rename). Models whose encoding would pass 2 GB (the protobuf limit),
 * or when `externalData` is set, get their large tensors written to a side file next to the model.
 */
export function writeModel(file: string, model: ModelProto, opts: WriteModelOptions = {}): void {
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const toWrite = externalizeLargeTensors(model, file, opts);
  let bytes: Uint8Array;
  try {
    bytes = encodeModel(toWrite);
  } catch (e) {
    throw new OnnxTrainError('BAD_MODEL', `cannot encode the model: ${(e as Error).message}`, 'this is a bug in the transform that produced the model', file);
  }
  atomicWrite(file, bytes);
}

/** Write bytes to `file` via a temp file in the same folder, fsync, rename. */
export function atomicWrite(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, Math.min(bytes.length - off, 1 << 30));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    throw new OnnxTrainError('IO', `cannot write: ${(e as Error).message}`, 'check free disk space and permissions', file);
  }
}

/** A deep copy through the codec (handy before mutating a model that others hold). */
export function cloneModel(model: ModelProto): ModelProto {
  return decodeModel(encodeModel(model));
}

export type { TensorProto };
