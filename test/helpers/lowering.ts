/**
 * Test helper for the lowering rules (test/ops/lowering/**, test/transforms/lower.test.ts): builds a graph holding
 * one ORT training node, lowers it, wires the results to the node's output names, runs models on stock
 * onnxruntime-node, takes central finite differences, and compares arrays within tolerances.
 *
 * One graph builder ({@link buildCase}) and one way of applying a rule ({@link applyRule}); three ways to describe
 * the node, for three kinds of test:
 * - {@link NodeCase}: declarations only (names, element types, shapes); feeds are passed when running, so one
 *   lowered model serves many inputs (conv/pool/norm: references, finite differences over a fixed graph).
 *   {@link checkCase} / {@link lowerCase} look the rule up in the rule table.
 * - {@link NodeSpec}: inputs carry their ORT tensors (they become the feeds) and `knowledge` picks what the rule
 *   is told about them: full static shapes, ranks only, element types only, or nothing.
 *   {@link checkOnly} / {@link lower} / {@link lowerAndRun} take the rule under test.
 * - {@link OpSpec}: inputs as {dtype, dims, data}; lowered by the real pass, `lowerTrainingOps` (its report, state
 *   outputs, opset upgrade): {@link lowerSpec} / {@link runLowered}.
 *
 * The ShapeInfo a rule gets is read from the graph's declarations (graph inputs and outputs, value_info,
 * initializers) plus a case's extra facts, then reduced to the case's knowledge level.
 */
import type { ExecutionContext } from 'ava';
import { GraphBuilder, Value, valueInfo, type AttrValue, type Shape } from '../../src/builder/index.js';
import { Model, type Graph, type Node, type ValueInfoProto } from '../../src/ir/graph.js';
import { DataType } from '../../src/onnx/dtypes.js';
import { tensorDims, tensorToArray } from '../../src/onnx/tensor.js';
import { RULES } from '../../src/ops/lowering/index.js';
import { qualifiedOp, type Dim, type LoweringContext, type LoweringRule, type ShapeInfo } from '../../src/ops/lowering/rule.js';
import { lowerTrainingOps, type LowerOptions, type LowerResult } from '../../src/transforms/lower.js';
import { loadModel, ort, runModel, type Feeds } from './ort.js';
import { rng } from './rng.js';

export { ort, runModel, type Feeds };
const MS = 'com.microsoft';

// ---------------------------------------------------------------------------------------------------- tensors

const ORT_TO_DT: Record<string, number> = {
  float32: DataType.FLOAT, float64: DataType.DOUBLE, int64: DataType.INT64, int32: DataType.INT32, bool: DataType.BOOL,
  uint32: DataType.UINT32, uint8: DataType.UINT8, float16: DataType.FLOAT16,
};

/** The ONNX element type of an ORT tensor. */
export const dtypeOf = (t: ort.Tensor): number => {
  const d = ORT_TO_DT[t.type];
  if (d === undefined) throw new Error(`lowering helper: unsupported tensor type ${t.type}`);
  return d;
};

/** An ORT tensor of an ONNX element type. */
export function ortTensor(dtype: number, dims: readonly number[], data: ArrayLike<number | bigint | boolean>): ort.Tensor {
  const arr = Array.from(data as ArrayLike<number>);
  switch (dtype) {
    case DataType.FLOAT: return new ort.Tensor('float32', Float32Array.from(arr), [...dims]);
    case DataType.DOUBLE: return new ort.Tensor('float64', Float64Array.from(arr), [...dims]);
    case DataType.INT64: return new ort.Tensor('int64', BigInt64Array.from(arr, (x) => BigInt(x)), [...dims]);
    case DataType.INT32: return new ort.Tensor('int32', Int32Array.from(arr), [...dims]);
    case DataType.UINT32: return new ort.Tensor('uint32', Uint32Array.from(arr), [...dims]);
    case DataType.BOOL: return new ort.Tensor('bool', Uint8Array.from(arr, (x) => (x ? 1 : 0)), [...dims]);
    default: throw new Error(`ortTensor: unsupported element type ${dtype}`);
  }
}

