/**
 * TensorProto <-> typed arrays. Reads every storage form (raw_data little-endian, float_data, int32_data for
 * 8/16-bit and bool and float16, int64_data, double_data, uint64_data) and writes raw_data.
 */
import Long from 'long';
import { OnnxTrainError } from '../errors.js';
import { DataType, byteSize, dtypeName } from './dtypes.js';
import { toBigInt, toNumber } from './int64.js';
import type { TensorProto } from './types.js';

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map(toNumber);
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, d) => a * d, 1);
}

function view<T>(ctor: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }, raw: Uint8Array, n: number): T {
  // raw_data may be unaligned inside the file buffer: copy when needed.
  if (raw.byteOffset % ctor.BYTES_PER_ELEMENT === 0) return new ctor(raw.buffer as ArrayBuffer, raw.byteOffset, n);
  // Uint8Array.from makes a real copy (Buffer#slice would return a view into the pooled buffer).
  const copy = new Uint8Array(n * ctor.BYTES_PER_ELEMENT);
  copy.set(raw.subarray(0, n * ctor.BYTES_PER_ELEMENT));
  return new ctor(copy.buffer, 0, n);
}

/**
 * The tensor's elements as a typed array (float16/bfloat16 as raw Uint16Array; bool and 8-bit as Uint8Array or
 * Int8Array; int4/float8 as raw bytes). Shares memory with raw_data when aligned.
 */
export function tensorToArray(t: TensorProto, where = `tensor "${t.name ?? ''}"`): TypedArray {
  const dt = t.data_type ?? 0;
  const n = elementCount(tensorDims(t));
  if (t.data_location === 1) {
    throw new OnnxTrainError('BAD_MODEL', 'tensor data is still external (not loaded)', 'read the model with readModel() so external data is loaded', where);
  }
  const raw = t.raw_data && t.raw_data.length > 0 ? t.raw_data : undefined;
  if (raw) {
    const need = byteSize(dt, n);
    if (raw.length !== need) {
      throw new OnnxTrainError('BAD_MODEL', `raw_data has ${raw.length} bytes but ${dtypeName(dt)}${JSON.stringify(tensorDims(t))} needs ${need}`, 're-export the model', where);
    }
    switch (dt) {
      case DataType.FLOAT: return view(Float32Array, raw, n);
      case DataType.DOUBLE: return view(Float64Array, raw, n);
      case DataType.INT32: return view(Int32Array, raw, n);
      case DataType.UINT32: return view(Uint32Array, raw, n);
      case DataType.INT64: return view(BigInt64Array, raw, n);
      case DataType.UINT64: return view(BigUint64Array, raw, n);
      case DataType.INT16: return view(Int16Array, raw, n);
      case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16: return view(Uint16Array, raw, n);
      case DataType.INT8: return view(Int8Array, raw, n);
      default: return raw;
    }
  }
  const check = (len: number) => {
    if (len !== n) throw new OnnxTrainError('BAD_MODEL', `has ${len} elements but its shape ${JSON.stringify(tensorDims(t))} needs ${n}`, 're-export the model', where);
  };
  switch (dt) {
    case DataType.FLOAT: check(t.float_data?.length ?? 0); return Float32Array.from(t.float_data ?? []);
    case DataType.DOUBLE: check(t.double_data?.length ?? 0); return Float64Array.from(t.double_data ?? []);
    case DataType.INT64: check(t.int64_data?.length ?? 0); return BigInt64Array.from((t.int64_data ?? []).map(toBigInt));
    case DataType.UINT64: check(t.uint64_data?.length ?? 0); return BigUint64Array.from((t.uint64_data ?? []).map((v) => BigInt.asUintN(64, toBigInt(v))));
    case DataType.INT32: check(t.int32_data?.length ?? 0); return Int32Array.from(t.int32_data ?? []);
    case DataType.UINT32: check(t.uint64_data?.length ?? 0); return Uint32Array.from((t.uint64_data ?? []).map(toNumber));
    case DataType.INT16: check(t.int32_data?.length ?? 0); return Int16Array.from(t.int32_data ?? []);
    case DataType.UINT16: case DataType.FLOAT16: case DataType.BFLOAT16: check(t.int32_data?.length ?? 0); return Uint16Array.from(t.int32_data ?? []);
    case DataType.INT8: check(t.int32_data?.length ?? 0); return Int8Array.from(t.int32_data ?? []);
    case DataType.UINT8: case DataType.BOOL: check(t.int32_data?.length ?? 0); return Uint8Array.from(t.int32_data ?? []);
    default:
      if (n === 0) return new Uint8Array(0);
      throw new OnnxTrainError('BAD_MODEL', `cannot read ${dtypeName(dt)} data stored outside raw_data`, 'store the tensor in raw_data', where);
  }
}

/** Builds a TensorProto with raw_data (little-endian, the platform order on every target we run on). */
export function makeTensor(name: string, dataType: number, dims: readonly number[], data: TypedArray | readonly number[] | readonly bigint[]): TensorProto {
  const n = elementCount(dims);
  let arr: TypedArray;
  if (ArrayBuffer.isView(data)) {
    arr = data as TypedArray;
  } else {
    const d = data as readonly (number | bigint)[];
    switch (dataType) {
      case DataType.FLOAT: arr = Float32Array.from(d as number[]); break;
      case DataType.DOUBLE: arr = Float64Array.from(d as number[]); break;
      case DataType.INT64: arr = BigInt64Array.from(d.map((x) => BigInt(x))); break;
      case DataType.INT32: arr = Int32Array.from(d as number[]); break;
      case DataType.BOOL: case DataType.UINT8: arr = Uint8Array.from(d.map((x) => Number(x))); break;
      case DataType.INT8: arr = Int8Array.from(d as number[]); break;
      default: throw new OnnxTrainError('BAD_ARGUMENT', `makeTensor cannot convert a JS array to ${dtypeName(dataType)}`, 'pass a typed array of raw values');
    }
  }
  if (arr.length !== n && !(dataType === DataType.INT4 || dataType === DataType.UINT4)) {
    throw new OnnxTrainError('SHAPE_MISMATCH', `tensor "${name}": ${arr.length} values for shape ${JSON.stringify(dims)} (${n} elements)`, 'pass one value per element');
  }
  const raw = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  return { name, data_type: dataType, dims: dims.map((d) => Long.fromNumber(d)), raw_data: raw };
}
