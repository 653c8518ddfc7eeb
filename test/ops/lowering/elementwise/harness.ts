/**
 * Test harness for single-node lowering rules: builds a graph holding one ORT training op, applies the rule with
 * a builder (check, then lower), rewires the returned values to the node's output names with Identity, removes
 * the node and runs the result on stock onnxruntime-node. Also: running the *original* graph (for contrib ops
 * stock ORT implements), central finite differences of a forward graph, and tolerance assertions.
 *
 * The ShapeInfo handed to the rule is built from what the test declares, so each case chooses what the rule
 * may know: full static shapes, ranks only, nothing, or not even element types.
 */
import type { ExecutionContext } from 'ava';
import { GraphBuilder, Value, valueInfo, type AttrValue } from '../../../../src/builder/index.js';
import { Graph, Model, Node } from '../../../../src/ir/graph.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { tensorDims, tensorToArray } from '../../../../src/onnx/tensor.js';
import type { Dim, LoweringContext, LoweringRule, ShapeInfo } from '../../../../src/ops/lowering/rule.js';
import { loadModel, ort, runModel } from '../../../helpers/ort.js';

export { ort };
export const MS = 'com.microsoft';

/** What the rule is told about the inputs: declared dims, ranks only (unique symbolic dims), or nothing. */
export type Knowledge = 'static' | 'rank' | 'none' | 'untyped';

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
  domain?: string;
  /** undefined = blank optional input. */
  inputs: (InputSpec | undefined)[];
  attrs?: Record<string, AttrValue | undefined>;
  /** Output names ('' = absent optional output) and their element types. */
  outputs: readonly (readonly [string, number])[];
  opset?: number;
  knowledge?: Knowledge;
}

const ORT_TO_DT: Record<string, number> = {
  float32: DataType.FLOAT, float64: DataType.DOUBLE, int64: DataType.INT64, int32: DataType.INT32, bool: DataType.BOOL,
  uint32: DataType.UINT32, uint8: DataType.UINT8, float16: DataType.FLOAT16,
};

export const dtypeOf = (t: ort.Tensor): number => {
  const d = ORT_TO_DT[t.type];
  if (d === undefined) throw new Error(`harness: unsupported tensor type ${t.type}`);
  return d;
};

interface Built {
  model: Model;
  node: Node;
  feeds: Record<string, ort.Tensor>;
  shapes: ShapeInfo;
  opset: number;
}

/** Builds the one-node graph and the ShapeInfo the chosen knowledge level allows. */
export function buildNodeGraph(spec: NodeSpec): Built {
  const opset = spec.opset ?? 17;
  const b = GraphBuilder.create('case', { opset });
  const feeds: Record<string, ort.Tensor> = {};
  const known = new Map<string, { dtype?: number; shape?: readonly Dim[] }>();
  const knowledge = spec.knowledge ?? 'static';
  let fresh = 0;
  const tell = (name: string, dtype: number, dims: readonly Dim[] | null | undefined) => {
    if (knowledge === 'untyped') return known.set(name, {});
    if (knowledge === 'none' || dims === null || dims === undefined) return known.set(name, { dtype });
    if (knowledge === 'rank') return known.set(name, { dtype, shape: dims.map(() => `?${fresh++}`) });
    return known.set(name, { dtype, shape: dims });
  };
  for (const i of spec.inputs) {
    if (!i) continue;
    const dt = dtypeOf(i.tensor);
    if (i.shapeOf) {
      const x = `${i.name}__of`;
      const declared = i.declared === null ? undefined : i.declared ?? i.shapeOf;
      b.input(x, DataType.FLOAT, declared);
      tell(x, DataType.FLOAT, declared);
      b.node('Shape', [x], { outputs: [i.name] });
      tell(i.name, DataType.INT64, [i.shapeOf.length]);
      feeds[x] = new ort.Tensor('float32', new Float32Array(i.shapeOf.reduce((p, d) => p * d, 1)), [...i.shapeOf]);
    } else if (i.constant) {
      b.initializer(i.name, dt, [...i.tensor.dims], i.tensor.data as never);
      tell(i.name, dt, i.tensor.dims);
    } else {
      const declared = i.declared === null ? undefined : i.declared ?? i.tensor.dims;
      b.input(i.name, dt, declared);
      tell(i.name, dt, declared);
      feeds[i.name] = i.tensor;
    }
  }
  const outNames = spec.outputs.map(([n]) => n);
  b.node(spec.opType, spec.inputs.map((i) => i?.name), { domain: spec.domain ?? MS, attrs: spec.attrs, outputs: outNames });
  const node = b.graph.nodes[b.graph.nodes.length - 1];
  for (const [name, dt] of spec.outputs) if (name) b.graph.outputs.push(valueInfo(name, dt));
  const model = b.toModel();
  const graph = model.graph;
  const shapes: ShapeInfo = {
    dtype: (n) => known.get(n)?.dtype,
    shape: (n) => known.get(n)?.shape,
    rank: (n) => known.get(n)?.shape?.length,
    constant: (n) => {
      const t = graph.initializers.get(n);
      return t && !graph.isGraphInput(n) ? { dims: tensorDims(t), data: tensorToArray(t) as ArrayLike<number | bigint> } : undefined;
    },
  };
  return { model, node, feeds, shapes, opset };
}