/** Data and dims: a reference tensor (test/reference/*) or a plain array with its dims (default: 1-D). */
type TensorMaker = (data: ArrayLike<number> | { readonly data: ArrayLike<number>; readonly dims: readonly number[] }, dims?: readonly number[]) => ort.Tensor;
const maker = (dtype: number): TensorMaker => (data, dims) => {
  if ('dims' in data && !ArrayBuffer.isView(data) && !Array.isArray(data)) return ortTensor(dtype, data.dims, data.data);
  const d = data as ArrayLike<number>;
  return ortTensor(dtype, dims ?? [d.length], d);
};
export const f32: TensorMaker = maker(DataType.FLOAT);
export const f64: TensorMaker = maker(DataType.DOUBLE);
export const i64 = (data: ArrayLike<number | bigint>, dims: readonly number[] = [data.length]) => ortTensor(DataType.INT64, dims, data);
export const i32 = (data: ArrayLike<number>, dims: readonly number[] = [data.length]) => ortTensor(DataType.INT32, dims, data);
export const u32 = (data: ArrayLike<number>, dims: readonly number[] = [data.length]) => ortTensor(DataType.UINT32, dims, data);
export const bool = (data: ArrayLike<boolean | number>, dims: readonly number[]) => ortTensor(DataType.BOOL, dims, data);

/** Tensor contents as plain numbers. */
export const nums = (t: ort.Tensor): number[] => Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x));

export const size = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

/** Deterministic pseudo-random numbers in [lo, hi) (seeded; tests never use Math.random). */
export function numbers(seed: number, count: number, lo = -1, hi = 1): number[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => lo + r() * (hi - lo));
}

/** Deterministic integers in [0, n). */
export function integers(seed: number, count: number, n: number): number[] {
  return numbers(seed, count, 0, n).map((x) => Math.min(n - 1, Math.floor(x)));
}

// ---------------------------------------------------------------------------------------------------- shapes

/** What a rule is told about the values: declared dims, ranks only (unique symbolic dims), types only, nothing. */
export type Knowledge = 'static' | 'rank' | 'none' | 'untyped';

export interface TensorDecl {
  name: string;
  dtype: number;
  /** Declared shape; omit for a value of unknown shape. */
  shape?: Shape;
}

/**
 * ShapeInfo over a graph's inputs, outputs, value_info and initializers (what the pass knows statically) and the
 * `extra` declarations, reduced to `knowledge`. Reads the graph when asked, so it sees what is declared later.
 */
export function shapeInfo(g: Graph, knowledge: Knowledge = 'static', extra: readonly TensorDecl[] = []): ShapeInfo {
  const more = new Map(extra.map((d) => [d.name, d]));
  const find = (name: string): ValueInfoProto | undefined =>
    g.valueInfo.get(name) ?? g.inputs.find((i) => i.name === name) ?? g.outputs.find((o) => o.name === name);
  const declaredDims = (name: string): Dim[] | undefined => {
    const init = g.initializers.get(name);
    if (init) return tensorDims(init);
    const x = more.get(name);
    if (x) return x.shape ? [...x.shape] : undefined;
    const shape = find(name)?.type?.tensor_type?.shape;
    if (!shape) return undefined;
    return (shape.dim ?? []).map((d) => (d.dim_param ? d.dim_param : d.dim_value !== undefined && d.dim_value !== null ? Number(String(d.dim_value)) : '?'));
  };
  const declaredType = (name: string): number | undefined =>
    g.initializers.get(name)?.data_type ?? more.get(name)?.dtype ?? (find(name)?.type?.tensor_type?.elem_type || undefined);
  // 'rank': every dim of every value becomes its own symbol, fixed on first use.
  const symbolic = new Map<string, Dim[] | undefined>();
  let fresh = 0;
  const dims = (name: string): readonly Dim[] | undefined => {
    if (knowledge === 'static') return declaredDims(name);
    if (knowledge !== 'rank') return undefined;
    if (!symbolic.has(name)) symbolic.set(name, declaredDims(name)?.map(() => `?${fresh++}`));
    return symbolic.get(name);
  };
  return {
    dtype: (name) => (knowledge === 'untyped' ? undefined : declaredType(name)),
    shape: dims,
    rank: (name) => dims(name)?.length,
    constant: (name) => {
      const t = g.initializers.get(name);
      return t && !g.isGraphInput(name) ? { dims: tensorDims(t), data: tensorToArray(t) as ArrayLike<number | bigint> } : undefined;
    },
  };
}

