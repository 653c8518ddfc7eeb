/**
 * The TensorProto data types: one table, keyed by the enum value, with the facts every layer needs.
 * `bits` is the storage width per element in raw_data (4 for int4/uint4/float4e2m1, packed two per byte).
 */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22,
  FLOAT4E2M1: 23, FLOAT8E8M0: 24,
} as const;
export type DataTypeValue = (typeof DataType)[keyof typeof DataType];

export interface DTypeInfo {
  readonly value: number;
  /** ONNX enum name, e.g. FLOAT. */
  readonly name: string;
  /** onnxruntime-common tensor type string where ORT JS supports it. */
  readonly ort?: 'float32' | 'float64' | 'float16' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool' | 'string' | 'int4' | 'uint4';
  /** safetensors dtype name where one exists. */
  readonly safetensors?: string;
  readonly bits: number;
}

const rows: DTypeInfo[] = [
  { value: 1, name: 'FLOAT', ort: 'float32', safetensors: 'F32', bits: 32 },
  { value: 2, name: 'UINT8', ort: 'uint8', safetensors: 'U8', bits: 8 },
  { value: 3, name: 'INT8', ort: 'int8', safetensors: 'I8', bits: 8 },
  { value: 4, name: 'UINT16', ort: 'uint16', safetensors: 'U16', bits: 16 },
  { value: 5, name: 'INT16', ort: 'int16', safetensors: 'I16', bits: 16 },
  { value: 6, name: 'INT32', ort: 'int32', safetensors: 'I32', bits: 32 },
  { value: 7, name: 'INT64', ort: 'int64', safetensors: 'I64', bits: 64 },
  { value: 8, name: 'STRING', ort: 'string', bits: 0 },
  { value: 9, name: 'BOOL', ort: 'bool', safetensors: 'BOOL', bits: 8 },
  { value: 10, name: 'FLOAT16', ort: 'float16', safetensors: 'F16', bits: 16 },
  { value: 11, name: 'DOUBLE', ort: 'float64', safetensors: 'F64', bits: 64 },
  { value: 12, name: 'UINT32', ort: 'uint32', safetensors: 'U32', bits: 32 },
  { value: 13, name: 'UINT64', ort: 'uint64', safetensors: 'U64', bits: 64 },
  { value: 14, name: 'COMPLEX64', bits: 64 },
  { value: 15, name: 'COMPLEX128', bits: 128 },
  { value: 16, name: 'BFLOAT16', safetensors: 'BF16', bits: 16 },
  { value: 17, name: 'FLOAT8E4M3FN', safetensors: 'F8_E4M3', bits: 8 },
  { value: 18, name: 'FLOAT8E4M3FNUZ', bits: 8 },
  { value: 19, name: 'FLOAT8E5M2', safetensors: 'F8_E5M2', bits: 8 },
  { value: 20, name: 'FLOAT8E5M2FNUZ', bits: 8 },
  { value: 21, name: 'UINT4', ort: 'uint4', bits: 4 },
  { value: 22, name: 'INT4', ort: 'int4', bits: 4 },
  { value: 23, name: 'FLOAT4E2M1', bits: 4 },
  { value: 24, name: 'FLOAT8E8M0', bits: 8 },
];

const byValue = new Map(rows.map((r) => [r.value, r]));
const byOrt = new Map(rows.filter((r) => r.ort).map((r) => [r.ort!, r]));

/** Facts about a data type; undefined for values the schema does not define. */
export function dtypeInfo(value: number): DTypeInfo | undefined {
  return byValue.get(value);
}

export function dtypeName(value: number): string {
  return byValue.get(value)?.name ?? `UNKNOWN(${value})`;
}

/** The ONNX enum value for an ORT JS tensor type string. */
export function dtypeFromOrt(type: string): number | undefined {
  return byOrt.get(type as never)?.value;
}

/** Bytes needed for `count` elements in raw_data (sub-byte types packed, rounded up). */
export function byteSize(value: number, count: number): number {
  const info = byValue.get(value);
  if (!info || info.bits === 0) throw new Error(`data type ${dtypeName(value)} has no fixed size`);
  return Math.ceil((info.bits * count) / 8);
}
