/**
 * safetensors (huggingface/safetensors) codec for checkpoint states. Pure bytes; files go through `io.ts`.
 *
 * Layout: `u64 little-endian N`, `N bytes of UTF-8 JSON header`, data. The header maps each tensor name to
 * `{"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}` (offsets relative to the data section)
 * and may hold `"__metadata__"`, a string → string map.
 *
 * ## How a checkpoint state maps onto it (onnx-train convention, `onnx_train.version` = "1")
 *
 * - Parameters are stored under their own names, trainable first, then frozen, then optimizer state.
 * - `__metadata__["onnx_train.version"]` = `"1"`.
 * - `__metadata__["onnx_train.frozen"]` = JSON array of the frozen parameter names (absent when none). Every
 *   tensor that is neither frozen nor optimizer state is trainable, so a plain safetensors file from
 *   elsewhere (e.g. a torch `state_dict`) reads as "all trainable".
 * - Optimizer momentums are tensors named after torch's Adam state keys: ORT's `momentum0` → `<param>.exp_avg`,
 *   `momentum1` → `<param>.exp_avg_sq`, any other key `k` → `<param>.k`; for every group but the first the
 *   group name is inserted: `<param>.<group>.exp_avg`.
 *   `__metadata__["onnx_train.optimizer"]` = JSON
 *   `[{"name":"group0","step":"12","initial_learning_rate":"0.001",
 *      "params":[{"param":"fc1.weight","momentums":{"momentum0":"fc1.weight.exp_avg",…}}]}]`
 *   — the reader follows these explicit names, it never parses tensor names. `step` and the learning rate are
 *   decimal strings so int64 steps and every float64 (NaN, ±Infinity included) survive exactly.
 * - `__metadata__["onnx_train.properties"]` = JSON `[{"name":…,"type":"int"|"float"|"string","value":"…"}]`.
 *   Other, foreign metadata keys (e.g. `"format": "pt"`) are read as string properties.
 *
 * Validation on read (all OnnxTrainError 'BAD_CHECKPOINT'): header length past the end of the file or
 * over 100 MB, header not UTF-8 JSON object, unknown dtype, bad shape, offsets out of range, overlapping,
 * leaving holes or not covering the data section (the safetensors spec forbids all three), byte length
 * ≠ elements × dtype size, metadata that names missing tensors.
 */
import { OnnxTrainError } from '../errors.js';
import { byteLength, dataTypeName, fromSafetensorsDtype, toSafetensorsDtype } from './dtype.js';
import { describeType, duplicateParamName, hasProperty, propertyProblem, setProperty, tensorProblem } from './tensor-check.js';
import type { CheckpointState, CheckpointTensor, OptimizerGroup, PropertyValue } from './types.js';

/** Version of the onnx-train metadata convention written to `onnx_train.version`. */
export const SAFETENSORS_MAPPING_VERSION = 1;
/** The safetensors reference implementation's limit on header size. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

const META = {
  version: 'onnx_train.version',
  frozen: 'onnx_train.frozen',
  optimizer: 'onnx_train.optimizer',
  properties: 'onnx_train.properties',
} as const;

const FIX = 'the safetensors file is damaged or was not written by a safetensors writer; re-create it';

/** Tensor-name suffix for an ORT momentum key (see the module doc). */
export function momentumSuffix(key: string): string {
  return key === 'momentum0' ? 'exp_avg' : key === 'momentum1' ? 'exp_avg_sq' : key;
}

/** Name of the safetensors tensor holding momentum `key` of `param` in the group at `groupIndex`. */
export function momentumTensorName(param: string, key: string, groupName: string, groupIndex: number): string {
  return groupIndex === 0 ? `${param}.${momentumSuffix(key)}` : `${param}.${groupName}.${momentumSuffix(key)}`;
}

/** True when `bytes` look like safetensors: a plausible header length followed by `{`. */
export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getBigUint64(0, true);
  return n >= 2n && n <= BigInt(bytes.length - 8) && bytes[8] === 0x7b /* { */;
}

interface HeaderEntry {
  name: string;
  dataType: number;
  dims: number[];
  begin: number;
  end: number;
}