// ---------------------------------------------------------------------------------------------------- one-node graphs

export interface NodeCase {
  opType: string;
  domain: string;
  opset: number;
  /** Graph inputs. */
  inputs: TensorDecl[];
  /** Initializers (constants the rule can read), added after the graph inputs. */
  constants?: { name: string; dtype: number; dims: readonly number[]; data: ArrayLike<number | bigint> }[];
  /** Node inputs (default: the graph input names); '' for an absent optional input. */
  nodeInputs?: string[];
  /** Node outputs; '' for an absent output. */
  outputs: string[];
  /** value_info for outputs (e.g. a pooling gradient's static dX shape), like the artifacts carry. */
  outputInfo?: TensorDecl[];
  attrs?: Record<string, AttrValue | undefined>;
  /** Forward nodes emitted before the training node (e.g. the MaxPool that produces Indices). */
  prelude?: (b: GraphBuilder) => void;
  /** What the rule is told (default 'static'). */
  knowledge?: Knowledge;
  /** Facts the graph does not declare (e.g. the [rank] shape of a Shape output), subject to `knowledge`. */
  known?: TensorDecl[];
}

/** Builds the one-node graph and returns the builder, node and lowering context (nothing lowered yet). */
export function buildCase(c: NodeCase): { b: GraphBuilder; node: Node; ctx: LoweringContext } {
  const b = GraphBuilder.create(`${c.opType}_case`, { opset: c.opset });
  for (const i of c.inputs) if (!b.graph.isGraphInput(i.name)) b.input(i.name, i.dtype, i.shape);
  for (const k of c.constants ?? []) b.initializer(k.name, k.dtype, k.dims, k.data as never);
  c.prelude?.(b);
  b.node(c.opType, (c.nodeInputs ?? c.inputs.map((i) => i.name)).map((x) => x || undefined), { domain: c.domain, attrs: c.attrs, outputs: c.outputs });
  const node = b.graph.nodes[b.graph.nodes.length - 1];
  for (const o of c.outputInfo ?? []) b.graph.valueInfo.set(o.name, valueInfo(o.name, o.dtype, o.shape));
  return { b, node, ctx: { b, shapes: shapeInfo(b.graph, c.knowledge, c.known), opset: c.opset } };
}

export interface Lowered {
  model: Model;
  node: Node;
  rule: LoweringRule;
  /** Op types of every node of the lowered graph (`domain::OpType` outside the default domain). */
  ops: string[];
}

/**
 * The rule's check() must pass; lower() runs in the case's builder (scoped with the node's name, as the pass
 * does), its values become the node's outputs (declared with `outputTypes` or the builder's types) through
 * Identity, the node is removed, and the graph is sorted and pruned. Throws when the rule refuses.
 */
export function applyRule(c: NodeCase, rule: LoweringRule, outputTypes: readonly (number | undefined)[] = []): Lowered {
  const { b, node, ctx } = buildCase(c);
  const reason = rule.check(node, ctx);
  if (reason !== undefined) throw new Error(`check() refused: ${reason}`);
  const values = b.scope(node.name || c.opType, () => rule.lower(node, ctx));
  const g = b.graph;
  g.removeNode(node);
  node.outputs.forEach((name, i) => {
    if (!name) return;
    const v = values[i];
    if (!v) throw new Error(`lower() returned no value for output ${i} ("${name}")`);
    b.output(v, name, outputTypes[i] ?? b.dtypeOf(v));
  });
  g.topoSort();
  g.removeDeadNodes();
  const model = new Model(g, new Map([['', c.opset]]), 8, { producer_name: 'onnx-train', producer_version: '0.1.0' });
  return { model, node, rule, ops: g.nodes.map((n) => (n.domain ? `${n.domain}::${n.opType}` : n.opType)) };
}

// ------------------------------------------------------------------ NodeCase: declarations, rule from the table

