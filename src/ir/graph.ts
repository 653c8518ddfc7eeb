/**
 * The in-memory graph IR: a Model owns a Graph; a Graph owns Nodes and knows, for every value name, which node
 * produces it and which nodes use it. Values are identified by name (as in ONNX); the def-use index is rebuilt
 * lazily after mutations made through Graph's methods. Everything the proto carries is kept (doc strings,
 * metadata, value_info, sparse initializers, functions, training_info), so `toProto(fromProto(m))` is lossless.
 *
 * Mutation rules: change nodes through `addNode`/`removeNode`/`replaceInput`/`renameValue`; iterate over
 * `[...graph.nodes]` (a snapshot) when the loop body edits the graph. Subgraphs of If/Loop/Scan are Graph
 * objects (`node.subgraphs`), whose `outer` points at the enclosing graph for outer-scope name lookup.
 */
import type {
  AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, SparseTensorProto,
  StringStringEntryProto, TensorProto, ValueInfoProto, FunctionProto, TrainingInfoProto,
} from '../onnx/types.js';
import { AttributeType } from '../onnx/types.js';
import { toBigInt, toNumber } from '../onnx/int64.js';
import { OnnxTrainError } from '../errors.js';

export class Node {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Attributes as protos, except that graph-valued attributes live in `subgraphs`. */
  attributes: AttributeProto[];
  /** Graph-valued attributes (If then/else_branch, Loop/Scan body), by attribute name. */
  subgraphs: Map<string, Graph | Graph[]>;
  /** Everything else NodeProto carries (doc_string, overload, metadata_props, device_configurations). */
  extra: Pick<NodeProto, 'doc_string' | 'overload' | 'metadata_props' | 'device_configurations'>;

  constructor(init: { opType: string; domain?: string; name?: string; inputs?: string[]; outputs?: string[]; attributes?: AttributeProto[] }) {
    this.opType = init.opType;
    this.domain = init.domain ?? '';
    this.name = init.name ?? '';
    this.inputs = init.inputs ?? [];
    this.outputs = init.outputs ?? [];
    this.attributes = init.attributes ?? [];
    this.subgraphs = new Map();
    this.extra = {};
  }

  /** `domain::opType`, with the default domain written as `ai.onnx`. */
  get qualifiedOp(): string {
    return `${this.domain === '' ? 'ai.onnx' : this.domain}::${this.opType}`;
  }

  attr(name: string): AttributeProto | undefined {
    return this.attributes.find((a) => a.name === name);
  }

  attrInt(name: string, dflt: number): number;
  attrInt(name: string): number | undefined;
  attrInt(name: string, dflt?: number): number | undefined {
    const a = this.attr(name);
    return a?.i !== undefined ? toNumber(a.i) : dflt;
  }

  attrInts(name: string): number[] | undefined {
    const a = this.attr(name);
    return a ? (a.ints ?? []).map(toNumber) : undefined;
  }

  attrBigInts(name: string): bigint[] | undefined {
    const a = this.attr(name);
    return a ? (a.ints ?? []).map(toBigInt) : undefined;
  }

  attrFloat(name: string, dflt: number): number;
  attrFloat(name: string): number | undefined;
  attrFloat(name: string, dflt?: number): number | undefined {
    const a = this.attr(name);
    return a?.f !== undefined ? a.f : dflt;
  }

  attrFloats(name: string): number[] | undefined {
    return this.attr(name)?.floats;
  }

  attrString(name: string, dflt: string): string;
  attrString(name: string): string | undefined;
  attrString(name: string, dflt?: string): string | undefined {
    const a = this.attr(name);
    return a?.s !== undefined ? new TextDecoder().decode(a.s) : dflt;
  }

  attrTensor(name: string): TensorProto | undefined {
    return this.attr(name)?.t;
  }

  /** Input i, or undefined when absent or blank (optional inputs are written as ''). */
  input(i: number): string | undefined {
    const v = this.inputs[i];
    return v === undefined || v === '' ? undefined : v;
  }
}

export interface Use {
  readonly node: Node;
  readonly index: number;
}

export class Graph {
  name: string;
  nodes: Node[] = [];
  inputs: ValueInfoProto[] = [];
  outputs: ValueInfoProto[] = [];
  initializers = new Map<string, TensorProto>();
  sparseInitializers: SparseTensorProto[] = [];
  valueInfo = new Map<string, ValueInfoProto>();
  extra: Pick<GraphProto, 'doc_string' | 'metadata_props' | 'quantization_annotation'> = {};
  /** Enclosing graph for subgraphs (outer-scope values). */
  outer: Graph | undefined;

