/**
 * End-to-end harness for the real ORT training artifacts in ../shared/artifacts (read in place, never copied):
 * loads training/eval models and parameters (ODTC checkpoint, or a seeded random init), runs the lowered
 * training graph and the eval model on stock onnxruntime-node, and evaluates the eval loss for finite
 * differences (optionally in float64, by converting the eval model's float tensors to double).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { Model, type Graph } from '../../src/ir/graph.js';
import { DataType } from '../../src/onnx/dtypes.js';
import { readModel } from '../../src/onnx/io.js';
import { makeTensor, tensorDims, tensorToArray } from '../../src/onnx/tensor.js';
import { inferShapeInfo } from '../../src/transforms/shape-info.js';
import { ARTIFACTS } from '../helpers/paths.js';
import { loadModel, ort } from '../helpers/ort.js';
import { randn, rng } from '../helpers/rng.js';

export const GRAD_BUFFER_SUFFIX = '_grad.accumulation.buffer';

export function artifactPath(set: string, file: string): string {
  return path.join(ARTIFACTS, set, file);
}

export function hasArtifact(set: string): boolean {
  return fs.existsSync(artifactPath(set, 'training_model.onnx'));
}

export function loadArtifactModel(set: string, file: 'training_model.onnx' | 'eval_model.onnx'): Model {
  return Model.fromProto(readModel(artifactPath(set, file)));
}

export interface Param {
  readonly dims: number[];
  data: Float32Array;
}

/** Static dims of every graph input (params have static shapes in the artifacts). */
export function inputDims(g: Graph): Map<string, (number | string)[]> {
  const s = inferShapeInfo(g);
  return new Map(g.inputs.map((i) => [i.name ?? '', [...(s.shape(i.name ?? '') ?? [])]]));
}

/** Parameters from the set's ODTC checkpoint (trainable + frozen), as float32 arrays. */
export async function checkpointParams(set: string): Promise<Map<string, Param>> {
  const state = await readCheckpoint(artifactPath(set, 'checkpoint'));
  const out = new Map<string, Param>();
  for (const t of [...state.trainable, ...state.frozen]) {
    if (t.dataType !== DataType.FLOAT) throw new Error(`unexpected parameter type ${t.dataType} for ${t.name}`);
    out.set(t.name, { dims: t.dims, data: new Float32Array(Uint8Array.from(t.data).buffer) });
  }
  return out;
}

/** Seeded random parameters for every non-user eval input, initialised by `init(name, dims, r)`. */
export function randomParams(evalModel: Model, userInputs: readonly string[], seed: number, init: (name: string, dims: number[], r: () => number) => Float32Array): Map<string, Param> {
  const r = rng(seed);
  const dims = inputDims(evalModel.graph);
  const out = new Map<string, Param>();
  for (const [name, d] of dims) {
    if (userInputs.includes(name)) continue;
    if (d.some((x) => typeof x !== 'number')) throw new Error(`parameter ${name} has a symbolic shape`);
    out.set(name, { dims: d as number[], data: init(name, d as number[], r) });
  }
  return out;
}

export { randn };

export type Feeds = Record<string, ort.Tensor>;

export const f32 = (data: Float32Array | number[], dims: readonly number[]) => new ort.Tensor('float32', Float32Array.from(data), [...dims]);

export function paramFeeds(params: ReadonlyMap<string, Param>, overrides: ReadonlyMap<string, Float32Array> = new Map()): Feeds {
  const feeds: Feeds = {};
  for (const [k, p] of params) feeds[k] = f32(overrides.get(k) ?? p.data, p.dims);
  return feeds;
}

/** Trainable parameter names, in the order of the training graph's accumulation buffers. */
export function trainableNames(trainModel: Model): string[] {
  return trainModel.graph.inputs.map((i) => i.name ?? '').filter((n) => n.endsWith(GRAD_BUFFER_SUFFIX)).map((n) => n.slice(0, -GRAD_BUFFER_SUFFIX.length));
}

export interface Session {
  run(feeds: Feeds, fetch?: string[]): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
}

export async function session(model: Model): Promise<Session> {
  const s = await loadModel(model);
  return {
    run: (feeds, fetch) => (fetch ? s.run(feeds, fetch) : s.run(feeds)),
    release: () => s.release(),
    inputNames: s.inputNames,
    outputNames: s.outputNames,
  };
}

/**
 * A float64 copy of a model: every FLOAT graph input/output/value_info, initializer, Constant and Cast target
 * becomes DOUBLE. Only for graphs whose ops all have double kernels in ORT (Gemm, MatMul, Relu, SCE, Pow, …).
 */
export function toFloat64(model: Model): Model {
  const m = Model.fromProto(model.toProto());
  const g = m.graph;
  const retype = (vi: { type?: { tensor_type?: { elem_type?: number } } }) => {
    if (vi.type?.tensor_type?.elem_type === DataType.FLOAT) vi.type.tensor_type.elem_type = DataType.DOUBLE;
  };
  g.inputs.forEach(retype);
  g.outputs.forEach(retype);
  for (const vi of g.valueInfo.values()) retype(vi);
  for (const [k, t] of g.initializers) {
    if (t.data_type === DataType.FLOAT) g.initializers.set(k, makeTensor(k, DataType.DOUBLE, tensorDims(t), Float64Array.from(tensorToArray({ ...t, raw_data: t.raw_data && Uint8Array.from(t.raw_data) }) as Float32Array)));
  }
  for (const n of g.nodes) {
    if (n.opType === 'Cast' && n.attrInt('to') === DataType.FLOAT) {
      const a = n.attr('to')!;
      a.i = DataType.DOUBLE;
    }
    if (n.opType === 'Constant') {
      const a = n.attr('value');
      if (a?.t && a.t.data_type === DataType.FLOAT) a.t = makeTensor('', DataType.DOUBLE, tensorDims(a.t), Float64Array.from(tensorToArray({ ...a.t, raw_data: a.t.raw_data && Uint8Array.from(a.t.raw_data) }) as Float32Array));
    }
  }
  return m;
}

/** Indices of a gradient worth finite-differencing: the largest |g| ones plus random ones of decent size. */
export function sampleCoordinates(grad: ArrayLike<number>, top: number, random: number, seed: number, minFraction = 0.05): number[] {
  const idx = Array.from({ length: grad.length }, (_, i) => i).sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a]));
  const chosen = idx.slice(0, top);
  const max = Math.abs(grad[idx[0]] ?? 0);
  const pool = idx.slice(top).filter((i) => Math.abs(grad[i]) >= minFraction * max);
  const r = rng(seed);
  for (let k = 0; k < random && pool.length; k++) chosen.push(pool.splice(Math.floor(r() * pool.length), 1)[0]);
  return chosen;
}