/** Decodes a safetensors file into a checkpoint state (see the module doc for the mapping and checks). */
export function decodeSafetensors(bytes: Uint8Array, where?: string): CheckpointState {
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string, fix = FIX): never => {
    throw new OnnxTrainError('BAD_CHECKPOINT', what, fix, where);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for a safetensors header length (8 bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) {
    fail(`header length ${n64} runs past the end of the file (${bytes.length - 8} bytes after the length): truncated or not safetensors`);
  }
  const n = Number(n64);
  if (n > SAFETENSORS_MAX_HEADER) fail(`header length ${n} exceeds the safetensors limit of ${SAFETENSORS_MAX_HEADER} bytes`);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const entries: HeaderEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__["${k}"] is not a string (safetensors metadata is string → string)`);
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    entries.push(parseEntry(name, raw, dataLen, fail));
  }

  // Offsets: sorted by begin they must tile [0, dataLen) exactly (no overlap, no hole, no tail).
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: HeaderEntry | undefined;
  for (const e of sorted) {
    if (e.begin < cursor) fail(`tensor "${e.name}" (bytes ${e.begin}..${e.end}) overlaps "${prev!.name}" (bytes ${prev!.begin}..${prev!.end})`);
    if (e.begin > cursor) fail(`data bytes ${cursor}..${e.begin} before tensor "${e.name}" belong to no tensor (holes are not allowed)`);
    cursor = e.end;
    prev = e;
  }
  if (cursor !== dataLen) fail(`data section has ${dataLen} bytes but the tensors cover ${cursor}`);

  const tensors = new Map<string, CheckpointTensor>();
  for (const e of sorted) {
    tensors.set(e.name, {
      name: e.name,
      dataType: e.dataType,
      dims: e.dims,
      data: bytes.slice(dataStart + e.begin, dataStart + e.end),
    });
  }
  return fromMetadata(sorted.map((e) => e.name), tensors, metadata, fail);
}

function parseEntry(name: string, raw: unknown, dataLen: number, fail: (what: string) => never): HeaderEntry {
  const label = `tensor "${name}"`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${label}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string') fail(`${label} has no dtype`);
  const dataType = fromSafetensorsDtype(dtype as string);
  if (dataType === undefined) fail(`${label} has dtype "${dtype}", which onnx-train does not support`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    fail(`${label} has invalid shape ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
  ) {
    fail(`${label} has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${label} has data_offsets [${begin}, ${end}] with begin after end`);
  if (end > dataLen) fail(`${label} has data_offsets [${begin}, ${end}] past the end of the data section (${dataLen} bytes): truncated or corrupt`);
  const dims = shape as number[];
  const expected = byteLength(dataType!, dims);
  if (expected === undefined) fail(`${label} has a shape whose element count is too large`);
  if (end - begin !== expected) {
    fail(`${label} is ${describeType(dataType!, dims)} (${expected} bytes) but data_offsets span ${end - begin} bytes`);
  }
  return { name, dataType: dataType!, dims: [...dims], begin, end };
}

function parseJson<T>(metadata: Record<string, string>, key: string, fail: (what: string) => never): T | undefined {
  if (!Object.prototype.hasOwnProperty.call(metadata, key)) return undefined;
  try {
    return JSON.parse(metadata[key]!) as T;
  } catch {
    fail(`__metadata__["${key}"] is not valid JSON`);
  }
}