/** The rule table's rule for the case's op. */
export function ruleFor(c: Pick<NodeCase, 'domain' | 'opType'>): LoweringRule {
  const key = qualifiedOp(c.domain, c.opType);
  const r = RULES[key];
  if (!r) throw new Error(`no lowering rule for ${key}`);
  return r;
}

/** check() of the case's rule: undefined when it applies, else the reason. */
export function checkCase(c: NodeCase): string | undefined {
  const { node, ctx } = buildCase(c);
  return ruleFor(c).check(node, ctx);
}

/**
 * Lowers the case's node and returns a standard-ops model whose outputs are the node's present outputs
 * (same names). Throws when the rule does not apply or leaves a non-default-domain node behind.
 */
export function lowerCase(c: NodeCase): Lowered {
  const l = applyRule(c, ruleFor(c));
  const foreign = l.ops.filter((o) => o.includes('::'));
  if (foreign.length) throw new Error(`non-standard nodes remain: ${foreign.join(', ')}`);
  return l;
}

// ------------------------------------------------------------------ NodeSpec: tensors as feeds, rule under test

export interface InputSpec {
  name: string;
  tensor: ort.Tensor;
  /** Embed as an initializer (a constant the rule can read) instead of a graph input. */
  constant?: boolean;
  /** Declared dims overriding the tensor's (e.g. symbolic); null = no shape at all. */
  declared?: readonly Dim[] | null;
  /**
   * Feed this int64 shape input as Shape(X) of a float graph input X of these real dims (declared as
   * `declared` when given) instead of a plain tensor, so the rule can see the static shape of X.
   */
  shapeOf?: readonly number[];
}

export interface NodeSpec {
  opType: string;
  /** Default com.microsoft. */
  domain?: string;
  /** undefined = blank optional input. */
  inputs: (InputSpec | undefined)[];
  attrs?: Record<string, AttrValue | undefined>;
  /** Output names ('' = absent optional output) and their element types. */
  outputs: readonly (readonly [string, number])[];
  opset?: number;
  knowledge?: Knowledge;
}

/** The NodeCase of a spec and its feeds. */
function specCase(spec: NodeSpec): { c: NodeCase; feeds: Record<string, ort.Tensor> } {
  const inputs: TensorDecl[] = [];
  const constants: NonNullable<NodeCase['constants']> = [];
  const known: TensorDecl[] = [];
  const shapes: [string, string][] = [];
  const feeds: Record<string, ort.Tensor> = {};
  const shapeOf = (declared: readonly Dim[] | null | undefined, dims: readonly Dim[]) => (declared === null ? undefined : [...(declared ?? dims)]);
  for (const i of spec.inputs) {
    if (!i) continue;
    if (i.shapeOf) {
      const x = `${i.name}__of`;
      inputs.push({ name: x, dtype: DataType.FLOAT, shape: shapeOf(i.declared, i.shapeOf) });
      known.push({ name: i.name, dtype: DataType.INT64, shape: [i.shapeOf.length] });
      shapes.push([x, i.name]);
      feeds[x] = new ort.Tensor('float32', new Float32Array(size(i.shapeOf)), [...i.shapeOf]);
    } else if (i.constant) {
      constants.push({ name: i.name, dtype: dtypeOf(i.tensor), dims: [...i.tensor.dims], data: i.tensor.data as ArrayLike<number> });
    } else {
      inputs.push({ name: i.name, dtype: dtypeOf(i.tensor), shape: shapeOf(i.declared, i.tensor.dims) });
      feeds[i.name] = i.tensor;
    }
  }
  const c: NodeCase = {
    opType: spec.opType,
    domain: spec.domain ?? MS,
    opset: spec.opset ?? 17,
    inputs,
    constants,
    nodeInputs: spec.inputs.map((i) => i?.name ?? ''),
    outputs: spec.outputs.map(([n]) => n),
    attrs: spec.attrs,
    prelude: shapes.length ? (b) => { for (const [x, out] of shapes) b.node('Shape', [x], { outputs: [out] }); } : undefined,
    knowledge: spec.knowledge ?? 'static',
    known,
  };
  return { c, feeds };
}

