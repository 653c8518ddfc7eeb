/**
 * Element types of checkpoint tensors: the ONNX `TensorProto.DataType` enum (which ORT's flatbuffer
 * `TensorDataType` copies value for value), element sizes, and the safetensors dtype names. The enum and the
 * element widths come from the one table in `src/onnx/dtypes.ts`.
 */
import { DataType as OnnxDataType, dtypeInfo } from '../onnx/dtypes.js';

/** ONNX `TensorProto.DataType` values (identical in ORT's `ort.fbs` `TensorDataType`). */
export const DataType = OnnxDataType;

/** One of the {@link DataType} values. */
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

/** Bits per element; 0 = variable-size (STRING) or undefined. 4-bit types pack two elements per byte. */
const BITS: Readonly<Record<number, number>> = Object.fromEntries(
  Object.values(DataType).map((v) => [v, dtypeInfo(v)?.bits ?? 0]),
);

const NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(DataType).map(([k, v]) => [v, k]),
);

/** Readable name of a data type value (`FLOAT`, `INT64`, …; `DataType(99)` for unknown values). */
export function dataTypeName(dt: number): string {
  return NAMES[dt] ?? `DataType(${dt})`;
}

/** True for data types whose elements are fixed-size bytes (everything but UNDEFINED and STRING). */
export function isFixedSize(dt: number): boolean {
  return (BITS[dt] ?? 0) > 0;
}

/** True for any value of the ONNX enum this module knows (including STRING). */
export function isKnownDataType(dt: number): boolean {
  return dt === DataType.STRING || isFixedSize(dt);
}

/**
 * Number of elements of a tensor with `dims` (1 for a scalar, `[]`). Returns `undefined` when a dim is
 * negative, not an integer, or the product exceeds `Number.MAX_SAFE_INTEGER`.
 */
export function elementCount(dims: readonly number[]): number | undefined {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/**
 * Byte length of the raw little-endian data of a tensor: `ceil(elements * bits / 8)` (4-bit types pack two
 * elements per byte, low nibble first, like ONNX). `undefined` for STRING/unknown types or invalid dims.
 */
export function byteLength(dataType: number, dims: readonly number[]): number | undefined {
  const bits = BITS[dataType] ?? 0;
  const n = elementCount(dims);
  if (bits === 0 || n === undefined) return undefined;
  return bits >= 8 ? n * (bits / 8) : Math.ceil((n * bits) / 8);
}

/** Bits per element of a fixed-size type (0 for STRING / unknown). */
export function bitsPerElement(dataType: number): number {
  return BITS[dataType] ?? 0;
}

/**
 * safetensors dtype names (huggingface/safetensors `Dtype`) for the ONNX types that have one.
 * FLOAT8E4M3FN is safetensors' `F8_E4M3` (the finite-only "fn" variant both libraries mean).
 */
const SAFETENSORS_NAME: Readonly<Record<number, string>> = {
  [DataType.BOOL]: 'BOOL',
  [DataType.UINT8]: 'U8',
  [DataType.INT8]: 'I8',
  [DataType.UINT16]: 'U16',
  [DataType.INT16]: 'I16',
  [DataType.FLOAT16]: 'F16',
  [DataType.BFLOAT16]: 'BF16',
  [DataType.UINT32]: 'U32',
  [DataType.INT32]: 'I32',
  [DataType.FLOAT]: 'F32',
  [DataType.UINT64]: 'U64',
  [DataType.INT64]: 'I64',
  [DataType.DOUBLE]: 'F64',
  [DataType.COMPLEX64]: 'C64',
  [DataType.FLOAT8E4M3FN]: 'F8_E4M3',
  [DataType.FLOAT8E5M2]: 'F8_E5M2',
};

const FROM_SAFETENSORS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(SAFETENSORS_NAME).map(([k, v]) => [v, Number(k)]),
);

/** safetensors dtype name of an ONNX data type, or `undefined` when safetensors has none. */
export function toSafetensorsDtype(dt: number): string | undefined {
  return SAFETENSORS_NAME[dt];
}

/** ONNX data type of a safetensors dtype name, or `undefined` for names this module does not map. */
export function fromSafetensorsDtype(name: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(FROM_SAFETENSORS, name) ? FROM_SAFETENSORS[name] : undefined;
}