/** A deep copy of a model (graph structure only), so the original stays runnable. */
function cloneModel(m: Model): Model {
  const g = new Graph(m.graph.name);
  g.inputs = m.graph.inputs.map((x) => ({ ...x }));
  g.outputs = m.graph.outputs.map((x) => ({ ...x }));
  g.initializers = new Map(m.graph.initializers);
  g.valueInfo = new Map(m.graph.valueInfo);
  for (const n of m.graph.nodes) {
    const c = new Node({ opType: n.opType, domain: n.domain, name: n.name, inputs: [...n.inputs], outputs: [...n.outputs], attributes: [...n.attributes] });
    g.nodes.push(c);
  }
  return new Model(g, new Map(m.opsets), m.irVersion, { ...m.extra });
}

export interface Lowered {
  model: Model;
  /** Op types of the lowered graph (for structural assertions). */
  ops: string[];
  feeds: Record<string, ort.Tensor>;
  /** The original one-node model (com.microsoft op still in it). */
  original: Model;
}

/** Result of check() alone, for refusal cases. */
export function checkOnly(rule: LoweringRule, spec: NodeSpec): string | undefined {
  const built = buildNodeGraph(spec);
  const ctx: LoweringContext = { b: new GraphBuilder(built.model.graph, { opset: built.opset }), shapes: built.shapes, opset: built.opset };
  return rule.check(built.node, ctx);
}

/** check() must pass; lower() is applied and its values wired to the node's output names. */
export function lower(t: ExecutionContext, rule: LoweringRule, spec: NodeSpec): Lowered {
  const built = buildNodeGraph(spec);
  const original = cloneModel(built.model);
  const graph = built.model.graph;
  const node = graph.nodes.find((n) => n.opType === spec.opType)!;
  t.is(rule.op, `${(spec.domain ?? MS) || 'ai.onnx'}::${spec.opType}`, 'rule key');
  const b = new GraphBuilder(graph, { opset: built.opset, scope: node.name || spec.opType });
  const ctx: LoweringContext = { b, shapes: built.shapes, opset: built.opset };
  const reason = rule.check(node, ctx);
  if (reason !== undefined) throw new Error(`check() refused: ${reason}`);
  const values = rule.lower(node, ctx);
  graph.removeNode(node);
  node.outputs.forEach((name, i) => {
    if (!name) return;
    const v = values[i];
    if (!v) throw new Error(`lower() returned no value for output ${i} ("${name}")`);
    b.node('Identity', [v], { outputs: [name] });
  });
  graph.topoSort();
  graph.removeDeadNodes();
  const model = new Model(graph, new Map([['', built.opset]]), built.model.irVersion, built.model.extra);
  const ops = graph.nodes.map((n) => (n.domain ? `${n.domain}::${n.opType}` : n.opType));
  const foreign = ops.filter((o) => o.includes('::'));
  t.deepEqual(foreign, [], 'only standard ONNX ops remain');
  return { model, ops, feeds: built.feeds, original };
}

/** Lowers and runs; returns outputs by name. */
export async function lowerAndRun(t: ExecutionContext, rule: LoweringRule, spec: NodeSpec): Promise<Record<string, ort.Tensor> & { __ops?: string[] }> {
  const l = lower(t, rule, spec);
  const out = await runModel(l.model, l.feeds);
  Object.defineProperty(out, '__ops', { value: l.ops, enumerable: false });
  return out;
}

