/**
 * Test harness for the conv/pool/norm lowering rules: builds a tiny graph holding one ORT training node,
 * applies the rule through a GraphBuilder (as the lowering pass does), wires the returned values to the
 * original output names, drops the node, and runs the result on stock onnxruntime-node. Also: a ShapeInfo
 * read from a graph's declarations, central finite differences of a forward loss graph, and a tolerance check.
 */
import type { ExecutionContext } from 'ava';
import { GraphBuilder, Value, valueInfo, type AttrValue, type Shape } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { tensorDims, tensorToArray } from '../../../../src/onnx/tensor.js';
import type { Graph, Model, Node, ValueInfoProto } from '../../../../src/ir/graph.js';
import type { LoweringContext, LoweringRule, ShapeInfo } from '../../../../src/ops/lowering/rule.js';
import { CONV_NORM_RULES } from '../../../../src/ops/lowering/conv-norm/index.js';
import { loadModel, ort, type Feeds } from '../../../helpers/ort.js';
import type { Tensor } from '../../../reference/conv-norm.js';

/** ShapeInfo over a graph's inputs, outputs, value_info and initializers (what the pass knows statically). */
export function shapeInfo(g: Graph): ShapeInfo {
  const find = (name: string): ValueInfoProto | undefined =>
    g.valueInfo.get(name) ?? g.inputs.find((i) => i.name === name) ?? g.outputs.find((o) => o.name === name);
  const dims = (name: string): (number | string)[] | undefined => {
    const init = g.initializers.get(name);
    if (init) return tensorDims(init);
    const shape = find(name)?.type?.tensor_type?.shape;
    if (!shape) return undefined;
    return (shape.dim ?? []).map((d) => (d.dim_param ? d.dim_param : d.dim_value !== undefined && d.dim_value !== null ? Number(String(d.dim_value)) : '?'));
  };
  return {
    dtype: (name) => g.initializers.get(name)?.data_type ?? (find(name)?.type?.tensor_type?.elem_type || undefined),
    shape: dims,
    rank: (name) => dims(name)?.length,
    constant: (name) => {
      const t = g.initializers.get(name);
      return t ? { dims: tensorDims(t), data: tensorToArray(t) as ArrayLike<number | bigint> } : undefined;
    },
  };
}

export interface TensorDecl {
  name: string;
  dtype: number;
  /** Declared shape; omit for a value of unknown shape. */
  shape?: Shape;
}

export interface NodeCase {
  opType: string;
  domain: string;
  opset: number;
  /** Graph inputs. */
  inputs: TensorDecl[];
  /** Node inputs (default: the graph input names); '' for an absent optional input. */
  nodeInputs?: string[];
  /** Node outputs; '' for an absent output. */
  outputs: string[];
  /** value_info for outputs (e.g. a pooling gradient's static dX shape), like the artifacts carry. */
  outputInfo?: TensorDecl[];
  attrs?: Record<string, AttrValue | undefined>;
  /** Forward nodes emitted before the training node (e.g. the MaxPool that produces Indices). */
  prelude?: (b: GraphBuilder) => void;
}

export interface Lowered {
  model: Model;
  node: Node;
  rule: LoweringRule;
  /** Default-domain op types of the emitted nodes. */
  ops: string[];
}

/** The rule for a node, keyed as Node.qualifiedOp writes it. */
export function ruleFor(n: Node): LoweringRule {
  const r = CONV_NORM_RULES[n.qualifiedOp];
  if (!r) throw new Error(`no conv-norm rule for ${n.qualifiedOp}`);
  return r;
}

/** Builds the one-node graph and returns the builder, node and lowering context (nothing lowered yet). */
export function buildCase(c: NodeCase): { b: GraphBuilder; node: Node; ctx: LoweringContext } {
  const b = GraphBuilder.create(`${c.opType}_case`, { opset: c.opset });
  for (const i of c.inputs) b.input(i.name, i.dtype, i.shape);
  c.prelude?.(b);
  b.node(c.opType, c.nodeInputs ?? c.inputs.map((i) => i.name), { domain: c.domain, attrs: c.attrs, outputs: c.outputs });
  const node = b.graph.nodes[b.graph.nodes.length - 1];
  for (const o of c.outputInfo ?? []) b.graph.valueInfo.set(o.name, valueInfo(o.name, o.dtype, o.shape));
  return { b, node, ctx: { b, shapes: shapeInfo(b.graph), opset: c.opset } };
}

