/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), read into host tensors and written from them. No
 * dependency; the header is parsed, never evaluated.
 *
 * Layout (numpy `lib/format.py`, "NEP 1"):
 *   `\x93NUMPY`, major, minor, header length (u16 LE in v1, u32 LE in v2/v3), header, data.
 *   The header is a Python dict literal, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`,
 *   latin-1 in v1/v2 and UTF-8 in v3, padded with spaces and a newline.
 *
 * Supported dtypes: `f4` float32, `f8` float64, `i8` int64, `i4` int32, `u1` uint8, `b1` bool, in either byte
 * order (big-endian data is byte-swapped on read). C order only: a Fortran-order file is refused with the fix.
 * Every problem is an {@link NpyError} (an OnnxTrainError with code 'IO' and a machine-readable `reason`).
 */
import { OnnxTrainError } from '../../errors.js';
import type { HostTensor, TensorArray, TensorType } from '../engine.js';

/** Why an .npy file was refused. */
export type NpyProblem = 'magic' | 'version' | 'truncated' | 'header' | 'dtype' | 'fortran-order' | 'size';

/** A malformed or unsupported .npy file. */
export class NpyError extends OnnxTrainError {
  readonly reason: NpyProblem;
  constructor(reason: NpyProblem, what: string, fix: string | undefined, where: string | undefined) {
    super('IO', what, fix, where);
    this.name = 'NpyError';
    this.reason = reason;
  }
}

interface DtypeEntry {
  readonly type: TensorType;
  readonly size: number;
}

/** numpy kind+itemsize → host type. */
const DTYPES: Readonly<Record<string, DtypeEntry>> = {
  f4: { type: 'float32', size: 4 },
  f8: { type: 'float64', size: 8 },
  i8: { type: 'int64', size: 8 },
  i4: { type: 'int32', size: 4 },
  u1: { type: 'uint8', size: 1 },
  b1: { type: 'bool', size: 1 },
};

const DESCR_OF: Readonly<Record<string, string>> = {
  float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', bool: '|b1',
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** True when the bytes start with the .npy magic string. */
export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && MAGIC.every((b, i) => bytes[i] === b);
}

/** The parsed header of an .npy file. */
export interface NpyHeader {
  readonly version: readonly [number, number];
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Offset of the data section. */
  readonly dataOffset: number;
}

/**
 * Decodes an .npy file into a host tensor (`dims` = the array's shape; a 0-d array has dims []).
 * @throws NpyError for a bad magic string, an unknown version, a truncated file, a header that is not the dict
 *   numpy writes, an unsupported dtype, Fortran order, or a data section of the wrong size.
 */
export function decodeNpy(bytes: Uint8Array, where?: string): HostTensor {
  const h = readNpyHeader(bytes, where);
  const entry = dtypeOf(h.descr, where);
  if (h.fortranOrder && h.shape.filter((d) => d > 1).length > 1) {
    throw new NpyError('fortran-order', `the array is stored in Fortran (column-major) order, shape (${h.shape.join(', ')})`,
      'save it in C order: np.save(path, np.ascontiguousarray(a))', where);
  }
  const count = h.shape.reduce((a, d) => a * d, 1);
  const need = count * entry.size;
  const have = bytes.length - h.dataOffset;
  if (have < need) {
    throw new NpyError('truncated', `the data section has ${have} bytes, shape (${h.shape.join(', ')}) of ${h.descr} needs ${need}`, 'the file is truncated; write it again', where);
  }
  if (have > need) {
    throw new NpyError('size', `the data section has ${have} bytes, more than the ${need} that shape (${h.shape.join(', ')}) of ${h.descr} needs`, 'the file is damaged or holds more than one array; write it again with np.save', where);
  }
  const raw = bytes.slice(h.dataOffset, h.dataOffset + need);
  if (h.descr[0] === '>' && entry.size > 1) swapBytes(raw, entry.size);
  const data = view(entry.type, raw.buffer, count);
  if (entry.type === 'bool') {
    for (let i = 0; i < data.length; i++) if ((data as Uint8Array)[i] > 1) (data as Uint8Array)[i] = 1;
  }
  return { type: entry.type, dims: [...h.shape], data };
}

/** Reads and checks the header only. @throws NpyError */
export function readNpyHeader(bytes: Uint8Array, where?: string): NpyHeader {
  if (!isNpy(bytes)) {
    throw new NpyError('magic', 'not an .npy file (it does not start with "\\x93NUMPY")',
      'write the array with numpy.save (for .npz archives, extract the member first: np.load(f)["name"])', where);
  }
  if (bytes.length < 10) throw new NpyError('truncated', `the file is ${bytes.length} bytes, too short for an .npy preamble`, 'the file is truncated; write it again', where);
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3) {
    throw new NpyError('version', `.npy format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`, 'write the file with numpy.save', where);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new NpyError('truncated', 'the file ends inside the header length', 'the file is truncated; write it again', where);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = 8 + lenBytes;
  if (start + headerLen > bytes.length) {
    throw new NpyError('truncated', `the header claims ${headerLen} bytes but only ${bytes.length - start} follow`, 'the file is truncated; write it again', where);
  }
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const dict = parseHeaderDict(text, where);
  const descr = dict.descr;
  const fortran = dict.fortran_order;
  const shape = dict.shape;
  if (typeof descr !== 'string') {
    throw new NpyError('dtype', `the header's "descr" is ${describe(descr)}, not a simple dtype string (structured arrays are not supported)`, 'save a plain numeric array (no record/structured dtype)', where);
  }
  if (typeof fortran !== 'boolean') throw new NpyError('header', `the header's "fortran_order" is ${describe(fortran)}, not True/False`, 'write the file with numpy.save', where);
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw new NpyError('header', `the header's "shape" is ${describe(shape)}, not a tuple of non-negative integers`, 'write the file with numpy.save', where);
  }
  return { version: [major, minor], descr, fortranOrder: fortran, shape: shape as number[], dataOffset: start + headerLen };
}

