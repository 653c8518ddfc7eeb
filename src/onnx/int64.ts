/** Conversions for protobufjs int64 values (Long or number). */
import Long from 'long';
import type { Int64 } from './types.js';

/** As a JS number; exact below 2^53 (dims, small attributes). */
export function toNumber(v: Int64 | undefined): number {
  if (v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Exact value as bigint. */
export function toBigInt(v: Int64 | undefined): bigint {
  if (v === undefined) return 0n;
  return typeof v === 'number' ? BigInt(v) : BigInt(v.toString());
}

/** From bigint or number to the exact protobufjs representation. */
export function fromBigInt(v: bigint | number): Long {
  return typeof v === 'number' ? Long.fromNumber(v) : Long.fromString(v.toString());
}