function fromMetadata(
  order: string[],
  tensors: Map<string, CheckpointTensor>,
  metadata: Record<string, string>,
  fail: (what: string, fix?: string) => never,
): CheckpointState {
  const used = new Set<string>();
  const take = (name: unknown, what: string): CheckpointTensor => {
    if (typeof name !== 'string') fail(`${what} is not a tensor name`);
    const t = tensors.get(name as string);
    if (t === undefined) fail(`${what} names tensor "${name}", which the file does not contain`);
    if (used.has(name as string)) fail(`${what}: tensor "${name}" is claimed twice in __metadata__`);
    used.add(name as string);
    return t!;
  };

  const state: CheckpointState = { format: 'safetensors', trainable: [], frozen: [], properties: {} };
  const versionText = Object.prototype.hasOwnProperty.call(metadata, META.version) ? metadata[META.version] : undefined;
  if (versionText !== undefined) {
    const v = Number(versionText);
    if (!Number.isInteger(v) || v < 1) fail(`__metadata__["${META.version}"] = "${versionText}" is not a version number`);
    if (v > SAFETENSORS_MAPPING_VERSION) {
      fail(
        `written with onnx-train safetensors mapping version ${v}; this reader knows version ${SAFETENSORS_MAPPING_VERSION}`,
        'update onnx-train',
      );
    }
    state.version = v;
  }

  const frozen = parseJson<unknown>(metadata, META.frozen, fail);
  if (frozen !== undefined) {
    if (!Array.isArray(frozen)) fail(`__metadata__["${META.frozen}"] is not a JSON array`);
    const frozenSet = new Set<string>();
    (frozen as unknown[]).forEach((name, i) => {
      take(name, `${META.frozen}[${i}]`);
      frozenSet.add(name as string);
    });
    // Keep file order within the frozen list.
    for (const name of order) if (frozenSet.has(name)) state.frozen.push(tensors.get(name)!);
  }

  const opt = parseJson<unknown>(metadata, META.optimizer, fail);
  if (opt !== undefined) {
    if (!Array.isArray(opt)) fail(`__metadata__["${META.optimizer}"] is not a JSON array`);
    const groups: OptimizerGroup[] = [];
    (opt as unknown[]).forEach((g, gi) => {
      const ctx = `${META.optimizer}[${gi}]`;
      if (typeof g !== 'object' || g === null) fail(`${ctx} is not an object`);
      const { name, step, initial_learning_rate: lr, params } = g as Record<string, unknown>;
      if (typeof name !== 'string') fail(`${ctx}.name is not a string`);
      if (typeof step !== 'string' || !/^-?\d+$/.test(step)) fail(`${ctx}.step is not an integer string`);
      if (typeof lr !== 'string' || lr.trim() === '' || (Number.isNaN(Number(lr)) && lr !== 'NaN')) {
        fail(`${ctx}.initial_learning_rate is not a number string`);
      }
      if (!Array.isArray(params)) fail(`${ctx}.params is not an array`);
      const group: OptimizerGroup = { name: name as string, step: BigInt(step as string), initialLearningRate: Number(lr), params: [] };
      (params as unknown[]).forEach((p, pi) => {
        const pctx = `${ctx}.params[${pi}]`;
        if (typeof p !== 'object' || p === null) fail(`${pctx} is not an object`);
        const { param, momentums } = p as Record<string, unknown>;
        if (typeof param !== 'string') fail(`${pctx}.param is not a string`);
        if (typeof momentums !== 'object' || momentums === null || Array.isArray(momentums)) fail(`${pctx}.momentums is not an object`);
        const moms = Object.entries(momentums as Record<string, unknown>).map(([key, tensorName]) => {
          const t = take(tensorName, `${pctx}.momentums.${key}`);
          return { ...t, name: key };
        });
        group.params.push({ param: param as string, momentums: moms });
      });
      groups.push(group);
    });
    state.optimizer = { groups };
  }

  for (const name of order) if (!used.has(name)) state.trainable.push(tensors.get(name)!);

  const props = parseJson<unknown>(metadata, META.properties, fail);
  if (props !== undefined) {
    if (!Array.isArray(props)) fail(`__metadata__["${META.properties}"] is not a JSON array`);
    (props as unknown[]).forEach((p, i) => {
      const ctx = `${META.properties}[${i}]`;
      if (typeof p !== 'object' || p === null) fail(`${ctx} is not an object`);
      const { name, type, value } = p as Record<string, unknown>;
      if (typeof name !== 'string' || typeof value !== 'string') fail(`${ctx} needs string "name" and "value"`);
      if (hasProperty(state.properties, name as string)) fail(`${ctx}: property "${name}" appears twice`);
      let v: PropertyValue;
      if (type === 'int') {
        if (!/^-?\d+$/.test(value as string)) fail(`${ctx}: int property "${name}" has value "${value}"`);
        v = BigInt(value as string);
      } else if (type === 'float') {
        v = Number(value);
        if ((value as string).trim() === '' || (Number.isNaN(v) && value !== 'NaN')) fail(`${ctx}: float property "${name}" has value "${value}"`);
      } else if (type === 'string') {
        v = value as string;
      } else {
        fail(`${ctx}: property "${name}" has unknown type ${JSON.stringify(type)}`);
      }
      setProperty(state.properties, name as string, v!);
    });
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (k.startsWith('onnx_train.') || hasProperty(state.properties, k)) continue;
    setProperty(state.properties, k, v);
  }
  return state;
}

