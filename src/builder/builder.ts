/**
 * GraphBuilder: writes nodes into an IR Graph with scoped deterministic names, typed constants and an
 * opset-aware op table (`b.op.Add(x, y)`, see ops.ts). Values carry their element type when the builder can
 * know it (inputs, constants, most ops), which lets `b.op.Mul(x, 0.9)` make a constant of x's type.
 */
import Long from 'long';
import { Graph, Model, Node } from '../ir/graph.js';
import type { AttributeProto, TensorProto, ValueInfoProto } from '../onnx/types.js';
import { AttributeType } from '../onnx/types.js';
import { DataType, dtypeName } from '../onnx/dtypes.js';
import { makeTensor, type TypedArray } from '../onnx/tensor.js';
import { OnnxTrainError } from '../errors.js';
import { Ops } from './ops.js';

/** A value in the graph being built: its name, and its element type / shape when known. */
export class Value {
  constructor(
    readonly name: string,
    readonly dtype?: number,
    readonly shape?: readonly (number | string)[],
  ) {}
}

export type ValueLike = Value | number;

/** Attribute values the builder accepts; numbers are INT when integral unless wrapped with `float()`. */
export type AttrValue =
  | number | bigint | string | boolean | Float | TensorProto | Graph
  | readonly number[] | readonly bigint[] | readonly string[] | readonly Float[] | readonly Graph[];

/** Marks a number as a FLOAT attribute (e.g. `alpha: float(1)`), since 1 would otherwise be an INT. */
export class Float {
  constructor(readonly value: number) {}
}
export const float = (v: number) => new Float(v);

export type Shape = readonly (number | string)[];

export interface BuilderOptions {
  /** Default-domain opset the graph targets (default: the model's, else 17). */
  opset?: number;
  /** Name prefix for everything this builder creates. */
  scope?: string;
}

export const DEFAULT_OPSET = 17;

export class GraphBuilder {
  readonly graph: Graph;
  readonly opset: number;
  readonly op: Ops;
  private scopes: string[];
  private constCache = new Map<string, Value>();
  private dtypes = new Map<string, number>();
  /** Set of non-default domains used (the model must import them). */
  readonly domainsUsed = new Set<string>();

  constructor(graph: Graph, opts: BuilderOptions = {}) {
    this.graph = graph;
    this.opset = opts.opset ?? DEFAULT_OPSET;
    this.scopes = opts.scope ? [opts.scope] : [];
    this.op = new Ops(this);
    for (const i of graph.inputs) {
      const t = i.type?.tensor_type?.elem_type;
      if (t) this.dtypes.set(i.name ?? '', t);
    }
    for (const [k, t] of graph.initializers) if (t.data_type) this.dtypes.set(k, t.data_type);
    for (const [k, v] of graph.valueInfo) {
      const t = v.type?.tensor_type?.elem_type;
      if (t) this.dtypes.set(k, t);
    }
  }

  /** A builder over a fresh model (opset imports set; add inputs/outputs, then `toModel`). */
  static create(name = 'graph', opts: BuilderOptions = {}): GraphBuilder {
    return new GraphBuilder(new Graph(name), opts);
  }

  /** Wraps the graph in a Model with the opset imports it needs (IR 8: ORT 1.14+ and every ORT Web). */
  toModel(producer = 'onnx-train'): Model {
    const opsets = new Map<string, number>([['', this.opset]]);
    for (const d of this.domainsUsed) opsets.set(d, 1);
    return new Model(this.graph, opsets, 8, { producer_name: producer, producer_version: '0.1.0' });
  }

  // ------------------------------------------------------------------------------------------------ naming

  get scopePrefix(): string {
    return this.scopes.length ? `${this.scopes.join('/')}/` : '';
  }

  /** Runs `fn` with `name` pushed on the scope stack (nodes are named `outer/name/Op_k`). */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** A fresh value name under the current scope. */
  freshName(base: string): string {
    return this.graph.uniqueName(`${this.scopePrefix}${base}`);
  }

  /** Look up a value that already exists in the graph (input, initializer or node output). */
  value(name: string): Value {
    if (!this.graph.isDefined(name)) {
      throw new OnnxTrainError('INVALID_GRAPH', `no value named "${name}" in graph "${this.graph.name}"`, 'check the name (inputs, initializers and node outputs are searched)');
    }
    return new Value(name, this.dtypes.get(name));
  }

  dtypeOf(v: Value | string): number | undefined {
    if (typeof v === 'string') return this.dtypes.get(v);
    return v.dtype ?? this.dtypes.get(v.name);
  }