  private producers: Map<string, Node> | undefined;
  private users: Map<string, Use[]> | undefined;
  private nameCounters = new Map<string, number>();
  private usedNames: Set<string> | undefined;

  constructor(name = 'graph', outer?: Graph) {
    this.name = name;
    this.outer = outer;
  }

  /** Call after editing node inputs/outputs directly. */
  invalidate(): void {
    this.producers = undefined;
    this.users = undefined;
    this.usedNames = undefined;
  }

  private index(): void {
    if (this.producers && this.users) return;
    const producers = new Map<string, Node>();
    const users = new Map<string, Use[]>();
    for (const n of this.nodes) {
      n.outputs.forEach((o) => { if (o) producers.set(o, n); });
      n.inputs.forEach((i, index) => {
        if (!i) return;
        let u = users.get(i);
        if (!u) users.set(i, (u = []));
        u.push({ node: n, index });
      });
      for (const sg of n.subgraphs.values()) {
        for (const g of Array.isArray(sg) ? sg : [sg]) {
          for (const name of g.outerReferences()) {
            let u = users.get(name);
            if (!u) users.set(name, (u = []));
            u.push({ node: n, index: -1 });
          }
        }
      }
    }
    this.producers = producers;
    this.users = users;
  }

  /** Names a subgraph reads from enclosing scopes (used but not defined inside). */
  outerReferences(): Set<string> {
    const defined = new Set<string>([...this.inputs.map((i) => i.name ?? ''), ...this.initializers.keys()]);
    for (const n of this.nodes) n.outputs.forEach((o) => defined.add(o));
    const refs = new Set<string>();
    for (const n of this.nodes) {
      for (const i of n.inputs) if (i && !defined.has(i)) refs.add(i);
      for (const sg of n.subgraphs.values()) {
        for (const g of Array.isArray(sg) ? sg : [sg]) for (const r of g.outerReferences()) if (!defined.has(r)) refs.add(r);
      }
    }
    return refs;
  }

  producer(name: string): Node | undefined {
    this.index();
    return this.producers!.get(name);
  }

  uses(name: string): readonly Use[] {
    this.index();
    return this.users!.get(name) ?? [];
  }

  isGraphInput(name: string): boolean {
    return this.inputs.some((i) => i.name === name);
  }

  isGraphOutput(name: string): boolean {
    return this.outputs.some((o) => o.name === name);
  }

  /** Is `name` available in this graph: an input, initializer, node output, or from an outer scope. */
  isDefined(name: string): boolean {
    if (this.isGraphInput(name) || this.initializers.has(name) || this.producer(name)) return true;
    return this.outer ? this.outer.isDefined(name) : false;
  }

  /** Adds a node at the end (or before `before`). */
  addNode(node: Node, before?: Node): Node {
    if (before) {
      const i = this.nodes.indexOf(before);
      this.nodes.splice(i < 0 ? this.nodes.length : i, 0, node);
    } else {
      this.nodes.push(node);
    }
    // Adding a node only adds names: keep the name set (rebuilding it per node made lowering O(n²)).
    this.producers = undefined;
    this.users = undefined;
    if (this.usedNames) {
      this.usedNames.add(node.name);
      node.inputs.forEach((x) => this.usedNames!.add(x));
      node.outputs.forEach((x) => this.usedNames!.add(x));
    }
    return node;
  }

  removeNode(node: Node): void {
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.nodes.splice(i, 1);
    this.invalidate();
  }

  /** Replace every use of `from` (node inputs, graph outputs) by `to`. */
  replaceAllUses(from: string, to: string): void {
    for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
    for (const o of this.outputs) if (o.name === from) o.name = to;
    this.invalidate();
  }

  /** All names that exist anywhere in the graph (for unique-name generation). */
  private names(): Set<string> {
    if (!this.usedNames) {
      const s = new Set<string>();
      for (const i of this.inputs) s.add(i.name ?? '');
      for (const o of this.outputs) s.add(o.name ?? '');
      for (const k of this.initializers.keys()) s.add(k);
      for (const k of this.valueInfo.keys()) s.add(k);
      for (const n of this.nodes) {
        s.add(n.name);
        n.inputs.forEach((x) => s.add(x));
        n.outputs.forEach((x) => s.add(x));
      }
      this.usedNames = s;
    }
    return this.usedNames;
  }