/**
 * Encodes a checkpoint state as safetensors (see the module doc for the naming). Throws
 * OnnxTrainError('BAD_ARGUMENT') for what safetensors cannot hold: STRING or 4-bit tensors, nominal states,
 * and name clashes between parameters and generated momentum names.
 */
export function encodeSafetensors(state: CheckpointState): Uint8Array {
  const bad = (what: string, fix?: string): never => {
    throw new OnnxTrainError('BAD_ARGUMENT', `cannot write safetensors: ${what}`, fix);
  };
  if (state.nominal) bad('a nominal checkpoint has no tensor data', 'load parameter values first, or write ODTC');
  const dup = duplicateParamName(state);
  if (dup !== undefined) bad(`parameter "${dup}" appears twice`);

  const ordered: CheckpointTensor[] = [...state.trainable, ...state.frozen];
  const names = new Set(ordered.map((t) => t.name));
  const metadata: [string, string][] = [[META.version, String(SAFETENSORS_MAPPING_VERSION)]];
  if (state.frozen.length > 0) metadata.push([META.frozen, JSON.stringify(state.frozen.map((t) => t.name))]);

  if (state.optimizer !== undefined) {
    const groupNames = new Set<string>();
    const groups = state.optimizer.groups.map((g, gi) => {
      if (groupNames.has(g.name)) bad(`optimizer group "${g.name}" appears twice`);
      groupNames.add(g.name);
      const seen = new Set<string>();
      return {
        name: g.name,
        step: g.step.toString(),
        initial_learning_rate: String(g.initialLearningRate),
        params: g.params.map((p) => {
          if (seen.has(p.param)) bad(`parameter "${p.param}" has two optimizer states in group "${g.name}"`);
          seen.add(p.param);
          const momentums: Record<string, string> = {};
          for (const m of p.momentums) {
            if (Object.prototype.hasOwnProperty.call(momentums, m.name)) bad(`momentum "${m.name}" of "${p.param}" appears twice`);
            const tensorName = momentumTensorName(p.param, m.name, g.name, gi);
            if (names.has(tensorName)) {
              bad(`momentum "${m.name}" of "${p.param}" would be stored as "${tensorName}", a name already in use`, 'rename the parameter or write ODTC');
            }
            names.add(tensorName);
            Object.defineProperty(momentums, m.name, { value: tensorName, enumerable: true, writable: true, configurable: true });
            ordered.push({ ...m, name: tensorName });
          }
          return { param: p.param, momentums };
        }),
      };
    });
    metadata.push([META.optimizer, JSON.stringify(groups)]);
  }

  const props = Object.entries(state.properties);
  if (props.length > 0) {
    const list = props.map(([name, v]) => {
      const problem = propertyProblem(name, v);
      if (problem !== undefined) bad(problem);
      const type = typeof v === 'bigint' ? 'int' : typeof v === 'number' ? 'float' : 'string';
      return { name, type, value: String(v) };
    });
    metadata.push([META.properties, JSON.stringify(list)]);
  }

  // Header: written by hand so names like "__proto__" are ordinary keys.
  const parts: string[] = [`"__metadata__":{${metadata.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`];
  let offset = 0;
  for (const t of ordered) {
    const problem = tensorProblem(t);
    if (problem !== undefined) bad(`tensor "${t.name}" ${problem}`);
    const dtype = toSafetensorsDtype(t.dataType);
    if (dtype === undefined) bad(`tensor "${t.name}" has type ${dataTypeName(t.dataType)}, which safetensors cannot store`, 'write ODTC instead');
    parts.push(`${JSON.stringify(t.name)}:${JSON.stringify({ dtype, shape: t.dims, data_offsets: [offset, offset + t.data.length] })}`);
    offset += t.data.length;
  }
  let header = new TextEncoder().encode(`{${parts.join(',')}}`);
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  const padded = Math.ceil(header.length / 8) * 8;
  if (padded !== header.length) {
    const h = new Uint8Array(padded).fill(0x20);
    h.set(header);
    header = h;
  }
  const out = new Uint8Array(8 + header.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let p = 8 + header.length;
  for (const t of ordered) {
    out.set(t.data, p);
    p += t.data.length;
  }
  return out;
}
