/**
 * The byte format of ORT's legacy directory checkpoints (`*.pbseq`): a protobuf message sequence
 * (orttraining/core/framework/protobuf_message_sequence.h)
 *
 * ```
 * [number of messages: varint32]  then per message  [byte length: varint32] [serialized onnx.TensorProto]
 * ```
 *
 * with a minimal, self-contained TensorProto codec covering the fields checkpoints use (so this layer does not
 * depend on `src/onnx/`): dims=1, data_type=2, float_data=4, int32_data=5, string_data=6, int64_data=7,
 * name=8, raw_data=9, double_data=10, uint64_data=11; doc_string=12 and segment=3 are skipped, and
 * external data (data_location=14 EXTERNAL) is refused. Typed repeated fields are accepted packed and unpacked.
 */
import { OnnxTrainError } from '../errors.js';
import { bitsPerElement, byteLength, DataType, dataTypeName, elementCount } from './dtype.js';
import { tensorProblem } from './tensor-check.js';
import type { CheckpointTensor } from './types.js';

const FIX = 'the legacy checkpoint file is damaged; re-create it, or convert it again from its source';

/** Wire types of the protobuf encoding. */
const WT = { VARINT: 0, I64: 1, LEN: 2, I32: 5 } as const;

/** Bounds-checked protobuf reader over a byte range. Every failure is BAD_CHECKPOINT. */
class Reader {
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly where: string | undefined,
    readonly ctx: string,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  fail(what: string): never {
    throw new OnnxTrainError('BAD_CHECKPOINT', `${this.ctx}: ${what}`, FIX, this.where);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Unsigned varint as bigint (up to 10 bytes / 64 bits). */
  varintBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`varint runs past the end of the data at byte ${this.pos}: truncated`);
      const b = this.bytes[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    this.fail(`varint longer than 10 bytes at byte ${this.pos}: corrupt`);
  }

