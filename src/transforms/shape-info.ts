/**
 * ShapeInfo for the lowering pass: what is statically known about every value of a graph.
 *
 * Sources, in order of precedence: graph inputs and outputs, value_info, initializers (type, dims, and the value
 * itself when the initializer is not also a graph input), Constant nodes. Then one cheap forward propagation in
 * topological order fills element types for most node outputs (every op family in a training graph) and shapes
 * for shape-preserving ops, Shape/Size, and broadcasting element-wise ops. It never guesses: a value whose type or
 * shape does not follow from these rules stays unknown, and rules that need it refuse in `check`.
 *
 * Protobuf detail: decoded messages keep unset fields on the prototype (dim_value reads as 0, dim_param as ''),
 * so "is set" is decided with hasOwnProperty.
 */
import type { Dim, ShapeInfo } from '../ops/lowering/rule.js';
import type { Graph, Node } from '../ir/graph.js';
import type { TensorProto, ValueInfoProto } from '../onnx/types.js';
import { DataType } from '../onnx/dtypes.js';
import { tensorDims, tensorToArray } from '../onnx/tensor.js';
import { toNumber } from '../onnx/int64.js';

const own = (o: object | undefined, k: string): boolean => !!o && Object.prototype.hasOwnProperty.call(o, k);

interface Known {
  dtype?: number;
  shape?: Dim[];
}

/** Ops whose output 0 has the element type and shape of input 0. */
const SAME_AS_INPUT0 = new Set([
  'Identity', 'Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus',
  'Softsign', 'Neg', 'Abs', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sign', 'Erf', 'Sin', 'Cos',
  'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'Softmax', 'LogSoftmax', 'Hardmax',
  'Dropout', 'Clip', 'Mish', 'Gelu', 'ThresholdedRelu', 'Shrink', 'CumSum', 'LRN', 'InstanceNormalization',
  'BatchNormalization', 'LayerNormalization', 'MeanVarianceNormalization', 'Trilu', 'ScatterElements', 'ScatterND',
  'Scatter', 'PRelu', 'LpNormalization',
  // com.microsoft ops (same dtype and shape as their first input)
  'ReluGrad', 'SigmoidGrad', 'TanhGrad', 'GeluGrad', 'FastGeluGrad', 'QuickGeluGrad', 'LeakyReluGrad', 'SoftmaxGrad',
  'SoftmaxGrad_13', 'LogSoftmaxGrad', 'LogSoftmaxGrad_13', 'DropoutGrad', 'QuickGelu', 'FastGelu', 'BiasGelu',
  'InPlaceAccumulator', 'ZeroGradient', 'BatchNormInternal', 'SimplifiedLayerNormalization',
]);

/** Ops whose outputs all have the element type of input 0 (shape not propagated). */
const DTYPE_OF_INPUT0 = new Set([
  'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Flatten', 'Expand', 'Tile', 'Slice', 'Gather', 'GatherElements',
  'GatherND', 'Concat', 'Split', 'Pad', 'ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd',
  'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'MatMul', 'Gemm', 'Conv',
  'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'Resize', 'Einsum',
  'Range', 'TopK', 'Compress', 'DepthToSpace', 'SpaceToDepth', 'Sum', 'Mean', 'Max', 'Min', 'Add', 'Sub', 'Mul',
  'Div', 'Pow', 'Mod', 'Where', 'SoftmaxCrossEntropyLoss', 'NegativeLogLikelihoodLoss',
  // com.microsoft (gradients take dY's type)
  'ConvGrad', 'ConvTransposeGrad', 'MaxPoolGrad', 'AveragePoolGrad', 'BatchNormalizationGrad',
  'LayerNormalizationGrad', 'SimplifiedLayerNormalizationGrad', 'SoftmaxCrossEntropyLossGrad',
  'SoftmaxCrossEntropyLossInternalGrad', 'SoftmaxCrossEntropyLossInternal', 'NegativeLogLikelihoodLossInternal',
  'NegativeLogLikelihoodLossInternal2', 'Scale', 'FusedMatMul', 'ConcatTraining', 'SplitTraining', 'SliceGrad',
  'DivGrad', 'ReduceSumTraining', 'Gelu', 'BiasFastGeluGrad_dX', 'BiasGeluGrad_dX',
]);

const BOOL_OUT = new Set(['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OUT = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin', 'BroadcastGradientArgs']);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Xor']);

/** Reads the dims of a ValueInfoProto: numbers, symbolic names, or a fresh `?<k>` for an unspecified dim. */
function dimsOf(vi: ValueInfoProto, fresh: () => string): Dim[] | undefined {
  const shape = vi.type?.tensor_type?.shape;
  if (!shape || !own(vi.type?.tensor_type, 'shape')) return undefined;
  return (shape.dim ?? []).map((d) => {
    if (own(d, 'dim_value')) return toNumber(d.dim_value);
    if (own(d, 'dim_param') && d.dim_param) return d.dim_param;
    return fresh();
  });
}