/** Runs the original (un-lowered) graph — only for contrib ops stock ORT implements (Gelu, FusedMatMul, …). */
export async function runOriginal(spec: NodeSpec): Promise<Record<string, ort.Tensor>> {
  const built = buildNodeGraph(spec);
  return runModel(built.model, built.feeds);
}

// ----------------------------------------------------------------------------------------------- tensors

export const f32 = (data: ArrayLike<number>, dims: readonly number[]) => new ort.Tensor('float32', Float32Array.from(data), [...dims]);
export const f64 = (data: ArrayLike<number>, dims: readonly number[]) => new ort.Tensor('float64', Float64Array.from(data), [...dims]);
export const i64 = (data: ArrayLike<number>, dims: readonly number[] = [data.length]) => new ort.Tensor('int64', BigInt64Array.from(Array.from(data, (x) => BigInt(x))), [...dims]);
export const i32 = (data: ArrayLike<number>, dims: readonly number[] = [data.length]) => new ort.Tensor('int32', Int32Array.from(data), [...dims]);
export const bool = (data: ArrayLike<boolean | number>, dims: readonly number[]) => new ort.Tensor('bool', Uint8Array.from(Array.from(data, (x) => (x ? 1 : 0))), [...dims]);
export const u32 = (data: ArrayLike<number>, dims: readonly number[] = [data.length]) => new ort.Tensor('uint32', Uint32Array.from(data), [...dims]);

/** Tensor contents as plain numbers. */
export const nums = (t: ort.Tensor): number[] => Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x));

export const size = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

// ----------------------------------------------------------------------------------------------- assertions

/** Asserts |a − e| ≤ atol + rtol·|e| element-wise (and equal lengths), reporting the worst element. */
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

// ----------------------------------------------------------------------------------------------- finite differences

export interface ForwardGraph {
  /** Builds the forward computation of input `x` (and constant extras) returning the output value. */
  build(b: GraphBuilder, x: Value): Value;
  /** Element type to run in (float64 where ORT implements the ops, float32 otherwise). */
  dtype: 'float32' | 'float64';
  opset?: number;
  /** A fresh session per evaluation (random ops with a fixed seed then give the same mask every time). */
  freshSessions?: boolean;
}

/**
 * Central finite differences of L(x) = Σ dY·f(x), f run on ORT: returns dL/dx, i.e. the vector-Jacobian
 * product a gradient op must compute. h defaults to 1e-6 (float64) or 1e-2 (float32).
 */
export async function finiteDiff(fwd: ForwardGraph, x: ArrayLike<number>, dims: readonly number[], dY: ArrayLike<number>, h?: number): Promise<number[]> {
  const dt = fwd.dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
  const b = GraphBuilder.create('fwd', { opset: fwd.opset ?? 17 });
  const xv = b.input('x', dt, [...dims]);
  b.output(fwd.build(b, xv), 'y', dt);
  const model = b.toModel();
  const step = h ?? (fwd.dtype === 'float64' ? 1e-6 : 1e-2);
  const mk = (v: ArrayLike<number>) => (fwd.dtype === 'float64' ? f64(v, dims) : f32(v, dims));
  let session = fwd.freshSessions ? undefined : await loadModel(model);
  const loss = async (v: number[]) => {
    const s = session ?? (await loadModel(model));
    const y = nums((await s.run({ x: mk(v) })).y);
    if (!session) await s.release();
    return y.reduce((acc, yi, i) => acc + yi * dY[i], 0);
  };
  const base = Array.from(x);
  const grad: number[] = [];
  for (let i = 0; i < base.length; i++) {
    const plus = base.slice();
    const minus = base.slice();
    plus[i] += step;
    minus[i] -= step;
    grad.push(((await loss(plus)) - (await loss(minus))) / (2 * step));
  }
  if (session) await session.release();
  session = undefined;
  return grad;
}

/** Runs a forward graph once on ORT (e.g. to produce the Y a gradient op consumes). */
export async function runForward(fwd: ForwardGraph, x: ArrayLike<number>, dims: readonly number[]): Promise<ort.Tensor> {
  const dt = fwd.dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
  const b = GraphBuilder.create('fwd', { opset: fwd.opset ?? 17 });
  const xv = b.input('x', dt, [...dims]);
  b.output(fwd.build(b, xv), 'y', dt);
  const out = await runModel(b.toModel(), { x: fwd.dtype === 'float64' ? f64(x, dims) : f32(x, dims) });
  return out.y;
}
