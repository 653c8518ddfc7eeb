/**
 * Test helper: load a built model in onnxruntime-node (CPU) and run it. Every graph the project builds goes
 * through here at least once in the suite, so "loads in stock ORT" is checked, not assumed.
 */
import * as ort from 'onnxruntime-node';
import { Model } from '../../src/ir/graph.js';
import { encodeModel } from '../../src/onnx/io.js';
import type { ModelProto } from '../../src/onnx/types.js';

export type Feeds = Record<string, ort.Tensor>;

export async function loadModel(model: Model | ModelProto | Uint8Array, opts: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : encodeModel(model instanceof Model ? model.toProto() : model);
  return ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', ...opts });
}

export async function runModel(model: Model | ModelProto | Uint8Array, feeds: Feeds): Promise<Record<string, ort.Tensor>> {
  const s = await loadModel(model);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

export const f32 = (data: number[] | Float32Array, dims: number[] = [data.length]) => new ort.Tensor('float32', Float32Array.from(data), dims);
export const i64 = (data: (number | bigint)[], dims: number[] = [data.length]) => new ort.Tensor('int64', BigInt64Array.from(data.map((x) => BigInt(x))), dims);
export { ort };