function dtypeOf(descr: string, where?: string): DtypeEntry {
  const order = descr[0];
  const body = '<>|='.includes(order) ? descr.slice(1) : descr;
  const e = DTYPES[body];
  if (!e) {
    throw new NpyError('dtype', `dtype "${descr}" is not supported (supported: float32 f4, float64 f8, int64 i8, int32 i4, uint8 u1, bool b1)`,
      `convert it first, e.g. np.save(path, a.astype(np.float32))`, where);
  }
  return e;
}

function view(type: TensorType, buf: ArrayBufferLike, n: number): TensorArray {
  switch (type) {
    case 'float32': return new Float32Array(buf, 0, n);
    case 'float64': return new Float64Array(buf, 0, n);
    case 'int64': return new BigInt64Array(buf, 0, n);
    case 'int32': return new Int32Array(buf, 0, n);
    default: return new Uint8Array(buf, 0, n);
  }
}

function swapBytes(b: Uint8Array, size: number): void {
  for (let i = 0; i < b.length; i += size) {
    for (let a = i, z = i + size - 1; a < z; a++, z--) {
      const t = b[a];
      b[a] = b[z];
      b[z] = t;
    }
  }
}

function describe(v: unknown): string {
  return v === undefined ? 'missing' : JSON.stringify(v);
}

// --------------------------------------------------------------------------------------- header dict parser

type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue };

/**
 * Parses the subset of Python literals numpy writes in headers: dicts, tuples, lists, str ('…' or "…"), ints,
 * True/False/None. Anything else is a 'header' error.
 */
function parseHeaderDict(text: string, where?: string): Record<string, PyValue> {
  let i = 0;
  const fail = (what: string): never => {
    throw new NpyError('header', `cannot parse the header ${JSON.stringify(text.trim())}: ${what} at character ${i}`, 'write the file with numpy.save', where);
  };
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: Record<string, PyValue> = {};
      for (;;) {
        ws();
        if (text[i] === '}') { i++; return out; }
        const k = value();
        if (typeof k !== 'string') fail('a dict key that is not a string');
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        out[k as string] = value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return out; }
        fail('expected "," or "}"');
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const out: PyValue[] = [];
      for (;;) {
        ws();
        if (text[i] === close) { i++; return out; }
        out.push(value());
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === close) { i++; return out; }
        fail(`expected "," or "${close}"`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!m) return fail('unexpected token');
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0].replace('L', ''));
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('the header is not a dict');
  return v as Record<string, PyValue>;
}

// --------------------------------------------------------------------------------------- writer

/**
 * Encodes a host tensor as an .npy file (version 1.0, or 2.0 when the header needs it; C order, little-endian),
 * readable by `numpy.load`. Supported types: float32, float64, int64, int32, uint8, bool.
 */
export function encodeNpy(t: HostTensor): Uint8Array {
  const descr = DESCR_OF[t.type];
  if (!descr) throw new OnnxTrainError('BAD_ARGUMENT', `cannot write a ${t.type} tensor as .npy`, `use one of ${Object.keys(DESCR_OF).join(', ')}`);
  const count = t.dims.reduce((a, d) => a * d, 1);
  if (count !== t.data.length) throw new OnnxTrainError('BAD_ARGUMENT', `tensor has ${t.data.length} elements, its shape [${t.dims}] needs ${count}`);
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Preamble + header padded to a multiple of 64 bytes (numpy's alignment); v2 only when v1's u16 length overflows.
  const padded = (pre: number) => Math.ceil((pre + dict.length + 1) / 64) * 64;
  const v1 = padded(10) - 10 <= 0xffff;
  const pre = v1 ? 10 : 12;
  const total = padded(pre);
  dict = dict.padEnd(total - pre - 1, ' ') + '\n';
  const header = new TextEncoder().encode(dict);
  const d = t.data;
  const payload = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  const out = new Uint8Array(pre + header.length + payload.length);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (v1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(header, pre);
  out.set(payload, pre + header.length);
  return out;
}
