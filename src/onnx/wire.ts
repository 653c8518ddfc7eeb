/**
 * A structural check of protobuf bytes against the ONNX schema, run before protobufjs decodes anything.
 *
 * protobufjs silently skips fields it does not know and throws bare RangeErrors on truncated input; neither is
 * acceptable for a tool that rewrites models. This walker visits every field once (O(bytes), no allocation of
 * payloads) and refuses: unknown field numbers (they would be dropped on re-encode), wire types that do not
 * match the schema, lengths past the end of the enclosing message, groups, invalid UTF-8 in string fields and
 * nesting deeper than `maxDepth`.
 */
import type protobuf from 'protobufjs';

export interface WireProblem {
  /** Field path from the root, e.g. `ModelProto.graph.node[3].attribute[0]`. */
  readonly path: string;
  /** Byte offset in the buffer. */
  readonly offset: number;
  readonly message: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool']);
const FIXED64_TYPES = new Set(['double', 'fixed64', 'sfixed64']);
const FIXED32_TYPES = new Set(['float', 'fixed32', 'sfixed32']);

class Problem extends Error {
  constructor(readonly problem: WireProblem) {
    super(problem.message);
  }
}

/**
 * Returns undefined when `bytes` is a well-formed encoding of `type` that this schema represents fully,
 * else the first problem found.
 */
export function checkWire(bytes: Uint8Array, type: protobuf.Type, maxDepth = 64): WireProblem | undefined {
  try {
    walk(bytes, 0, bytes.length, type, type.name, 0, maxDepth);
    return undefined;
  } catch (e) {
    if (e instanceof Problem) return e.problem;
    throw e;
  }
}

function readVarint(b: Uint8Array, pos: number, end: number, path: string): [number, number] {
  // Returns [low 53 bits as a number (lengths/tags only need that), next position].
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Problem({ path, offset: pos, message: 'truncated varint (the data ends mid-number)' });
    const byte = b[pos++];
    if (i < 8) result += (byte & 0x7f) * mul;
    mul *= 128;
    if ((byte & 0x80) === 0) return [result, pos];
  }
  throw new Problem({ path, offset: pos, message: 'malformed varint (more than 10 bytes)' });
}

function walk(b: Uint8Array, start: number, end: number, type: protobuf.Type, path: string, depth: number, maxDepth: number): void {
  if (depth > maxDepth) {
    throw new Problem({ path, offset: start, message: `messages nested deeper than ${maxDepth} levels` });
  }
  const counts = new Map<number, number>();
  let pos = start;
  while (pos < end) {
    const tagStart = pos;
    let tag: number;
    [tag, pos] = readVarint(b, pos, end, path);
    const fieldNo = Math.floor(tag / 8);
    const wire = tag & 7;
    if (fieldNo === 0) throw new Problem({ path, offset: tagStart, message: 'field number 0 (not a protobuf message)' });
    const field = type.fieldsById[fieldNo];
    const idx = counts.get(fieldNo) ?? 0;
    counts.set(fieldNo, idx + 1);
    const fpath = field ? `${path}.${field.name}${field.repeated ? `[${idx}]` : ''}` : `${path}.<field ${fieldNo}>`;
    if (wire === 3 || wire === 4 || wire === 6 || wire === 7) {
      throw new Problem({ path: fpath, offset: tagStart, message: `wire type ${wire} is not used by ONNX (corrupt data)` });
    }
    let len = 0;
    let payload = pos;
    if (wire === 0) {
      [, pos] = readVarint(b, pos, end, fpath);
    } else if (wire === 1) {
      pos += 8;
    } else if (wire === 5) {
      pos += 4;
    } else {
      [len, payload] = readVarint(b, pos, end, fpath);
      pos = payload + len;
    }
    if (pos > end) {
      throw new Problem({
        path: fpath,
        offset: tagStart,
        message: `declares ${wire === 2 ? len : pos - payload} bytes but only ${Math.max(0, end - payload)} remain`,
      });
    }
    if (!field) {
      throw new Problem({
        path: fpath,
        offset: tagStart,
        message: `field number ${fieldNo} is not in the ONNX schema this tool knows (IR 11); re-encoding would drop it`,
      });
    }
    field.resolve();
    const ft = field.type;
    const expectWire = field.resolvedType && 'fields' in field.resolvedType ? 2
      : ft === 'string' || ft === 'bytes' ? 2
      : FIXED64_TYPES.has(ft) ? 1
      : FIXED32_TYPES.has(ft) ? 5
      : 0; // varints and enums
    const ok = wire === expectWire || (field.repeated && wire === 2 && expectWire !== 2);
    if (!ok) {
      throw new Problem({ path: fpath, offset: tagStart, message: `wire type ${wire} does not match the schema's ${ft}` });
    }
    if (wire === 2 && expectWire === 2) {
      const sub = field.resolvedType;
      if (sub && 'fields' in sub) {
        walk(b, payload, payload + len, sub as protobuf.Type, fpath, depth + 1, maxDepth);
      } else if (ft === 'string') {
        try {
          utf8.decode(b.subarray(payload, payload + len));
        } catch {
          throw new Problem({ path: fpath, offset: payload, message: 'string field is not valid UTF-8' });
        }
      }
    } else if (wire === 2) {
      // Packed repeated scalars: the payload must be a whole number of elements.
      if (FIXED32_TYPES.has(ft) && len % 4 !== 0) throw new Problem({ path: fpath, offset: payload, message: 'packed 32-bit array length is not a multiple of 4' });
      if (FIXED64_TYPES.has(ft) && len % 8 !== 0) throw new Problem({ path: fpath, offset: payload, message: 'packed 64-bit array length is not a multiple of 8' });
      if (VARINT_TYPES.has(ft) || field.resolvedType) {
        let p = payload;
        while (p < payload + len) [, p] = readVarint(b, p, payload + len, fpath);
      }
    }
  }
}