  /**
   * A name not yet used in this graph, deterministic for a given sequence of calls: `base`, then `base_1`, …
   * The name is reserved immediately.
   */
  uniqueName(base: string): string {
    const used = this.names();
    let k = this.nameCounters.get(base) ?? 0;
    let name = k === 0 ? base : `${base}_${k}`;
    while (used.has(name) || (this.outer && this.outer.hasName(name))) {
      k++;
      name = `${base}_${k}`;
    }
    this.nameCounters.set(base, k + 1);
    used.add(name);
    return name;
  }

  private hasName(name: string): boolean {
    return this.names().has(name) || (this.outer ? this.outer.hasName(name) : false);
  }

  /**
   * Reorders nodes topologically (stable: keeps the current order where dependencies allow).
   * Throws INVALID_GRAPH naming the nodes on a cycle.
   */
  topoSort(): void {
    const available = new Set<string>([...this.inputs.map((i) => i.name ?? ''), ...this.initializers.keys(), '']);
    const isOuter = (n: string) => !this.producer(n) && !available.has(n);
    const pending = new Map<Node, number>();
    const waiting = new Map<string, Node[]>();
    const deps = (n: Node): string[] => {
      const d = n.inputs.filter((i) => i !== '');
      for (const sg of n.subgraphs.values()) for (const g of Array.isArray(sg) ? sg : [sg]) d.push(...g.outerReferences());
      return [...new Set(d)].filter((i) => !isOuter(i) && !available.has(i));
    };
    const order: Node[] = [];
    const ready: Node[] = [];
    const position = new Map(this.nodes.map((n, i) => [n, i]));
    for (const n of this.nodes) {
      const d = deps(n);
      pending.set(n, d.length);
      for (const i of d) {
        let w = waiting.get(i);
        if (!w) waiting.set(i, (w = []));
        w.push(n);
      }
      if (d.length === 0) ready.push(n);
    }
    // A small binary heap keyed on original position keeps the order stable and the sort O(n log n).
    const heap: Node[] = [];
    const less = (a: Node, b: Node) => position.get(a)! < position.get(b)!;
    const push = (n: Node) => {
      heap.push(n);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!less(heap[i], heap[p])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    };
    const pop = (): Node => {
      const top = heap[0];
      const last = heap.pop()!;
      if (heap.length) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < heap.length && less(heap[l], heap[m])) m = l;
          if (r < heap.length && less(heap[r], heap[m])) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m], heap[i]];
          i = m;
        }
      }
      return top;
    };
    ready.forEach(push);
    while (heap.length) {
      const n = pop();
      order.push(n);
      for (const o of n.outputs) {
        if (!o) continue;
        for (const w of waiting.get(o) ?? []) {
          const left = pending.get(w)! - 1;
          pending.set(w, left);
          if (left === 0) push(w);
        }
        waiting.delete(o);
      }
    }
    if (order.length !== this.nodes.length) {
      const stuck = this.nodes.filter((n) => !order.includes(n)).map((n) => n.name || n.opType);
      throw new OnnxTrainError('INVALID_GRAPH', `graph "${this.name}" has a cycle (or a value used before it is defined) through nodes: ${stuck.slice(0, 20).join(', ')}${stuck.length > 20 ? ', …' : ''}`, 'every value must be produced by exactly one node that does not depend on its own output');
    }
    this.nodes = order;
    this.invalidate();
  }

  /** Removes nodes whose outputs reach no graph output (and unused initializers). Returns how many went. */
  removeDeadNodes(): number {
    const live = new Set<string>(this.outputs.map((o) => o.name ?? ''));
    const keep = new Set<Node>();
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (n.outputs.some((o) => live.has(o))) {
        keep.add(n);
        n.inputs.forEach((x) => live.add(x));
        for (const sg of n.subgraphs.values()) for (const g of Array.isArray(sg) ? sg : [sg]) g.outerReferences().forEach((x) => live.add(x));
      }
    }
    const before = this.nodes.length;
    this.nodes = this.nodes.filter((n) => keep.has(n));
    for (const k of [...this.initializers.keys()]) if (!live.has(k) && !this.isGraphInput(k)) this.initializers.delete(k);
    this.invalidate();
    return before - this.nodes.length;
  }
}

// ---------------------------------------------------------------------------------------------------------
// serde