  // ------------------------------------------------------------------------------------------------ I/O

  /** Adds a graph input. Dims: numbers, or strings for symbolic dims. */
  input(name: string, dtype: number, shape?: Shape): Value {
    if (this.graph.isGraphInput(name)) throw new OnnxTrainError('INVALID_GRAPH', `graph input "${name}" already exists`, 'input names must be unique');
    this.graph.inputs.push(valueInfo(name, dtype, shape));
    this.graph.invalidate();
    this.dtypes.set(name, dtype);
    return new Value(name, dtype, shape);
  }

  /** Marks `v` as a graph output named `name` (an Identity is inserted when the name differs or is taken). */
  output(v: Value, name = v.name, dtype = this.dtypeOf(v), shape?: Shape): Value {
    let out = v;
    const isInput = this.graph.isGraphInput(v.name) || this.graph.initializers.has(v.name);
    if (name !== v.name || isInput || this.graph.isGraphOutput(v.name)) {
      if (this.graph.isDefined(name) || this.graph.isGraphOutput(name)) {
        throw new OnnxTrainError('INVALID_GRAPH', `cannot add output "${name}": the name is already used`, 'choose another output name');
      }
      this.node('Identity', [v], { outputs: [name] });
      out = new Value(name, dtype, shape);
    }
    this.graph.outputs.push(valueInfo(name, dtype ?? DataType.UNDEFINED, shape));
    this.graph.invalidate();
    return out;
  }

  /** Adds an initializer (a named constant tensor). */
  initializer(name: string, dtype: number, dims: readonly number[], data: TypedArray | readonly number[] | readonly bigint[]): Value {
    if (this.graph.initializers.has(name)) throw new OnnxTrainError('INVALID_GRAPH', `initializer "${name}" already exists`, 'initializer names must be unique');
    this.graph.initializers.set(name, makeTensor(name, dtype, dims, data));
    this.graph.invalidate();
    this.dtypes.set(name, dtype);
    return new Value(name, dtype, dims);
  }

  // ------------------------------------------------------------------------------------------------ constants