/** Result of check() alone, for refusal cases. */
export function checkOnly(rule: LoweringRule, spec: NodeSpec): string | undefined {
  const { node, ctx } = buildCase(specCase(spec).c);
  return rule.check(node, ctx);
}

/** check() must pass; lower() is applied and its values wired to the node's output names. */
export function lower(t: ExecutionContext, rule: LoweringRule, spec: NodeSpec): Lowered & { feeds: Record<string, ort.Tensor> } {
  const { c, feeds } = specCase(spec);
  t.is(rule.op, `${(spec.domain ?? MS) || 'ai.onnx'}::${spec.opType}`, 'rule key');
  const l = applyRule(c, rule, spec.outputs.map(([, dt]) => dt));
  t.deepEqual(l.ops.filter((o) => o.includes('::')), [], 'only standard ONNX ops remain');
  return { ...l, feeds };
}

/** Lowers and runs; returns outputs by name (and the lowered op types as the non-enumerable `__ops`). */
export async function lowerAndRun(t: ExecutionContext, rule: LoweringRule, spec: NodeSpec): Promise<Record<string, ort.Tensor> & { __ops?: string[] }> {
  const l = lower(t, rule, spec);
  const out = await runModel(l.model, l.feeds);
  Object.defineProperty(out, '__ops', { value: l.ops, enumerable: false });
  return out;
}

/** Runs the original (un-lowered) graph — only for contrib ops stock ORT implements (Gelu, FusedMatMul, …). */
export async function runOriginal(spec: NodeSpec): Promise<Record<string, ort.Tensor>> {
  const { c, feeds } = specCase(spec);
  const { b } = buildCase(c);
  for (const [name, dt] of spec.outputs) if (name) b.graph.outputs.push(valueInfo(name, dt));
  return runModel(b.toModel(), feeds);
}

// ------------------------------------------------------------------ OpSpec: through the real lowering pass

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