export function graphFromProto(gp: GraphProto, outer?: Graph): Graph {
  const g = new Graph(gp.name ?? '', outer);
  g.inputs = gp.input ?? [];
  g.outputs = gp.output ?? [];
  for (const t of gp.initializer ?? []) g.initializers.set(t.name ?? '', t);
  g.sparseInitializers = gp.sparse_initializer ?? [];
  for (const v of gp.value_info ?? []) g.valueInfo.set(v.name ?? '', v);
  if (gp.doc_string !== undefined) g.extra.doc_string = gp.doc_string;
  if (gp.metadata_props?.length) g.extra.metadata_props = gp.metadata_props;
  if (gp.quantization_annotation?.length) g.extra.quantization_annotation = gp.quantization_annotation;
  for (const np of gp.node ?? []) g.nodes.push(nodeFromProto(np, g));
  return g;
}

function nodeFromProto(np: NodeProto, owner: Graph): Node {
  const n = new Node({ opType: np.op_type ?? '', domain: np.domain ?? '', name: np.name ?? '', inputs: [...(np.input ?? [])], outputs: [...(np.output ?? [])] });
  for (const a of np.attribute ?? []) {
    if (a.g) {
      n.subgraphs.set(a.name ?? '', graphFromProto(a.g, owner));
      n.attributes.push({ ...a, g: undefined });
    } else if (a.graphs?.length) {
      n.subgraphs.set(a.name ?? '', a.graphs.map((sg) => graphFromProto(sg, owner)));
      n.attributes.push({ ...a, graphs: [] });
    } else {
      n.attributes.push(a);
    }
  }
  if (np.doc_string !== undefined) n.extra.doc_string = np.doc_string;
  if (np.overload !== undefined) n.extra.overload = np.overload;
  if (np.metadata_props?.length) n.extra.metadata_props = np.metadata_props;
  if (np.device_configurations?.length) n.extra.device_configurations = np.device_configurations;
  return n;
}

export function graphToProto(g: Graph): GraphProto {
  const gp: GraphProto = {
    node: g.nodes.map(nodeToProto),
    name: g.name,
    initializer: [...g.initializers.values()],
    input: g.inputs,
    output: g.outputs,
    value_info: [...g.valueInfo.values()],
  };
  if (g.sparseInitializers.length) gp.sparse_initializer = g.sparseInitializers;
  Object.assign(gp, g.extra);
  return gp;
}

function nodeToProto(n: Node): NodeProto {
  const attribute = n.attributes.map((a) => {
    const sg = n.subgraphs.get(a.name ?? '');
    if (!sg) return a;
    return Array.isArray(sg) ? { ...a, graphs: sg.map(graphToProto) } : { ...a, g: graphToProto(sg) };
  });
  const np: NodeProto = { input: n.inputs, output: n.outputs, op_type: n.opType, attribute };
  if (n.name) np.name = n.name;
  if (n.domain) np.domain = n.domain;
  Object.assign(np, n.extra);
  return np;
}

/** A model: opset imports as a map, the main graph as IR, and every other ModelProto field kept as is. */
export class Model {
  graph: Graph;
  opsets: Map<string, number>;
  irVersion: number;
  extra: Omit<ModelProto, 'graph' | 'opset_import' | 'ir_version'>;

  constructor(graph: Graph, opsets: Map<string, number>, irVersion = 8, extra: Model['extra'] = {}) {
    this.graph = graph;
    this.opsets = opsets;
    this.irVersion = irVersion;
    this.extra = extra;
  }

  /** Default-domain opset version. */
  get opset(): number {
    return this.opsets.get('') ?? this.opsets.get('ai.onnx') ?? 0;
  }

  static fromProto(mp: ModelProto): Model {
    if (!mp.graph) {
      throw new OnnxTrainError('BAD_MODEL', 'the model has no graph', 'this is not a complete ONNX model');
    }
    const opsets = new Map<string, number>();
    for (const o of mp.opset_import ?? []) opsets.set(o.domain ?? '', toNumber(o.version));
    const { graph, opset_import, ir_version, ...extra } = mp;
    void opset_import;
    return new Model(graphFromProto(graph), opsets, toNumber(ir_version), extra);
  }

  toProto(): ModelProto {
    const opset_import: OperatorSetIdProto[] = [...this.opsets].map(([domain, version]) => ({ domain, version }));
    return { ir_version: this.irVersion, opset_import, ...this.extra, graph: graphToProto(this.graph) };
  }
}

export type { AttributeProto, TensorProto, ValueInfoProto, StringStringEntryProto, FunctionProto, TrainingInfoProto };
export { AttributeType };
