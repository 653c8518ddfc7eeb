/**
 * Checks shared by every checkpoint codec: is a tensor's data consistent with its type and shape, are names
 * unique. Each returns a reason string (or undefined when fine) so a reader can raise BAD_CHECKPOINT and a
 * writer BAD_ARGUMENT with the same wording.
 */
import { byteLength, dataTypeName, elementCount, isKnownDataType, DataType } from './dtype.js';
import type { CheckpointState, CheckpointTensor, PropertyValue } from './types.js';

/** Describes `dims` and `dataType` the way every error message shows them: `FLOAT[500,784]`. */
export function describeType(dataType: number, dims: readonly number[]): string {
  return `${dataTypeName(dataType)}[${dims.join(',')}]`;
}

/**
 * Why `t` is not a consistent tensor, or undefined. `allowEmpty` accepts a tensor without data (nominal
 * checkpoints).
 */
export function tensorProblem(t: CheckpointTensor, allowEmpty = false): string | undefined {
  if (typeof t.name !== 'string' || t.name.length === 0) return 'has no name';
  if (!isKnownDataType(t.dataType)) return `has unknown data type ${t.dataType}`;
  const n = elementCount(t.dims);
  if (n === undefined) return `has invalid dims [${t.dims.join(',')}] (each must be a non-negative integer)`;
  if (t.dataType === DataType.STRING) {
    const strings = t.strings ?? [];
    if (allowEmpty && strings.length === 0) return undefined;
    if (strings.length !== n) return `is a STRING[${t.dims.join(',')}] tensor with ${strings.length} strings, expected ${n}`;
    return undefined;
  }
  if (t.strings !== undefined) return `is ${dataTypeName(t.dataType)} but carries string data`;
  const expected = byteLength(t.dataType, t.dims)!;
  if (allowEmpty && t.data.length === 0) return undefined;
  if (t.data.length !== expected) {
    return `${describeType(t.dataType, t.dims)} needs ${expected} bytes of data, found ${t.data.length}`;
  }
  return undefined;
}

/** First name used twice among all parameters (trainable and frozen together), or undefined. */
export function duplicateParamName(state: Pick<CheckpointState, 'trainable' | 'frozen'>): string | undefined {
  const seen = new Set<string>();
  for (const t of [...state.trainable, ...state.frozen]) {
    if (seen.has(t.name)) return t.name;
    seen.add(t.name);
  }
  return undefined;
}

/** Sets an own enumerable property even for names like `__proto__`. */
export function setProperty(bag: Record<string, PropertyValue>, name: string, value: PropertyValue): void {
  Object.defineProperty(bag, name, { value, enumerable: true, writable: true, configurable: true });
}

/** True when `bag` already has an own property `name`. */
export function hasProperty(bag: Record<string, PropertyValue>, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(bag, name);
}

/** Why a property value cannot be stored (int64 range, non-number), or undefined. */
export function propertyProblem(name: string, value: unknown): string | undefined {
  if (typeof value === 'bigint') {
    if (value < -(1n << 63n) || value >= 1n << 63n) return `property "${name}" = ${value} does not fit int64`;
    return undefined;
  }
  if (typeof value === 'number' || typeof value === 'string') return undefined;
  return `property "${name}" has unsupported type ${typeof value} (use bigint for int64, number for float, string)`;
}