/** A model with one node and the given inputs (graph inputs with static shapes, or initializers) and outputs. */
export function opModel(spec: OpSpec): Model {
  const [domainPart, opType] = spec.op.split('::');
  const domain = domainPart === 'ai.onnx' ? '' : domainPart;
  const names = [...new Set(spec.inputs.filter(Boolean))];
  const { b } = buildCase({
    opType,
    domain,
    opset: spec.opset ?? 17,
    inputs: names.filter((n) => !spec.tensors[n].constant).map((n) => ({ name: n, dtype: spec.tensors[n].dtype, shape: spec.tensors[n].dims })),
    constants: names.filter((n) => spec.tensors[n].constant).map((n) => ({ ...spec.tensors[n], name: n, data: Array.from(spec.tensors[n].data as ArrayLike<number>) })),
    nodeInputs: [...spec.inputs],
    outputs: spec.outputs.map((o) => o.name),
    attrs: spec.attrs,
  });
  for (const o of spec.outputs) if (o.name) b.output(new Value(o.name, o.dtype), o.name, o.dtype, o.dims);
  return b.toModel();
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

/** Runs a model on stock ORT and returns every output as plain numbers (see {@link runModel} for ORT tensors). */
export async function run(model: Model, feeds: Record<string, ort.Tensor>): Promise<Record<string, Result>> {
  const out = await runModel(model, feeds);
  const r: Record<string, Result> = {};
  for (const [k, v] of Object.entries(out)) r[k] = { dims: v.dims, data: nums(v) };
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

// ---------------------------------------------------------------------------------------------------- assertions

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| element-wise (and equal lengths), reporting the worst
 * element. Defaults: rtol 1e-5, atol 1e-6.
 */
export function close(t: ExecutionContext, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { rtol?: number; atol?: number } = {}, what = ''): void {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  t.is(actual.length, expected.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) { worst = i; worstExcess = excess; }
  }
  t.true(worst < 0, worst < 0 ? what : `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
}

// ---------------------------------------------------------------------------------------------------- finite differences

/**
 * Central differences of a scalar function L of an array: (L(x + p·e_i) − L(x − m·e_i)) / (p + m) for every i,
 * with [p, m] = steps(x_i). L receives a modified copy of `x` (same array type).
 */
async function centralDifferences<A extends Float32Array | Float64Array | number[]>(x: A, L: (v: A) => Promise<number>, steps: (xi: number) => readonly [number, number]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const [plus, minus] = steps(x[i]);
    const at = (delta: number) => {
      const copy = x.slice() as A;
      copy[i] = x[i] + delta;
      return L(copy);
    };
    out.push(((await at(plus)) - (await at(-minus))) / (plus + minus));
  }
  return out;
}

/**
 * Central finite differences of the scalar output `loss` of `model` w.r.t. every element of input `wrt`, the step
 * taken as actually represented in the input's precision (so the quotient is not biased by rounding). One session.
 */
export async function finiteDifferences(model: Model, feeds: Feeds, wrt: string, h: number, loss = 'loss'): Promise<Float64Array> {
  const s = await loadModel(model);
  try {
    const base = feeds[wrt];
    const data = base.data as Float32Array | Float64Array;
    const f32Input = data instanceof Float32Array;
    const L = async (v: Float32Array | Float64Array) => {
      const r = await s.run({ ...feeds, [wrt]: new ort.Tensor(base.type as 'float32', v as Float32Array, base.dims) });
      return Number((r[loss].data as ArrayLike<number>)[0]);
    };
    const steps = (xi: number) => [(f32Input ? Math.fround(xi + h) : xi + h) - xi, xi - (f32Input ? Math.fround(xi - h) : xi - h)] as const;
    return Float64Array.from(await centralDifferences(data, L, steps));
  } finally {
    await s.release();
  }
}

/** The forward graph's loss: ReduceSum(Cast(y, double) · dY) as a double scalar named "loss". */
export function lossOf(b: GraphBuilder, y: Value, dy: Value): void {
  b.output(b.op.ReduceSum(b.op.Mul(b.op.Cast(y, DataType.DOUBLE), dy), undefined, 0), 'loss', DataType.DOUBLE);
}

export interface ForwardGraph {
  /** Builds the forward computation of input `x` (and constant extras) returning the output value. */
  build(b: GraphBuilder, x: Value): Value;
  /** Element type to run in (float64 where ORT implements the ops, float32 otherwise). */
  dtype: 'float32' | 'float64';
  opset?: number;
  /** A fresh session per evaluation (random ops with a fixed seed then give the same mask every time). */
  freshSessions?: boolean;
}

/** The model y = f(x) of a forward graph. */
function forwardModel(fwd: ForwardGraph, dims: readonly number[]): Model {
  const b = GraphBuilder.create('fwd', { opset: fwd.opset ?? 17 });
  const xv = b.input('x', fwd.dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT, [...dims]);
  b.output(fwd.build(b, xv), 'y', fwd.dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT);
  return b.toModel();
}

/**
 * Central finite differences of L(x) = Σ dY·f(x), f run on ORT: returns dL/dx, i.e. the vector-Jacobian
 * product a gradient op must compute. h defaults to 1e-6 (float64) or 1e-2 (float32).
 */
export async function finiteDiff(fwd: ForwardGraph, x: ArrayLike<number>, dims: readonly number[], dY: ArrayLike<number>, h?: number): Promise<number[]> {
  const model = forwardModel(fwd, dims);
  const step = h ?? (fwd.dtype === 'float64' ? 1e-6 : 1e-2);
  const mk = fwd.dtype === 'float64' ? f64 : f32;
  const session = fwd.freshSessions ? undefined : await loadModel(model);
  try {
    const L = async (v: number[]) => {
      const s = session ?? (await loadModel(model));
      const y = nums((await s.run({ x: mk(v, dims) })).y);
      if (!session) await s.release();
      return y.reduce((acc, yi, i) => acc + yi * dY[i], 0);
    };
    return await centralDifferences(Array.from(x), L, () => [step, step] as const);
  } finally {
    await session?.release();
  }
}

/** Runs a forward graph once on ORT (e.g. to produce the Y a gradient op consumes). */
export async function runForward(fwd: ForwardGraph, x: ArrayLike<number>, dims: readonly number[]): Promise<ort.Tensor> {
  const out = await runModel(forwardModel(fwd, dims), { x: fwd.dtype === 'float64' ? f64(x, dims) : f32(x, dims) });
  return out.y;
}