/** check() of the case's rule: undefined when it applies, else the reason. */
export function checkCase(c: NodeCase): string | undefined {
  const { node, ctx } = buildCase(c);
  return ruleFor(node).check(node, ctx);
}

/**
 * Lowers the case's node and returns a standard-ops model whose outputs are the node's present outputs
 * (same names). Throws when the rule does not apply or leaves a non-default-domain node behind.
 */
export function lowerCase(c: NodeCase): Lowered {
  const { b, node, ctx } = buildCase(c);
  const rule = ruleFor(node);
  const reason = rule.check(node, ctx);
  if (reason !== undefined) throw new Error(`rule does not apply: ${reason}`);
  const before = new Set(b.graph.nodes);
  const values = rule.lower(node, ctx);
  b.graph.removeNode(node);
  const ops = b.graph.nodes.filter((n) => !before.has(n)).map((n) => n.opType);
  node.outputs.forEach((name, i) => {
    if (!name) return;
    const v = values[i];
    if (!v) throw new Error(`rule returned no value for output ${i} ("${name}")`);
    b.output(v, name, b.dtypeOf(v));
  });
  const foreign = b.graph.nodes.filter((n) => n.domain !== '' && n.domain !== 'ai.onnx');
  if (foreign.length) throw new Error(`non-standard nodes remain: ${foreign.map((n) => n.qualifiedOp).join(', ')}`);
  b.domainsUsed.clear();
  b.graph.topoSort();
  return { model: b.toModel(), node, rule, ops };
}

// ---------------------------------------------------------------------------------------------------- running

export const f32 = (t: Tensor) => new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
export const f64 = (t: Tensor) => new ort.Tensor('float64', Float64Array.from(t.data), t.dims);
export const vec32 = (v: ArrayLike<number>) => new ort.Tensor('float32', Float32Array.from(v), [v.length]);
export const vec64 = (v: ArrayLike<number>) => new ort.Tensor('float64', Float64Array.from(v), [v.length]);

export async function run(model: Model, feeds: Feeds): Promise<Record<string, ort.Tensor>> {
  const s = await loadModel(model);
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

export const values = (t: ort.Tensor): number[] => Array.from(t.data as ArrayLike<number | bigint>, Number);

/**
 * Central finite differences of the scalar output `loss` of `model` w.r.t. every element of input `wrt`:
 * (L(x + h·e_i) − L(x − h·e_i)) / 2h. One session, 2·numel runs.
 */
export async function finiteDifferences(model: Model, feeds: Feeds, wrt: string, h: number, loss = 'loss'): Promise<Float64Array> {
  const s = await loadModel(model);
  try {
    const base = feeds[wrt];
    const data = base.data as Float32Array | Float64Array;
    const out = new Float64Array(data.length);
    const at = async (i: number, delta: number) => {
      const copy = data.slice();
      copy[i] = data[i] + delta;
      const r = await s.run({ ...feeds, [wrt]: new ort.Tensor(base.type as 'float32', copy as Float32Array, base.dims) });
      return Number((r[loss].data as ArrayLike<number>)[0]);
    };
    for (let i = 0; i < data.length; i++) {
      // Step as actually represented in the input's precision, so the quotient is not biased by rounding.
      const plus = (data instanceof Float32Array ? Math.fround(data[i] + h) : data[i] + h) - data[i];
      const minus = data[i] - (data instanceof Float32Array ? Math.fround(data[i] - h) : data[i] - h);
      out[i] = ((await at(i, plus)) - (await at(i, -minus))) / (plus + minus);
    }
    return out;
  } finally {
    await s.release();
  }
}

/** The forward graph's loss: ReduceSum(Cast(y, double) · dY) as a double scalar named "loss". */
export function lossOf(b: GraphBuilder, y: Value, dy: Value): void {
  b.output(b.op.ReduceSum(b.op.Mul(b.op.Cast(y, DataType.DOUBLE), dy), undefined, 0), 'loss', DataType.DOUBLE);
}

/**
 * Asserts |actual − expected| <= atol + rtol·|expected| elementwise (same length), reporting the worst element.
 */
export function assertClose(t: ExecutionContext, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: { rtol?: number; atol?: number }, label: string): void {
  const rtol = tol.rtol ?? 0;
  const atol = tol.atol ?? 0;
  if (actual.length !== expected.length) {
    t.fail(`${label}: length ${actual.length} != expected ${expected.length}`);
    return;
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) t.fail(`${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  else t.pass();
}
