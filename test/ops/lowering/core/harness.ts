/**
 * Test harness for lowering rules: builds a one-node model around an ORT training op, lowers it with the real
 * pass, and runs the result on stock onnxruntime-node. Also runs plain standard-op models (the forward ops the
 * finite-difference checks differentiate).
 */
import { GraphBuilder, Value, type AttrValue } from '../../../../src/builder/index.js';
import { Model } from '../../../../src/ir/graph.js';
import { DataType, dtypeInfo } from '../../../../src/onnx/dtypes.js';
import { lowerTrainingOps, type LowerOptions, type LowerResult } from '../../../../src/transforms/lower.js';
import { runModel, ort } from '../../../helpers/ort.js';
import { rng } from '../../../helpers/rng.js';

export interface TensorSpec {
  readonly dtype: number;
  readonly dims: readonly number[];
  readonly data: ArrayLike<number | bigint>;
  /** Make it an initializer (a constant) instead of a graph input. */
  readonly constant?: boolean;
}

export interface OpSpec {
  /** `domain::OpType` ('ai.onnx' for the default domain). */
  readonly op: string;
  /** Input names in order; '' for a blank optional input. */
  readonly inputs: readonly string[];
  readonly tensors: Readonly<Record<string, TensorSpec>>;
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  /** Output names with their element types; '' name for an output slot that is not wired. */
  readonly outputs: readonly { readonly name: string; readonly dtype: number; readonly dims?: readonly (number | string)[] }[];
  /** Default-domain opset (default 17). */
  readonly opset?: number;
}

/** A model with one node and the given inputs (graph inputs with static shapes, or initializers). */
export function opModel(spec: OpSpec): Model {
  const b = GraphBuilder.create('case', { opset: spec.opset ?? 17 });
  for (const name of spec.inputs) {
    if (!name || b.graph.isGraphInput(name) || b.graph.initializers.has(name)) continue;
    const t = spec.tensors[name];
    if (t.constant) b.initializer(name, t.dtype, t.dims, Array.from(t.data as ArrayLike<number>) as number[]);
    else b.input(name, t.dtype, t.dims);
  }
  const [domainPart, opType] = spec.op.split('::');
  const domain = domainPart === 'ai.onnx' ? '' : domainPart;
  b.node(opType, spec.inputs.map((x) => x || undefined), { domain, attrs: spec.attrs, outputs: spec.outputs.map((o) => o.name), nameHint: opType });
  for (const o of spec.outputs) if (o.name) b.output(new Value(o.name, o.dtype), o.name, o.dtype, o.dims);
  const m = b.toModel();
  if (domain) m.opsets.set(domain, 1);
  return m;
}

/** An ORT tensor of an ONNX element type. */
export function ortTensor(dtype: number, dims: readonly number[], data: ArrayLike<number | bigint>): ort.Tensor {
  const type = dtypeInfo(dtype)?.ort;
  const arr = Array.from(data as ArrayLike<number>);
  switch (dtype) {
    case DataType.FLOAT: return new ort.Tensor('float32', Float32Array.from(arr), [...dims]);
    case DataType.DOUBLE: return new ort.Tensor('float64', Float64Array.from(arr), [...dims]);
    case DataType.INT64: return new ort.Tensor('int64', BigInt64Array.from(arr, (x) => BigInt(x)), [...dims]);
    case DataType.INT32: return new ort.Tensor('int32', Int32Array.from(arr), [...dims]);
    case DataType.BOOL: return new ort.Tensor('bool', Uint8Array.from(arr, (x) => (x ? 1 : 0)), [...dims]);
    default: throw new Error(`ortTensor: unsupported type ${type}`);
  }
}

/** Feeds for every non-constant input tensor of a spec (overridable). */
export function feedsOf(spec: OpSpec, override: Readonly<Record<string, ArrayLike<number | bigint>>> = {}): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const name of spec.inputs) {
    if (!name || feeds[name]) continue;
    const t = spec.tensors[name];
    if (t.constant) continue;
    feeds[name] = ortTensor(t.dtype, t.dims, override[name] ?? t.data);
  }
  return feeds;
}

export interface Result {
  readonly dims: readonly number[];
  readonly data: number[];
}

/** Runs a model on stock ORT and returns every output as plain numbers. */
export async function run(model: Model, feeds: Record<string, ort.Tensor>): Promise<Record<string, Result>> {
  const out = await runModel(model, feeds);
  const r: Record<string, Result> = {};
  for (const [k, v] of Object.entries(out)) r[k] = { dims: v.dims, data: Array.from(v.data as ArrayLike<number | bigint>, Number) };
  return r;
}

/** Lowers the one-node model of `spec` with the real pass. */
export function lowerSpec(spec: OpSpec, opts?: LowerOptions): LowerResult {
  return lowerTrainingOps(opModel(spec), opts);
}

/** Lowers and runs; returns the outputs and the lowering result. */
export async function runLowered(spec: OpSpec, opts?: LowerOptions, override?: Readonly<Record<string, ArrayLike<number | bigint>>>): Promise<Record<string, Result> & { readonly $lowered: LowerResult }> {
  const lowered = lowerSpec(spec, opts);
  const out = await run(lowered.model, feedsOf(spec, override));
  return Object.assign(out, { $lowered: lowered });
}

/** Deterministic pseudo-random numbers in [lo, hi) (seeded; tests never use Math.random). */
export function numbers(seed: number, count: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => lo + r() * (hi - lo));
}

/** Deterministic integers in [0, n). */
export function integers(seed: number, count: number, n: number): number[] {
  return numbers(seed, count, 0, n).map((x) => Math.min(n - 1, Math.floor(x)));
}