function constantOfNode(n: Node): TensorProto | undefined {
  if (n.opType !== 'Constant' || (n.domain !== '' && n.domain !== 'ai.onnx')) return undefined;
  const t = n.attrTensor('value');
  if (t) return t;
  const f = n.attr('value_float');
  if (f && own(f, 'f')) return { data_type: DataType.FLOAT, dims: [], float_data: [f.f ?? 0] };
  const fs = n.attrFloats('value_floats');
  if (fs) return { data_type: DataType.FLOAT, dims: [fs.length], float_data: fs } as TensorProto;
  const i = n.attr('value_int');
  if (i && own(i, 'i')) return { data_type: DataType.INT64, dims: [], int64_data: [i.i ?? 0] };
  const is = n.attr('value_ints');
  if (is) return { data_type: DataType.INT64, dims: [(is.ints ?? []).length], int64_data: is.ints ?? [] } as TensorProto;
  return undefined;
}

function broadcastShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x === y) out.push(x);
    else if (x === 1) out.push(y);
    else if (y === 1) out.push(x);
    else if (typeof x === 'number' && typeof y === 'number') return undefined; // incompatible: leave unknown
    else return undefined; // symbolic vs something else: cannot tell without guessing
  }
  return out;
}

/** Builds the ShapeInfo of a graph (see the module comment for what it knows). */
export function inferShapeInfo(g: Graph): GraphShapeInfo {
  return new GraphShapeInfo(g);
}

export class GraphShapeInfo implements ShapeInfo {
  private readonly known = new Map<string, Known>();
  private readonly constants = new Map<string, TensorProto>();
  private unknownCounter = 0;

  constructor(private readonly g: Graph) {
    const fresh = () => `?${++this.unknownCounter}`;
    const add = (vi: ValueInfoProto) => {
      const name = vi.name ?? '';
      if (!name) return;
      const k = this.known.get(name) ?? {};
      const et = vi.type?.tensor_type?.elem_type;
      if (et && k.dtype === undefined) k.dtype = et;
      if (k.shape === undefined) {
        const d = dimsOf(vi, fresh);
        if (d) k.shape = d;
      }
      this.known.set(name, k);
    };
    g.inputs.forEach(add);
    g.outputs.forEach(add);
    for (const vi of g.valueInfo.values()) add(vi);
    for (const [name, t] of g.initializers) {
      const k = this.known.get(name) ?? {};
      k.dtype ??= t.data_type;
      k.shape ??= tensorDims(t);
      this.known.set(name, k);
      if (!g.isGraphInput(name)) this.constants.set(name, t);
    }
    this.propagate();
  }

  dtype(name: string): number | undefined {
    return this.known.get(name)?.dtype;
  }

  shape(name: string): readonly Dim[] | undefined {
    return this.known.get(name)?.shape;
  }

  rank(name: string): number | undefined {
    return this.known.get(name)?.shape?.length;
  }

  constant(name: string): { dims: number[]; data: ArrayLike<number | bigint> } | undefined {
    const t = this.constants.get(name);
    if (!t) return undefined;
    try {
      // Copy raw_data first: a decoded tensor's raw_data may be an unaligned view into a pooled Node Buffer,
      // which tensorToArray's own unaligned path (Buffer.slice shares memory) reads from the wrong offset.
      const own = t.raw_data && t.raw_data.length ? { ...t, raw_data: Uint8Array.from(t.raw_data) } : t;
      return { dims: tensorDims(t), data: tensorToArray(own) as ArrayLike<number | bigint> };
    } catch {
      return undefined; // a storage form tensorToArray refuses (strings, external): not usable as a constant
    }
  }

  /** Records what a pass learned about a value it created (the lowering pass does this for state outputs). */
  record(name: string, dtype: number | undefined, shape?: readonly Dim[]): void {
    const k = this.known.get(name) ?? {};
    if (dtype !== undefined) k.dtype = dtype;
    if (shape) k.shape = [...shape];
    this.known.set(name, k);
  }

  private set(name: string, dtype: number | undefined, shape?: Dim[]): void {
    if (!name) return;
    const k = this.known.get(name) ?? {};
    if (k.dtype === undefined && dtype !== undefined) k.dtype = dtype;
    if (k.shape === undefined && shape !== undefined) k.shape = shape;
    this.known.set(name, k);
  }

  private propagate(): void {
    // The graph may be unsorted: walk in dependency order without mutating it.
    for (const n of dependencyOrder(this.g)) this.inferNode(n);
  }