  /**
   * A constant (Constant node), cached per builder so equal constants are emitted once.
   * `dims` defaults to a scalar for a single number, [n] for an array.
   */
  const(value: number | bigint | boolean | readonly number[] | readonly bigint[], dtype: number, dims?: readonly number[]): Value {
    const arr: (number | bigint)[] = Array.isArray(value) ? [...(value as (number | bigint)[])] : [typeof value === 'boolean' ? Number(value) : (value as number | bigint)];
    const shape = dims ?? (Array.isArray(value) ? [arr.length] : []);
    const key = `${dtype}|${shape.join(',')}|${arr.map((x) => (typeof x === 'number' && Object.is(x, -0) ? '-0' : String(x))).join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const data: number[] | bigint[] = dtype === DataType.INT64 ? arr.map((x) => BigInt(x)) : arr.map((x) => Number(x));
    const tensor = makeTensor('', dtype, shape, data as number[]);
    const [v] = this.node('Constant', [], { attrs: { value: tensor }, nameHint: `const_${dtypeName(dtype).toLowerCase()}`, dtypes: [dtype] });
    const out = new Value(v.name, dtype, shape);
    this.constCache.set(key, out);
    return out;
  }

  /** float32 scalar constant. */
  f32(v: number): Value {
    return this.const(v, DataType.FLOAT);
  }

  /** int64 scalar (or 1-D when given an array) constant. */
  i64(v: number | bigint | readonly number[] | readonly bigint[]): Value {
    return this.const(v as number, DataType.INT64);
  }

  /** Turns a number into a constant of `dtype` (float32 when unknown). */
  lift(v: ValueLike, dtype: number | undefined): Value {
    return typeof v === 'number' ? this.const(v, dtype ?? DataType.FLOAT) : v;
  }

  // ------------------------------------------------------------------------------------------------ nodes

  /**
   * Emits one node. `outputs` is a count (names are generated) or explicit names. `dtypes` records the
   * output element types for later constant lifting.
   */
  node(
    opType: string,
    inputs: readonly (Value | string | undefined)[],
    opts: {
      attrs?: Record<string, AttrValue | undefined>;
      outputs?: number | readonly string[];
      domain?: string;
      nameHint?: string;
      dtypes?: readonly (number | undefined)[];
    } = {},
  ): Value[] {
    const domain = opts.domain ?? '';
    if (domain) this.domainsUsed.add(domain);
    const nodeName = this.freshName(opts.nameHint ?? opType);
    const outCount = typeof opts.outputs === 'number' ? opts.outputs : opts.outputs?.length ?? 1;
    const outNames = Array.isArray(opts.outputs)
      ? [...(opts.outputs as readonly string[])]
      : Array.from({ length: outCount }, (_, i) => this.graph.uniqueName(outCount === 1 ? `${nodeName}:0` : `${nodeName}:${i}`));
    const inNames = inputs.map((x) => (x === undefined ? '' : typeof x === 'string' ? x : x.name));
    // Drop trailing blank optional inputs (ONNX allows them, some runtimes are picky).
    while (inNames.length && inNames[inNames.length - 1] === '') inNames.pop();
    const attributes: AttributeProto[] = [];
    const subgraphs = new Map<string, Graph | Graph[]>();
    for (const [k, v] of Object.entries(opts.attrs ?? {})) {
      if (v === undefined) continue;
      if (v instanceof Graph) {
        subgraphs.set(k, v);
        attributes.push({ name: k, type: AttributeType.GRAPH });
      } else if (Array.isArray(v) && v.length && v[0] instanceof Graph) {
        subgraphs.set(k, v as Graph[]);
        attributes.push({ name: k, type: AttributeType.GRAPHS });
      } else {
        attributes.push(makeAttribute(k, v));
      }
    }
    const n = new Node({ opType, domain, name: nodeName, inputs: inNames, outputs: outNames, attributes });
    n.subgraphs = subgraphs;
    this.graph.addNode(n);
    return outNames.map((name, i) => {
      const dt = opts.dtypes?.[i];
      if (dt !== undefined) this.dtypes.set(name, dt);
      return new Value(name, dt);
    });
  }

  /** Emits a single-output node and returns its value. */
  node1(opType: string, inputs: readonly (Value | string | undefined)[], attrs?: Record<string, AttrValue | undefined>, dtype?: number, domain?: string): Value {
    return this.node(opType, inputs, { attrs, dtypes: [dtype], domain })[0];
  }

  /** Records an output's type as value_info (helps ORT and readers; optional). */
  annotate(v: Value, dtype: number, shape?: Shape): void {
    this.graph.valueInfo.set(v.name, valueInfo(v.name, dtype, shape));
    this.dtypes.set(v.name, dtype);
  }
}

/** A ValueInfoProto for a tensor. */
export function valueInfo(name: string, dtype: number, shape?: Shape): ValueInfoProto {
  const vi: ValueInfoProto = { name, type: { tensor_type: { elem_type: dtype } } };
  if (shape) {
    vi.type!.tensor_type!.shape = {
      dim: shape.map((d) => (typeof d === 'number' ? { dim_value: Long.fromNumber(d) } : { dim_param: d })),
    };
  }
  return vi;
}

/** Builds an AttributeProto with the right type tag. */
export function makeAttribute(name: string, v: AttrValue): AttributeProto {
  const enc = (s: string) => new TextEncoder().encode(s);
  if (v instanceof Float) return { name, type: AttributeType.FLOAT, f: v.value };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: AttributeType.INT, i: Long.fromNumber(v) } : { name, type: AttributeType.FLOAT, f: v };
  }
  if (typeof v === 'bigint') return { name, type: AttributeType.INT, i: Long.fromString(v.toString()) };
  if (typeof v === 'boolean') return { name, type: AttributeType.INT, i: Long.fromNumber(v ? 1 : 0) };
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: enc(v) };
  if (Array.isArray(v)) {
    if (v.length === 0) return { name, type: AttributeType.INTS, ints: [] };
    const first = v[0];
    if (first instanceof Float) return { name, type: AttributeType.FLOATS, floats: (v as Float[]).map((x) => x.value) };
    if (typeof first === 'string') return { name, type: AttributeType.STRINGS, strings: (v as string[]).map(enc) };
    if (typeof first === 'bigint') return { name, type: AttributeType.INTS, ints: (v as bigint[]).map((x) => Long.fromString(x.toString())) };
    if ((v as number[]).every((x) => Number.isInteger(x))) return { name, type: AttributeType.INTS, ints: (v as number[]).map((x) => Long.fromNumber(x)) };
    return { name, type: AttributeType.FLOATS, floats: v as number[] };
  }
  if (typeof v === 'object' && v !== null && 'data_type' in v) return { name, type: AttributeType.TENSOR, t: v as TensorProto };
  throw new OnnxTrainError('BAD_ARGUMENT', `attribute "${name}" has an unsupported value`, 'use a number, bigint, string, array, tensor or graph');
}