  /** Unsigned varint that must fit a JS safe integer (lengths, counts, tags). */
  varint(): number {
    // Fast path: up to 4 bytes (28 bits) without bigint.
    let result = 0;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.end) this.fail(`varint runs past the end of the data at byte ${this.pos}: truncated`);
      const b = this.bytes[this.pos++]!;
      result |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return result >>> 0;
    }
    this.pos -= 4;
    const big = this.varintBig();
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`value ${big} is too large`);
    return Number(big);
  }

  /** Length-delimited payload: returns [start, end) and advances past it. */
  lengthDelimited(what: string): [number, number] {
    const len = this.varint();
    if (len > this.end - this.pos) {
      this.fail(`${what} claims ${len} bytes but only ${this.end - this.pos} remain: truncated or corrupt`);
    }
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  fixed(n: number, what: string): number {
    if (n > this.end - this.pos) this.fail(`${what} runs past the end of the data: truncated`);
    const start = this.pos;
    this.pos += n;
    return start;
  }

  skip(wireType: number, field: number): void {
    switch (wireType) {
      case WT.VARINT:
        this.varintBig();
        return;
      case WT.I64:
        this.fixed(8, `field ${field}`);
        return;
      case WT.LEN:
        this.lengthDelimited(`field ${field}`);
        return;
      case WT.I32:
        this.fixed(4, `field ${field}`);
        return;
      default:
        this.fail(`field ${field} has unsupported wire type ${wireType}: corrupt`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8enc = new TextEncoder();

function decodeString(r: Reader, start: number, end: number, what: string): string {
  try {
    return utf8.decode(r.bytes.subarray(start, end));
  } catch {
    r.fail(`${what} is not valid UTF-8`);
  }
}

/** Typed elements collected from the repeated numeric fields, before conversion to raw bytes. */
interface TypedFields {
  float: number[];
  double: number[];
  int32: bigint[];
  int64: bigint[];
  uint64: bigint[];
}

/** Reads a repeated numeric field occurrence (packed LEN or a single unpacked value). */
function readRepeated(r: Reader, wireType: number, field: number, kind: 'varint' | 'f32' | 'f64', out: (v: bigint | number) => void): void {
  const dv = new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
  const one = (rr: Reader): void => {
    if (kind === 'varint') out(rr.varintBig());
    else if (kind === 'f32') out(dv.getFloat32(rr.fixed(4, `field ${field}`), true));
    else out(dv.getFloat64(rr.fixed(8, `field ${field}`), true));
  };
  const expected = kind === 'varint' ? WT.VARINT : kind === 'f32' ? WT.I32 : WT.I64;
  if (wireType === WT.LEN) {
    const [start, end] = r.lengthDelimited(`packed field ${field}`);
    const sub = new Reader(r.bytes, r.where, r.ctx, start, end);
    while (!sub.done()) one(sub);
  } else if (wireType === expected) {
    one(r);
  } else {
    r.fail(`field ${field} has wire type ${wireType}, expected ${expected} or packed`);
  }
}

/**
 * Decodes one serialized TensorProto (the bytes `[start, end)` of `bytes`) into a CheckpointTensor with raw
 * little-endian data. Typed fields (`float_data`, `int32_data`, …) are converted to raw bytes following the
 * ONNX rules (int32_data carries INT8/UINT8/INT16/UINT16/BOOL/FLOAT16/BFLOAT16/FLOAT8 (all four)/INT4/UINT4 values; for
 * 16-bit floats it holds the bit pattern). Validates data length against dims and type.
 */
export function decodeTensorProto(bytes: Uint8Array, start = 0, end = bytes.length, where?: string, ctx = 'TensorProto'): CheckpointTensor {
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(bytes, where, ctx, start, end);
  let name: string | undefined;
  let dataType = 0;
  const dims: bigint[] = [];
  let raw: Uint8Array | undefined;
  const strings: string[] = [];
  let external = false;
  const typed: TypedFields = { float: [], double: [], int32: [], int64: [], uint64: [] };

  while (!r.done()) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    switch (field) {
      case 1:
        readRepeated(r, wt, 1, 'varint', (v) => dims.push(BigInt.asIntN(64, v as bigint)));
        break;
      case 2:
        if (wt !== WT.VARINT) r.fail('data_type has the wrong wire type');
        dataType = Number(BigInt.asIntN(32, r.varintBig()));
        break;
      case 4:
        readRepeated(r, wt, 4, 'f32', (v) => typed.float.push(v as number));
        break;
      case 5:
        readRepeated(r, wt, 5, 'varint', (v) => typed.int32.push(BigInt.asIntN(32, v as bigint)));
        break;
      case 6: {
        if (wt !== WT.LEN) r.fail('string_data has the wrong wire type');
        const [s, e] = r.lengthDelimited('string_data');
        strings.push(decodeString(r, s, e, 'string_data'));
        break;
      }
      case 7:
        readRepeated(r, wt, 7, 'varint', (v) => typed.int64.push(BigInt.asIntN(64, v as bigint)));
        break;
      case 8: {
        if (wt !== WT.LEN) r.fail('name has the wrong wire type');
        const [s, e] = r.lengthDelimited('name');
        name = decodeString(r, s, e, 'name');
        break;
      }
      case 9: {
        if (wt !== WT.LEN) r.fail('raw_data has the wrong wire type');
        const [s, e] = r.lengthDelimited('raw_data');
        raw = bytes.slice(s, e);
        break;
      }
      case 10:
        readRepeated(r, wt, 10, 'f64', (v) => typed.double.push(v as number));
        break;
      case 11:
        readRepeated(r, wt, 11, 'varint', (v) => typed.uint64.push(v as bigint));
        break;
      case 14:
        if (wt !== WT.VARINT) r.fail('data_location has the wrong wire type');
        external = r.varintBig() === 1n;
        break;
      default:
        if (field === 0) r.fail('field number 0: corrupt');
        r.skip(wt, field);
    }
  }

  const label = name === undefined ? ctx : `${ctx} ("${name}")`;
  const fail = (what: string): never => {
    throw new OnnxTrainError('BAD_CHECKPOINT', `${label} ${what}`, FIX, where);
  };
  if (name === undefined || name.length === 0) fail('has no name');
  if (external) fail('stores its data externally (data_location=EXTERNAL), which legacy checkpoints never do');
  const numDims: number[] = [];
  for (const d of dims) {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) fail(`has invalid dim ${d}`);
    numDims.push(Number(d));
  }
  const t: CheckpointTensor = { name: name!, dataType, dims: numDims, data: new Uint8Array(0) };
  if (dataType === DataType.STRING) {
    t.strings = strings;
  } else if (raw !== undefined) {
    t.data = raw;
  } else {
    t.data = typedToRaw(dataType, numDims, typed, fail);
  }
  const problem = tensorProblem(t);
  if (problem !== undefined) fail(problem);
  return t;
}

function typedToRaw(dataType: number, dims: number[], typed: TypedFields, fail: (what: string) => never): Uint8Array {
  const n = elementCount(dims);
  const len = byteLength(dataType, dims);
  if (n === undefined || len === undefined) fail(`has unsupported data type ${dataTypeName(dataType)} or invalid dims`);
  const out = new Uint8Array(len!);
  const dv = new DataView(out.buffer);
  const count = (got: number, expected: number, field: string): void => {
    if (got !== expected) fail(`${dataTypeName(dataType)}[${dims.join(',')}] has ${got} values in ${field}, expected ${expected}`);
  };
  const bits = bitsPerElement(dataType);
  switch (dataType) {
    case DataType.FLOAT:
      count(typed.float.length, n!, 'float_data');
      typed.float.forEach((v, i) => dv.setFloat32(i * 4, v, true));
      break;
    case DataType.COMPLEX64:
      count(typed.float.length, 2 * n!, 'float_data');
      typed.float.forEach((v, i) => dv.setFloat32(i * 4, v, true));
      break;
    case DataType.DOUBLE:
      count(typed.double.length, n!, 'double_data');
      typed.double.forEach((v, i) => dv.setFloat64(i * 8, v, true));
      break;
    case DataType.COMPLEX128:
      count(typed.double.length, 2 * n!, 'double_data');
      typed.double.forEach((v, i) => dv.setFloat64(i * 8, v, true));
      break;
    case DataType.INT64:
      count(typed.int64.length, n!, 'int64_data');
      typed.int64.forEach((v, i) => dv.setBigInt64(i * 8, v, true));
      break;
    case DataType.UINT32:
    case DataType.UINT64:
      count(typed.uint64.length, n!, 'uint64_data');
      typed.uint64.forEach((v, i) =>
        dataType === DataType.UINT32 ? dv.setUint32(i * 4, Number(BigInt.asUintN(32, v)), true) : dv.setBigUint64(i * 8, v, true),
      );
      break;
    default:
      if (bits === 4) {
        // INT4/UINT4/FLOAT4: one int32_data entry per byte, two elements packed low nibble first.
        count(typed.int32.length, len!, 'int32_data');
        typed.int32.forEach((v, i) => dv.setUint8(i, Number(BigInt.asUintN(8, v))));
      } else if (bits === 8 || bits === 16 || bits === 32) {
        // INT8/UINT8/BOOL/FLOAT8*, INT16/UINT16/FLOAT16/BFLOAT16 (bit patterns), INT32.
        count(typed.int32.length, n!, 'int32_data');
        const size = bits / 8;
        typed.int32.forEach((v, i) => {
          const u = Number(BigInt.asUintN(bits, v));
          if (size === 1) dv.setUint8(i, u);
          else if (size === 2) dv.setUint16(i * 2, u, true);
          else dv.setUint32(i * 4, u, true);
        });
      } else {
        fail(`has data type ${dataTypeName(dataType)} but no raw_data`);
      }
  }
  return out;
}

/** Growable byte sink for the encoder. */
class Writer {
  private buf = new Uint8Array(256);
  len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  tag(field: number, wt: number): void {
    this.varint(field * 8 + wt);
  }

  lengthDelimited(field: number, b: Uint8Array): void {
    this.tag(field, WT.LEN);
    this.varint(b.length);
    this.bytes(b);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Property-style scalar encodings (what ONNX's `ToTensor(value)` writes for ORT checkpoint properties). */
export type TensorProtoEncoding = 'raw' | 'typed';

/**
 * Serializes a tensor as an onnx.TensorProto (fields in ascending number, dims unpacked, as protobuf C++ does:
 * dims, data_type, name, raw_data).
 * STRING tensors use `string_data`. With `encoding: 'typed'`, FLOAT/INT64/DOUBLE data goes to
 * `float_data`/`int64_data`/`double_data` (packed) instead of `raw_data`, as ORT writes its scalar properties.
 */
export function encodeTensorProto(t: CheckpointTensor, encoding: TensorProtoEncoding = 'raw'): Uint8Array {
  const problem = tensorProblem(t);
  if (problem !== undefined) {
    throw new OnnxTrainError('BAD_ARGUMENT', `cannot encode tensor "${t.name}": ${problem}`);
  }
  const w = new Writer();
  // onnx.proto is proto2 and declares dims without [packed=true]: write them unpacked as ORT does.
  for (const d of t.dims) {
    w.tag(1, WT.VARINT);
    w.varint(d);
  }
  w.tag(2, WT.VARINT);
  w.varint(t.dataType);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const typed = encoding === 'typed' && (t.dataType === DataType.FLOAT || t.dataType === DataType.INT64 || t.dataType === DataType.DOUBLE);
  if (typed && t.dataType === DataType.FLOAT && t.data.length > 0) w.lengthDelimited(4, t.data);
  if (t.dataType === DataType.STRING) for (const s of t.strings ?? []) w.lengthDelimited(6, utf8enc.encode(s));
  if (typed && t.dataType === DataType.INT64 && t.data.length > 0) {
    const packed = new Writer();
    for (let i = 0; i < t.data.length; i += 8) packed.varint(dv.getBigInt64(i, true));
    w.lengthDelimited(7, packed.result());
  }
  w.lengthDelimited(8, utf8enc.encode(t.name));
  if (!typed && t.dataType !== DataType.STRING) w.lengthDelimited(9, t.data);
  if (typed && t.dataType === DataType.DOUBLE && t.data.length > 0) w.lengthDelimited(10, t.data);
  return w.result();
}

/**
 * Decodes a whole `.pbseq` file: `varint count`, then `count × (varint length, TensorProto)`. Refuses counts
 * that cannot fit, truncated messages and trailing bytes (BAD_CHECKPOINT, naming `where`).
 */
export function decodePbseq(bytes: Uint8Array, where?: string): CheckpointTensor[] {
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new Reader(bytes, where, 'message sequence');
  if (bytes.length === 0) r.fail('file is empty (a sequence starts with its message count)');
  const count = r.varint();
  if (count > bytes.length - r.pos) r.fail(`claims ${count} messages in ${bytes.length - r.pos} bytes: truncated or corrupt`);
  const out: CheckpointTensor[] = [];
  for (let i = 0; i < count; i++) {
    const [s, e] = r.lengthDelimited(`message ${i}`);
    out.push(decodeTensorProto(bytes, s, e, where, `message ${i}`));
  }
  if (!r.done()) r.fail(`${r.end - r.pos} unexpected bytes after the last of ${count} messages`);
  return out;
}

/** Encodes tensors as a `.pbseq` message sequence (see {@link decodePbseq}). */
export function encodePbseq(tensors: readonly CheckpointTensor[], encoding: TensorProtoEncoding = 'raw'): Uint8Array {
  const w = new Writer();
  w.varint(tensors.length);
  for (const t of tensors) {
    const m = encodeTensorProto(t, encoding);
    w.varint(m.length);
    w.bytes(m);
  }
  return w.result();
}