  private inferNode(n: Node): void {
    const t = constantOfNode(n);
    if (t) {
      this.constants.set(n.outputs[0], t);
      this.set(n.outputs[0], t.data_type, tensorDims(t));
      return;
    }
    const in0 = n.input(0);
    const d0 = in0 ? this.dtype(in0) : undefined;
    const s0 = in0 ? this.shape(in0) : undefined;
    const op = n.opType;
    if (SAME_AS_INPUT0.has(op)) {
      this.set(n.outputs[0], d0, s0 ? [...s0] : undefined);
      if (op === 'Dropout' && n.outputs[1]) this.set(n.outputs[1], DataType.BOOL, s0 ? [...s0] : undefined);
      return;
    }
    if (op === 'Cast') { this.set(n.outputs[0], n.attrInt('to'), s0 ? [...s0] : undefined); return; }
    if (op === 'CastLike') { const l = n.input(1); this.set(n.outputs[0], l ? this.dtype(l) : undefined, s0 ? [...s0] : undefined); return; }
    if (op === 'Shape') {
      const start = n.attrInt('start'); const end = n.attrInt('end');
      let len: number | undefined = s0?.length;
      if (len !== undefined && (start !== undefined || end !== undefined)) {
        const r = len;
        const norm = (x: number) => Math.min(Math.max(x < 0 ? x + r : x, 0), r);
        len = Math.max(0, norm(end ?? r) - norm(start ?? 0));
      }
      this.set(n.outputs[0], DataType.INT64, len === undefined ? undefined : [len]);
      return;
    }
    if (op === 'Size') { this.set(n.outputs[0], DataType.INT64, []); return; }
    if (INT64_OUT.has(op)) { n.outputs.forEach((o) => this.set(o, DataType.INT64)); return; }
    if (BOOL_OUT.has(op)) {
      const s1 = n.input(1) ? this.shape(n.input(1)!) : undefined;
      this.set(n.outputs[0], DataType.BOOL, s0 && (op === 'Not' || op === 'IsNaN' || op === 'IsInf') ? [...s0] : s0 && s1 ? broadcastShapes(s0, s1) : undefined);
      return;
    }
    if (op === 'ConstantOfShape') {
      const v = n.attrTensor('value');
      const shapeConst = in0 ? this.constant(in0) : undefined;
      this.set(n.outputs[0], v?.data_type ?? DataType.FLOAT, shapeConst ? Array.from(shapeConst.data, Number) : undefined);
      return;
    }
    if (op === 'MaxPool' || op === 'TopK') {
      this.set(n.outputs[0], d0);
      if (n.outputs[1]) this.set(n.outputs[1], DataType.INT64);
      return;
    }
    if (op === 'Where') {
      const a = n.input(1), c = n.input(2);
      const dt = (a ? this.dtype(a) : undefined) ?? (c ? this.dtype(c) : undefined);
      const shapes = [in0, a, c].map((x) => (x ? this.shape(x) : undefined));
      let s: Dim[] | undefined = shapes.every(Boolean) ? [...shapes[0]!] : undefined;
      for (const x of shapes.slice(1)) if (s && x) s = broadcastShapes(s, x);
      this.set(n.outputs[0], dt, s);
      return;
    }
    if (BROADCAST.has(op)) {
      const names = n.inputs.filter(Boolean);
      const dt = names.map((x) => this.dtype(x)).find((x) => x !== undefined);
      let s: Dim[] | undefined = names.length && this.shape(names[0]) ? [...this.shape(names[0])!] : undefined;
      for (const x of names.slice(1)) { const sx = this.shape(x); s = s && sx ? broadcastShapes(s, sx) : undefined; }
      this.set(n.outputs[0], dt, s);
      return;
    }
    if (DTYPE_OF_INPUT0.has(op) || (n.domain !== '' && n.domain !== 'ai.onnx')) {
      // Gradient-style and shape ops: every output has the first input's element type. For an unknown
      // contrib op this is only a default; value_info (read first) wins.
      const first = op === 'GatherGrad' ? n.input(2) : op === 'GatherElementsGrad' ? n.input(0) : in0;
      const dt = first ? this.dtype(first) : undefined;
      n.outputs.forEach((o) => this.set(o, dt));
      return;
    }
  }
}

/** Nodes of `g` in an order where producers come before users (stable; nodes on cycles come last). */
export function dependencyOrder(g: Graph): Node[] {
  const produced = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) produced.set(o, n);
  const done = new Set<Node>();
  const visiting = new Set<Node>();
  const order: Node[] = [];
  const visit = (root: Node) => {
    // Iterative DFS (deep graphs would overflow the JS stack).
    const stack: [Node, number][] = [[root, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, i] = top;
      if (i === 0) {
        if (done.has(n)) { stack.pop(); continue; }
        visiting.add(n);
      }
      if (i < n.inputs.length) {
        top[1]++;
        const p = produced.get(n.inputs[i]);
        if (p && !done.has(p) && !visiting.has(p)) stack.push([p, 0]);
        continue;
      }
      stack.pop();
      visiting.delete(n);
      if (!done.has(n)) { done.add(n); order.push(n); }
    }
  };
  for (const n of g.nodes) visit(n);
  return order;
}
