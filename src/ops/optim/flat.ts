/**
 * Multi-tensor (flat) mode helpers: all parameters of an elementwise optimizer as one float32 buffer, so that the
 * optimizer graph's node count does not grow with the number of tensors. The layout is the parameters' order,
 * row-major, no padding.
 */
import { OnnxTrainError } from '../../errors.js';
import { numel, type ParamInfo, type Segment } from './types.js';

/** The segments of `params` packed back to back, in order. */
export function flatSegments(params: readonly ParamInfo[]): Segment[] {
  let offset = 0;
  return params.map((p) => {
    const size = numel(p.shape);
    const s = { name: p.name, shape: [...p.shape], offset, size };
    offset += size;
    return s;
  });
}

/** The flat parameter that stands for `params` (shape [N], with its segments). */
export function flatParam(name: string, params: readonly ParamInfo[]): ParamInfo {
  const segments = flatSegments(params);
  const n = segments.reduce((a, s) => a + s.size, 0);
  return { name, shape: [n], segments };
}

/**
 * Packs one tensor per segment into a flat buffer.
 * @throws OnnxTrainError('SHAPE_MISMATCH') when a tensor is missing or has the wrong length
 */
export function packFlat(segments: readonly Segment[], tensors: Readonly<Record<string, ArrayLike<number>>>): Float32Array {
  const n = segments.reduce((a, s) => a + s.size, 0);
  const out = new Float32Array(n);
  for (const s of segments) {
    const t = tensors[s.name];
    if (!t || t.length !== s.size) {
      throw new OnnxTrainError('SHAPE_MISMATCH', `tensor "${s.name}" ${t ? `has ${t.length} elements` : 'is missing'}; its segment needs ${s.size}`, 'pass one tensor per parameter with its full data');
    }
    out.set(t, s.offset);
  }
  return out;
}

/** Splits a flat buffer back into one tensor per segment (copies). */
export function unpackFlat(segments: readonly Segment[], flat: ArrayLike<number>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  const src = flat instanceof Float32Array ? flat : Float32Array.from(flat);
  for (const s of segments) out[s.name] = src.slice(s.offset, s.offset + s.size);
  return out;
}
