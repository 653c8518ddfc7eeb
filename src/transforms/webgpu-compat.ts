/**
 * webgpuCompatPass: Model -> Model, so that every node of an augmented set runs on onnxruntime-web's WebGPU EP
 * (1.30, the native C++ EP of `onnxruntime-web/webgpu`) instead of falling back to the CPU EP. Measured with ORT's
 * own placement log (session_state.cc "Node placements"); what the EP lacks, and what each rule does about it:
 *
 * | the EP lacks                                   | rule                | rewrite                                               |
 * | ---------------------------------------------- | ------------------- | ----------------------------------------------------- |
 * | `LogSoftmax` (the body of SoftmaxCrossEntropyLoss) | `decomposeSce`   | max-shifted log-softmax from ReduceMax/Sub/Exp/ReduceSum/Log, then GatherElements/Neg/Reduce |
 * | 64-bit integers (`enableInt64` is off and the JS API cannot set it) | `narrowInt64Inputs` | int64 graph inputs become int32 (indices: labels) or float32 (counters: the optimizer step) |
 * | `Size` (an int64 shape op), int64 `Div`        | `sizeAsCount`       | `Cast(Size(x), T)`, `Cast(Div(Size(X), Size(dY)), T)` (ReduceMean grad) -> the same in int32: a constant for a static shape, else `ReduceSum(Cast(Equal(xi, xi), int32))` |
 * | float64 kernels (and onnxruntime-web's wasm CPU EP has no float64 `Pow`) | `demoteFloat64` | every double value becomes float32 |
 * | MaxPool's `Indices` output (a run-time error), int64 `Mod`/`Equal`/`ScatterElements` of the lowered MaxPoolGrad | `maxPoolIndices` | unused Indices dropped; a lowered MaxPoolGrad recomputes the first-max positions from X and Y (webgpu-compat-maxpool.ts) |
 * | `Sum` (any opset; the gradient accumulation of a value used twice) | `sumAsAdd` | a left fold of `Add`s (bit-identical) |
 * | int64 `Gather`/`Mul`/`Concat` (ORT's layout transformer turns `Shape(Transpose(y))` into `Gather(Shape(y), perm)`) | `shapeAsConstant` | `Reshape`/`Expand` shape operands computed from static dims but one become constants |
 * | bool `Transpose` (the layout transformer transposes ReluGrad's condition) | `maskAsFactor` | `Where(Greater(x, 0), dY, 0)` on images -> `dY · Cast(Greater(x, 0), T)` |
 * | a correct NHWC Conv for 6, 9, 15, 18… input channels (conv2d_mm's vec3 path miscomputes) | `padConvChannels` | zero channels up to a multiple of 4 on X and W |
 *
 * Measured: after the pass every node of every session of the four real artifact sets (mnist-mlp-web,
 * lora-linear-mse, seizureguard-cnn1d, resnet50-conv0) is placed on WebGpuExecutionProvider by onnxruntime-node 1.30
 * (test/runtime/webgpu.test.ts), and the training follows the CPU EP's.
 *
 * The interface of the set does not change: the host keeps feeding int64 labels and an int64 step as the
 * manifest says; the engine adapter (src/runtime/adapters/web-gpu-state.ts) narrows a feed to the element type the
 * graph declares (range-checked: labels must fit int32, the step must be below 2^24 to stay exact in float32).
 *
 * Numerics: the loss and its gradient are the same formulas (max-shifted log-softmax is how ORT computes it); the
 * optimizer's bias corrections `1 − β^t` are evaluated in float32 instead of float64 (ORT's AdamW kernel and Keras
 * use float32 too) — a relative difference below 1e-4 in the first steps, none visible in training. MaxPoolGrad's
 * window form, Sum and the constant shapes are bit-identical; the scatter form and the padded Conv add the same
 * terms in another order; ReluGrad's mask gives −0 where Where gave +0 (and NaN for an infinite dY under a zero mask).
 *
 * All or nothing: decomposeSce, narrowInt64Inputs, sizeAsCount, demoteFloat64, maxPoolIndices and sumAsAdd refuse a
 * site they cannot rewrite (an error naming the node and the reason; the runtime then warns and runs the original
 * graphs); shapeAsConstant, maskAsFactor and padConvChannels only rewrite where they can (what they leave
 * still runs: a shape computation on the CPU EP, a bool Transpose, a Conv whose channel count is only known at run
 * time).
 *
 * Used by the web demo's build (tools/web/prepare.ts) and by the Node runtime for `executionProviders: ['webgpu']`
 * (src/runtime/node.ts webgpuBundle).
 */
import { GraphBuilder, Value } from '../builder/index.js';
import { OnnxTrainError } from '../errors.js';
import { Graph, Model, Node } from '../ir/graph.js';
import { assertValid } from '../ir/validate.js';
import { DataType } from '../onnx/dtypes.js';
import { makeTensor, tensorToArray } from '../onnx/tensor.js';
import type { TensorProto } from '../onnx/types.js';
import { cloneIrModel } from './fuse.js';
import { inferShapeInfo, type GraphShapeInfo } from './shape-info.js';
import { maxPoolSites, rewriteMaxPool, type MaxPoolSite } from './webgpu-compat-maxpool.js';

/** One rewrite: `check` returns why it does not apply (undefined = applies), `apply` edits the graph. */
interface CompatRule<T> {
  readonly name: string;
  /** The sites this rule looks at. */
  find(g: Graph): T[];
  check(g: Graph, site: T): string | undefined;
  apply(b: GraphBuilder, site: T): void;
}

export interface CompatReport {
  /** Rewrites applied, by rule: node or value names. */
  readonly applied: Readonly<Record<string, readonly string[]>>;
  /** Graph inputs whose element type changed: name -> [from, to] (ONNX data types). */
  readonly narrowedInputs: Readonly<Record<string, readonly [number, number]>>;
}

export interface CompatResult {
  readonly model: Model;
  readonly report: CompatReport;
}

const INTEGER_TYPES = new Set<number>([DataType.INT32, DataType.INT64, DataType.INT8, DataType.UINT8, DataType.INT16, DataType.UINT16, DataType.UINT32, DataType.UINT64]);

const elemType = (g: Graph, name: string): number | undefined => {
  const vi = g.inputs.find((i) => i.name === name) ?? g.valueInfo.get(name) ?? g.outputs.find((o) => o.name === name);
  return vi?.type?.tensor_type?.elem_type ?? g.initializers.get(name)?.data_type ?? constantOf(g, name)?.data_type;
};

/** The tensor of a Constant node output or an initializer (not a graph input). */
function constantOf(g: Graph, name: string): TensorProto | undefined {
  const init = g.initializers.get(name);
  if (init && !g.isGraphInput(name)) return init;
  const p = g.producer(name);
  if (p && p.opType === 'Constant' && p.domain === '') return p.attrTensor('value');
  return undefined;
}

/**
 * tensorToArray on a private copy: under Node, protobufjs hands out raw_data as Buffer views into a shared pool,
 * and tensorToArray's unaligned-copy path uses Buffer#slice, which does not copy (reported to the lead).
 */
function readTensor(t: TensorProto): ReturnType<typeof tensorToArray> {
  return tensorToArray(t.raw_data && t.raw_data.length ? { ...t, raw_data: new Uint8Array(t.raw_data) } : t);
}

// ------------------------------------------------------------------------------------------------ decomposeSce

/**
 * ONNX SoftmaxCrossEntropyLoss(scores [N, C], labels [N]) without weights or ignore_index, any reduction:
 *   log_prob = (x − max(x)) − log Σ exp(x − max(x))          (axis 1)
 *   loss_i   = −log_prob[i, label_i]                          (GatherElements on axis 1)
 *   loss     = mean / sum / none over i
 * The optional second output (log_prob, what SoftmaxCrossEntropyLossGrad consumes) keeps its name.
 */
const decomposeSce: CompatRule<Node> = {
  name: 'decomposeSce',
  find: (g) => g.nodes.filter((n) => n.opType === 'SoftmaxCrossEntropyLoss' && n.domain === ''),
  check(g, n) {
    if (n.input(2)) return 'it has class weights';
    if (n.attr('ignore_index')) return 'it has an ignore_index';
    const r = n.attrString('reduction', 'mean');
    if (!['mean', 'sum', 'none'].includes(r!)) return `reduction "${r}"`;
    const shape = g.inputs.find((i) => i.name === n.inputs[0])?.type?.tensor_type?.shape?.dim ?? g.valueInfo.get(n.inputs[0])?.type?.tensor_type?.shape?.dim;
    if (shape && shape.length !== 2) return `scores have rank ${shape.length} (only [N, C] is rewritten)`;
    return undefined;
  },
  apply(b, n) {
    const x = b.value(n.inputs[0]);
    const labels = b.value(n.inputs[1]);
    const m = b.op.ReduceMax(x, [1], 1);
    const z = b.op.Sub(x, m);
    const s = b.op.ReduceSum(b.op.Exp(z), [1], 1);
    const logp = b.op.Sub(z, b.op.Log(s));
    const picked = b.op.GatherElements(logp, b.op.Unsqueeze(labels, [1]), 1);
    const nll = b.op.Neg(picked);
    const r = n.attrString('reduction', 'mean');
    const loss = r === 'mean' ? b.op.ReduceMean(nll, undefined, 0) : r === 'sum' ? b.op.ReduceSum(nll, undefined, 0) : b.op.Squeeze(nll, [1]);
    const g = b.graph;
    g.removeNode(n);
    rename(g, loss.name, n.outputs[0]);
    if (n.outputs[1]) rename(g, logp.name, n.outputs[1]);
  },
};

/** Makes the producer of `from` produce `to` instead (`to` is the name the rest of the graph uses). */
function rename(g: Graph, from: string, to: string): void {
  const p = g.producer(from);
  if (!p) throw new Error(`bug: no producer of ${from}`);
  p.outputs = p.outputs.map((o) => (o === from ? to : o));
  for (const u of g.nodes) u.inputs = u.inputs.map((i) => (i === from ? to : i));
  g.invalidate();
}

// ------------------------------------------------------------------------------------------------ narrowInt64Inputs

interface NarrowSite {
  readonly input: string;
  /** int32 for indices, float32 for a counter that is only cast to a float type. */
  readonly to: number;
}

/** Ops whose output has the element type of their first input (the narrowed type flows through them). */
const PASS_THROUGH = new Set(['Unsqueeze', 'Squeeze', 'Reshape', 'Identity', 'Flatten']);
/** Ops that take integer indices of either width. */
const INDEX_CONSUMERS = new Set(['GatherElements', 'Gather', 'Size', 'Shape']);
/** Elementwise ops whose other operands must follow the narrowed type (constants are converted). */
const SAME_TYPE_OPERANDS = new Set(['Equal', 'Less', 'Greater', 'Where', 'Add', 'Sub', 'Mul']);

/** Every value reached from `start` through PASS_THROUGH ops, and the other uses found on the way. */
function flow(g: Graph, start: string): { values: string[]; uses: { node: Node; index: number }[] } {
  const values = [start];
  const uses: { node: Node; index: number }[] = [];
  for (let k = 0; k < values.length; k++) {
    for (const u of g.uses(values[k])) {
      if (PASS_THROUGH.has(u.node.opType) && u.index === 0) values.push(u.node.outputs[0]);
      else uses.push(u);
    }
  }
  return { values, uses };
}

const narrowInt64Inputs: CompatRule<NarrowSite> = {
  name: 'narrowInt64Inputs',
  find(g) {
    const sites: NarrowSite[] = [];
    for (const i of g.inputs) {
      if (i.type?.tensor_type?.elem_type !== DataType.INT64 || g.initializers.has(i.name ?? '')) continue;
      const { uses } = flow(g, i.name ?? '');
      const castsOnly = uses.length > 0 && uses.every((u) => u.node.opType === 'Cast' && [DataType.FLOAT, DataType.DOUBLE].includes(u.node.attrInt('to') as 1 | 11));
      sites.push({ input: i.name ?? '', to: castsOnly ? DataType.FLOAT : DataType.INT32 });
    }
    return sites;
  },
  check(g, s) {
    const { uses } = flow(g, s.input);
    if (s.to === DataType.FLOAT) return undefined;
    for (const u of uses) {
      const op = u.node.opType;
      if (INDEX_CONSUMERS.has(op) && (op !== 'Gather' && op !== 'GatherElements' ? true : u.index === 1)) continue;
      if (SAME_TYPE_OPERANDS.has(op)) {
        const others = u.node.inputs.filter((x, k) => k !== u.index && !(op === 'Where' && k === 0));
        const bad = others.find((x) => !constantOf(g, x) && !flow(g, s.input).values.includes(x));
        if (bad) return `"${s.input}" meets the runtime value "${bad}" in ${op} "${u.node.name}"`;
        if (u.node.outputs.some((o) => elemType(g, o) === DataType.INT64 || g.isGraphOutput(o))) {
          if (op !== 'Equal' && op !== 'Less' && op !== 'Greater') return `${op} "${u.node.name}" would produce an int64 value from "${s.input}"`;
        }
        continue;
      }
      return `"${s.input}" is used by ${op} "${u.node.name}", which this rule does not know to accept int32`;
    }
    return undefined;
  },
  apply(b, s) {
    const g = b.graph;
    const vi = g.inputs.find((i) => i.name === s.input)!;
    vi.type!.tensor_type!.elem_type = s.to;
    const { values, uses } = flow(g, s.input);
    for (const v of values) {
      const info = g.valueInfo.get(v);
      if (info?.type?.tensor_type) info.type.tensor_type.elem_type = s.to;
    }
    if (s.to === DataType.FLOAT) return; // the Casts to float/double now start from float32
    for (const u of uses) {
      if (!SAME_TYPE_OPERANDS.has(u.node.opType)) continue;
      u.node.inputs = u.node.inputs.map((x, k) => {
        if (k === u.index || values.includes(x) || (u.node.opType === 'Where' && k === 0)) return x;
        const t = constantOf(g, x)!;
        if (t.data_type !== DataType.INT64) return x;
        const data = Array.from(readTensor(t) as BigInt64Array, (v) => {
          if (v > 2147483647n || v < -2147483648n) throw new OnnxTrainError('BAD_MODEL', `constant "${x}" holds ${v}, outside int32`, 'this model cannot be narrowed for WebGPU');
          return Number(v);
        });
        const name = g.uniqueName(`${x}_int32`);
        g.initializers.set(name, makeTensor(name, DataType.INT32, t.dims?.map(Number) ?? [], Int32Array.from(data)));
        return name;
      });
    }
    g.invalidate();
  },
};

// ------------------------------------------------------------------------------------------------ sizeAsCount

/**
 * Where `Size` comes from, and what the EP lacks: ORT's gradient builders emit `Cast(Size(labels), float)` (the
 * mean of a loss) and, for ReduceMean, `Scale(dY, Div(Size(X), Size(dY)))` whose lowering (core/scale.ts) reads
 * `Cast(Div(Size(X), Size(dY)), float)`. Size is an int64 op the WebGPU EP does not have, and int64 Div/Cast do not
 * run on it either (no 64-bit integers). A site is one connected "count expression": its Size nodes, the integer
 * Div nodes between element counts (and integer constants), and the Casts that end it. Rewritten in int32, which
 * the EP has (ReduceSum, Div, Mul, Equal and Cast on int32 all run on it):
 *
 * - `Size(x)` with a static shape is a constant;
 * - otherwise `ReduceSum(Cast(Equal(xi, xi), int32))` with `xi = Cast(x, int32)` (Equal(x, x) is false for a float
 *   NaN; an int32 copy counts every element), after slicing a float32 `x` to one element along each static axis and
 *   multiplying by their product (the count then touches one element per symbolic position: [N, C, H, W] -> N);
 * - the Divs take int32 operands (int64 constants narrowed, range-checked) and the Casts start from int32.
 *
 * Exact: integer division truncates in int32 as in int64, and every count fits int32 (a static one is checked; a
 * counted one is the length of an int32 copy the device holds), so each Cast sees the same integer as before. Only
 * Div is accepted between counts: its result is never larger than its dividend (a Mul of two counts could overflow
 * int32). Integer constants in the expression must fit int32 too.
 */
interface CountSite {
  readonly sizes: Node[];
  /** Integer Div nodes of the expression, in discovery order (the Casts that end it stay as they are). */
  readonly arith: Node[];
  /** Why the site cannot be rewritten (found while collecting it). */
  readonly problem?: string;
}

/** Integer ops allowed between element counts (see the doc above for why only Div). */
const COUNT_ARITH = new Set(['Div']);
const INT32_MAX = 2147483647;

/** The count expressions of `g`, one per connected group of Size / Div / Cast nodes. */
function countSites(g: Graph): CountSite[] {
  const shapes = inferShapeInfo(g);
  const seen = new Set<Node>();
  const sites: CountSite[] = [];
  for (const start of g.nodes) {
    if (start.opType !== 'Size' || start.domain !== '' || seen.has(start)) continue;
    const sizes: Node[] = [];
    const arith: Node[] = [];
    let problem: string | undefined;
    const fail = (why: string) => { problem ??= why; };
    const queue: Node[] = [start];
    seen.add(start);
    const visit = (n: Node) => {
      if (!seen.has(n)) { seen.add(n); queue.push(n); }
    };
    while (queue.length) {
      const n = queue.shift()!;
      if (n.opType === 'Cast') continue; // an end of the expression: it now reads int32
      if (n.opType === 'Size') {
        sizes.push(n);
        if (staticCount(shapes.shape(n.inputs[0])) > INT32_MAX) fail(`"${n.inputs[0]}" has more than 2^31 - 1 elements`);
      } else {
        arith.push(n);
        for (const x of n.inputs) {
          const p = g.producer(x);
          if (p && p.domain === '' && (p.opType === 'Size' || COUNT_ARITH.has(p.opType))) { visit(p); continue; }
          const c = constantOf(g, x);
          if (c && c.data_type !== undefined && INTEGER_TYPES.has(c.data_type)) {
            const bad = Array.from(readTensor(c) as ArrayLike<number | bigint>).find((v) => v > INT32_MAX || v < -INT32_MAX - 1);
            if (bad !== undefined) fail(`the constant "${x}" of ${n.opType} "${n.name}" holds ${bad}, outside int32`);
            continue;
          }
          fail(`${n.opType} "${n.name}" combines an element count with "${x}", which is neither a count nor an integer constant`);
        }
      }
      const out = n.outputs[0];
      const what = n.opType === 'Size' ? `Size "${n.name}"` : `the count computed by ${n.opType} "${n.name}"`;
      if (g.isGraphOutput(out)) fail(`${what} is a graph output`);
      const uses = g.uses(out);
      for (const u of uses) {
        const op = u.node.opType;
        if (u.node.domain !== '') fail(`${what} is used by ${u.node.qualifiedOp} "${u.node.name}"`);
        else if (op === 'Cast') {
          const to = u.node.attrInt('to');
          if (to === DataType.INT64 || to === DataType.UINT64) fail(`${what} is cast to a 64-bit integer by Cast "${u.node.name}"`);
          visit(u.node);
        } else if (COUNT_ARITH.has(op)) visit(u.node);
        else fail(`${what} is used by ${op} "${u.node.name}" (only Cast, or Div between element counts, is rewritten)`);
      }
    }
    sites.push({ sizes, arith, problem });
  }
  return sites;
}

/** The product of the static dims (all of them, for a static shape). */
function staticCount(dims: readonly (number | string)[] | undefined): number {
  return (dims ?? []).reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
}

/** The element count of `x` as an int32 scalar: a constant for a static shape, else counted on the device. */
function countOf(b: GraphBuilder, shapes: GraphShapeInfo, x: string): Value {
  const dims = shapes.shape(x);
  const known = (dims ?? []).map((d, axis) => ({ d, axis })).filter((e): e is { d: number; axis: number } => typeof e.d === 'number');
  const factor = staticCount(dims);
  if (dims && (known.length === dims.length || factor === 0)) return b.const(factor, DataType.INT32);
  let v = b.value(x);
  const t = shapes.dtype(x) ?? elemType(b.graph, x);
  // One element along every static axis; float32 only (1.30's WebGPU Slice puts an int32 input on the CPU EP).
  const slice = t === DataType.FLOAT && known.length > 0 && factor > 1;
  if (slice) v = b.op.Slice(v, known.map(() => 0), known.map(() => 1), known.map((e) => e.axis));
  if (t !== DataType.INT32) v = b.op.Cast(v, DataType.INT32);
  const count = b.op.ReduceSum(b.op.Cast(b.op.Equal(v, v), DataType.INT32), undefined, 0);
  return slice ? b.op.Mul(count, b.const(factor, DataType.INT32)) : count;
}

/** Sets the element type recorded for `name` (value_info), when there is one. */
function retype(g: Graph, name: string, to: number): void {
  const vi = g.valueInfo.get(name);
  if (vi?.type?.tensor_type) vi.type.tensor_type.elem_type = to;
}

const sizeAsCount: CompatRule<CountSite> = {
  name: 'sizeAsCount',
  find: countSites,
  check: (_g, s) => s.problem,
  apply(b, s) {
    const g = b.graph;
    const shapes = inferShapeInfo(g);
    for (const n of s.sizes) {
      const count = countOf(b, shapes, n.inputs[0]);
      g.removeNode(n);
      g.replaceAllUses(n.outputs[0], count.name);
      g.valueInfo.delete(n.outputs[0]);
    }
    for (const n of s.arith) {
      n.inputs = n.inputs.map((x) => {
        const t = constantOf(g, x);
        if (!t || t.data_type === DataType.INT32) return x;
        const data = Array.from(readTensor(t) as ArrayLike<number | bigint>, Number); // range checked by countSites
        const name = g.uniqueName(`${x}_int32`);
        g.initializers.set(name, makeTensor(name, DataType.INT32, t.dims?.map(Number) ?? [], Int32Array.from(data)));
        return name;
      });
      retype(g, n.outputs[0], DataType.INT32);
    }
    g.invalidate();
  },
};

// ------------------------------------------------------------------------------------------------ demoteFloat64

const demoteFloat64: CompatRule<Graph> = {
  name: 'demoteFloat64',
  find: (g) => (g.nodes.some((n) => (n.opType === 'Cast' && n.attrInt('to') === DataType.DOUBLE) || (n.opType === 'Constant' && n.attrTensor('value')?.data_type === DataType.DOUBLE))
    || [...g.initializers.values()].some((t) => t.data_type === DataType.DOUBLE) ? [g] : []),
  check(g) {
    const io = [...g.inputs, ...g.outputs].find((v) => v.type?.tensor_type?.elem_type === DataType.DOUBLE);
    return io ? `graph input/output "${io.name}" is float64` : undefined;
  },
  apply(b) {
    const g = b.graph;
    const toFloat = (t: TensorProto, name: string): TensorProto => makeTensor(name, DataType.FLOAT, t.dims?.map(Number) ?? [], Float32Array.from(readTensor(t) as Float64Array));
    for (const n of g.nodes) {
      if (n.opType === 'Cast' && n.attrInt('to') === DataType.DOUBLE) {
        n.attributes = n.attributes.map((a) => (a.name === 'to' ? { ...a, i: DataType.FLOAT } : a));
      } else if (n.opType === 'Constant') {
        const t = n.attrTensor('value');
        if (t?.data_type === DataType.DOUBLE) n.attributes = n.attributes.map((a) => (a.name === 'value' ? { ...a, t: toFloat(t, t.name ?? '') } : a));
      }
    }
    for (const [k, t] of g.initializers) if (t.data_type === DataType.DOUBLE) g.initializers.set(k, toFloat(t, k));
    for (const vi of g.valueInfo.values()) if (vi.type?.tensor_type?.elem_type === DataType.DOUBLE) vi.type.tensor_type.elem_type = DataType.FLOAT;
    g.invalidate();
  },
};

// ------------------------------------------------------------------------------------------------ maxPoolIndices

/** MaxPool's Indices output: dropped when unused, recomputed from X and Y when a lowered MaxPoolGrad reads it (webgpu-compat-maxpool.ts). */
const maxPoolIndices: CompatRule<MaxPoolSite> = {
  name: 'maxPoolIndices',
  find: maxPoolSites,
  check: (_g, s) => s.problem,
  apply: rewriteMaxPool,
};

// ------------------------------------------------------------------------------------------------ sumAsAdd

/**
 * The EP has no `Sum` kernel (at any opset); ORT's gradient builder accumulates the gradients of a value used
 * twice (ResNet's residual branches) with it. `Sum(a, b, c…)` = `Add(Add(a, b), c)…`: the left fold ORT's CPU
 * kernel computes (same broadcasting), so the result is bit-identical; one input becomes an Identity.
 */
const sumAsAdd: CompatRule<Node> = {
  name: 'sumAsAdd',
  find: (g) => g.nodes.filter((n) => n.opType === 'Sum' && n.domain === ''),
  check: (_g, n) => (n.inputs.length && n.inputs.every((x) => x) ? undefined : 'it has a blank input'),
  apply(b, n) {
    const g = b.graph;
    let acc = b.value(n.inputs[0]);
    if (n.inputs.length === 1) acc = b.op.Identity(acc);
    for (const x of n.inputs.slice(1)) acc = b.op.Add(acc, b.value(x));
    g.removeNode(n);
    rename(g, acc.name, n.outputs[0]);
  },
};

// ------------------------------------------------------------------------------------------------ shapeAsConstant

/**
 * The shape operand of `Reshape(x, shape)` / `Expand(x, shape)` as a constant where it is computed from static
 * dims but one: the lowered Reshape / BatchNormInternal / GlobalAveragePool gradients read `Shape(y)`, and
 * PyTorch exports compute view shapes as `Concat(…, Unsqueeze(Mul(Gather(Shape(y), i), …)))`. On the WebGPU EP
 * that is int64 work the EP does not have: ORT's layout transformer moves NCHW ops to NHWC and turns
 * `Shape(Transpose(y))` into `Gather(Shape(y), perm)`, and int64 Gather / Mul / Concat run on the CPU EP. They
 * only compute shapes, but with a constant there is nothing to compute.
 *
 * The shape expression is evaluated over the dims shape inference knows, a dim being a product c·s1·s2… of a
 * number and symbolic dims (Shape with start/end, integer constants, Gather of constant indices, Unsqueeze,
 * Squeeze, Concat, Mul, Slice with constant bounds, Cast, Identity):
 * - Reshape: at most one entry may be unknown (symbolic, or already −1); it becomes −1, the others are static
 *   and > 0. The original only succeeds when x has as many elements as the shape says, and then −1 resolves to
 *   that entry's value. Exact. A −1 next to a symbolic entry is first resolved from x's dims when the quotient
 *   is a number (resolveMinusOne). Equal symbolic names are taken to be equal dims, as everywhere in shape-info.
 * - Expand: a symbolic entry s becomes 1 where x has the same symbolic dim s on that (right-aligned) axis, so the
 *   output takes x's dim there, which the model declares equal. Any number of such entries.
 *
 * Other shape operands stay (ORT may then run a shape computation on the CPU EP); find returns only the sites it
 * can rewrite.
 */
interface SymDim {
  /** Constant factor. */
  readonly c: number;
  /** Symbolic factors, sorted. */
  readonly s: readonly string[];
}
interface SymValue {
  readonly dims: readonly SymDim[];
  readonly scalar: boolean;
}

function intConstant(g: Graph, name: string): number[] | undefined {
  const t = constantOf(g, name);
  if (!t || t.data_type === undefined || !INTEGER_TYPES.has(t.data_type) || (t.dims?.length ?? 0) > 1) return undefined;
  return Array.from(readTensor(t) as ArrayLike<number | bigint>, Number);
}

/** The value of an int64 shape expression, or undefined when it is not one this evaluates. */
function shapeExpr(g: Graph, info: GraphShapeInfo, name: string, memo: Map<string, SymValue | undefined>, depth = 0): SymValue | undefined {
  if (memo.has(name)) return memo.get(name);
  memo.set(name, undefined);
  const v = depth > 64 ? undefined : evalShapeExpr(g, info, name, memo, depth);
  memo.set(name, v);
  return v;
}

function evalShapeExpr(g: Graph, info: GraphShapeInfo, name: string, memo: Map<string, SymValue | undefined>, depth: number): SymValue | undefined {
  const c = intConstant(g, name);
  if (c) return { dims: c.map((x) => ({ c: x, s: [] })), scalar: (constantOf(g, name)!.dims?.length ?? 0) === 0 };
  const n = g.producer(name);
  if (!n || n.domain !== '') return undefined;
  const arg = (i: number) => (n.inputs[i] ? shapeExpr(g, info, n.inputs[i], memo, depth + 1) : undefined);
  switch (n.opType) {
    case 'Shape': {
      const all = info.shape(n.inputs[0]);
      if (!all) return undefined;
      const r = all.length;
      const norm = (x: number) => Math.min(Math.max(x < 0 ? x + r : x, 0), r);
      const dims = all.slice(norm(n.attrInt('start', 0)), norm(n.attrInt('end', r)));
      return { dims: dims.map((d) => (typeof d === 'number' ? { c: d, s: [] } : { c: 1, s: [d] })), scalar: false };
    }
    case 'Identity':
      return arg(0);
    case 'Cast':
      return [DataType.INT64, DataType.INT32].includes(n.attrInt('to') as 7) ? arg(0) : undefined;
    case 'Gather': {
      const data = arg(0);
      const idx = intConstant(g, n.inputs[1]);
      if (!data || data.scalar || !idx || n.attrInt('axis', 0) !== 0) return undefined;
      const picked = idx.map((i) => data.dims[i < 0 ? i + data.dims.length : i]);
      if (picked.some((d) => d === undefined)) return undefined;
      return { dims: picked, scalar: (constantOf(g, n.inputs[1])!.dims?.length ?? 0) === 0 };
    }
    case 'Unsqueeze': {
      const x = arg(0);
      const axes = n.attrInts('axes') ?? (n.inputs[1] ? intConstant(g, n.inputs[1]) : undefined);
      return x?.scalar && axes?.length === 1 && (axes[0] === 0 || axes[0] === -1) ? { dims: x.dims, scalar: false } : undefined;
    }
    case 'Squeeze': {
      const x = arg(0);
      return x && !x.scalar && x.dims.length === 1 ? { dims: x.dims, scalar: true } : undefined;
    }
    case 'Concat': {
      if (n.attrInt('axis', 0) !== 0 && n.attrInt('axis', 0) !== -1) return undefined;
      const parts = n.inputs.map((_, i) => arg(i));
      if (parts.some((p) => !p || p.scalar)) return undefined;
      return { dims: parts.flatMap((p) => p!.dims), scalar: false };
    }
    case 'Mul': {
      const [a, b] = [arg(0), arg(1)];
      if (!a || !b) return undefined;
      const len = Math.max(a.dims.length, b.dims.length);
      if ((a.dims.length !== len && a.dims.length !== 1) || (b.dims.length !== len && b.dims.length !== 1)) return undefined;
      const at = (v: SymValue, i: number) => v.dims[v.dims.length === 1 ? 0 : i];
      const dims = Array.from({ length: len }, (_, i) => ({ c: at(a, i).c * at(b, i).c, s: [...at(a, i).s, ...at(b, i).s].sort() }));
      return { dims, scalar: a.scalar && b.scalar };
    }
    case 'Slice': {
      const x = arg(0);
      const [st, en] = [intConstant(g, n.inputs[1]), intConstant(g, n.inputs[2])];
      const axes = n.inputs[3] ? intConstant(g, n.inputs[3]) : [0];
      const steps = n.inputs[4] ? intConstant(g, n.inputs[4]) : [1];
      if (!x || x.scalar || !st || !en || st.length !== 1 || en.length !== 1 || axes?.[0] !== 0 || steps?.[0] !== 1) return undefined;
      const r = x.dims.length;
      const norm = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
      return { dims: x.dims.slice(norm(st[0]), norm(en[0])), scalar: false };
    }
    default:
      return undefined;
  }
}

/**
 * A −1 entry of a Reshape target made static when x's element count divided by the other entries is a number
 * (`Reshape(x [2, N, 1], [-1, N·1])`: −1 = 2N / N = 2), so that the one symbolic entry can become −1 instead.
 */
function resolveMinusOne(dims: readonly SymDim[], x: readonly (number | string)[] | undefined): readonly SymDim[] {
  const minus = dims.findIndex((d) => d.s.length === 0 && d.c === -1);
  if (minus < 0 || !x || dims.filter((d) => d.s.length > 0 || d.c <= 0).length < 2) return dims;
  const rest = dims.filter((_, i) => i !== minus);
  if (rest.some((d) => d.c <= 0)) return dims;
  const syms = x.filter((d): d is string => typeof d === 'string');
  let c = x.reduce<number>((a, d) => (typeof d === 'number' ? a * d : a), 1);
  for (const d of rest) {
    for (const sym of d.s) {
      const k = syms.indexOf(sym);
      if (k < 0) return dims;
      syms.splice(k, 1);
    }
    if (c % d.c !== 0) return dims;
    c /= d.c;
  }
  if (syms.length || c <= 0) return dims;
  return dims.map((d, i) => (i === minus ? { c, s: [] } : d));
}

/**
 * The dims of `name` from shape inference, or else through the elementwise op that produced it (Add / Sub / Mul /
 * Div broadcast their operands, Cast / Identity / Neg keep theirs) and Reshape to a constant shape: the lowered
 * GlobalAveragePool gradient expands `Div(dY, Reshape(scale, []))`, which has no value_info.
 */
function shapeThrough(g: Graph, info: GraphShapeInfo, name: string, depth = 0): readonly (number | string)[] | undefined {
  const known = info.shape(name);
  if (known || depth > 8) return known;
  const n = g.producer(name);
  if (!n || n.domain !== '') return undefined;
  if (['Cast', 'Identity', 'Neg'].includes(n.opType)) return shapeThrough(g, info, n.inputs[0], depth + 1);
  if (n.opType === 'Reshape') {
    const target = intConstant(g, n.inputs[1]);
    return target && target.every((d) => d > 0) ? target : undefined;
  }
  if (!['Add', 'Sub', 'Mul', 'Div'].includes(n.opType)) return undefined;
  const [a, b] = [shapeThrough(g, info, n.inputs[0], depth + 1), shapeThrough(g, info, n.inputs[1], depth + 1)];
  if (!a || !b) return undefined;
  const r = Math.max(a.length, b.length);
  const out: (number | string)[] = [];
  for (let i = 0; i < r; i++) {
    const [da, db] = [a[i - (r - a.length)] ?? 1, b[i - (r - b.length)] ?? 1];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else return undefined;
  }
  return out;
}

interface ShapeSite {
  readonly node: Node;
  /** The constant that replaces input 1. */
  readonly value: readonly number[];
}

function shapeSites(g: Graph): ShapeSite[] {
  const info = inferShapeInfo(g);
  const memo = new Map<string, SymValue | undefined>();
  const sites: ShapeSite[] = [];
  for (const n of g.nodes) {
    if ((n.opType !== 'Reshape' && n.opType !== 'Expand') || n.domain !== '' || !n.inputs[1] || constantOf(g, n.inputs[1])) continue;
    const v = shapeExpr(g, info, n.inputs[1], memo);
    if (!v || v.scalar) continue;
    const known = (d: SymDim) => d.s.length === 0 && d.c > 0;
    if (n.opType === 'Reshape') {
      const dims = resolveMinusOne(v.dims, info.shape(n.inputs[0]));
      const unknown = dims.filter((d) => !known(d));
      if (unknown.length > 1 || unknown.some((d) => d.s.length === 0 && d.c !== -1)) continue;
      sites.push({ node: n, value: dims.map((d) => (known(d) ? d.c : -1)) });
    } else {
      const x = shapeThrough(g, info, n.inputs[0]);
      if (!x) continue;
      const ok = v.dims.every((d, i) => {
        if (known(d)) return true;
        const j = i - (v.dims.length - x.length);
        return d.c === 1 && d.s.length === 1 && j >= 0 && x[j] === d.s[0];
      });
      if (ok) sites.push({ node: n, value: v.dims.map((d) => (known(d) ? d.c : 1)) });
    }
  }
  return sites;
}

const shapeAsConstant: CompatRule<ShapeSite> = {
  name: 'shapeAsConstant',
  find: shapeSites,
  check: () => undefined,
  apply(b, s) {
    s.node.inputs[1] = b.i64(s.value).name; // the old shape computation is dead now (removed at the end)
    b.graph.invalidate();
  },
};

// ------------------------------------------------------------------------------------------------ maskAsFactor

/**
 * ReluGrad's lowering, `Where(Greater(x, 0), dY, 0)`, on an image tensor (rank >= 3). The WebGPU EP prefers NHWC:
 * ORT's layout transformer runs Conv / ConvTranspose in NHWC and moves the Transposes around, which puts one on
 * the bool condition of this Where when dY comes from an NHWC ConvTranspose. The EP has no bool Transpose, so
 * that Transpose ran on the CPU EP (47 of them in ResNet-50, with a device round trip each). A float mask has no
 * such problem: `Mul(dY, Cast(Greater(x, 0), T))`. The same values: dY·1 = dY and dY·0 = ±0 for every finite dY
 * (only an infinite or NaN dY where x <= 0 differs: NaN instead of 0, a step that is lost anyway).
 */
interface MaskSite {
  readonly where: Node;
  readonly dtype: number;
}

function isZeroScalar(g: Graph, name: string): boolean {
  const t = constantOf(g, name);
  if (!t) return false;
  const d = readTensor(t) as ArrayLike<number>;
  return d.length === 1 && Number(d[0]) === 0;
}

function maskSites(g: Graph): MaskSite[] {
  const info = inferShapeInfo(g);
  const out: MaskSite[] = [];
  for (const n of g.nodes) {
    if (n.opType !== 'Where' || n.domain !== '' || n.inputs.length !== 3) continue;
    const c = g.producer(n.inputs[0]);
    if (!c || c.opType !== 'Greater' || c.domain !== '' || !isZeroScalar(g, c.inputs[1])) continue;
    if (!isZeroScalar(g, n.inputs[2])) continue;
    const rank = info.shape(n.inputs[1])?.length ?? info.rank(n.inputs[1]);
    const dtype = info.dtype(n.inputs[1]) ?? elemType(g, n.inputs[1]);
    if (rank === undefined || rank < 3 || dtype === undefined || ![DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE].includes(dtype as 1)) continue;
    out.push({ where: n, dtype });
  }
  return out;
}

const maskAsFactor: CompatRule<MaskSite> = {
  name: 'maskAsFactor',
  find: maskSites,
  check: () => undefined,
  apply(b, s) {
    const g = b.graph;
    const n = s.where;
    const dy = new Value(n.inputs[1], s.dtype);
    const mask = b.op.Cast(b.value(n.inputs[0]), s.dtype);
    const out = b.op.Mul(dy, mask);
    g.removeNode(n);
    rename(g, out.name, n.outputs[0]);
  },
};

// ------------------------------------------------------------------------------------------------ padConvChannels

/**
 * A miscomputing Conv kernel. The EP runs Conv in NHWC through Conv2dMMProgram (conv2d_mm.cc), which vectorises
 * when `in_channels % 4 == 0 || in_channels % 3 == 0` and `out_channels % 4 == 0`, reading three channels at a
 * time when in_channels is not a multiple of 4. That vec3 path is only right for in_channels = 3: measured on
 * onnxruntime-node 1.30 (SwiftShader), a Conv with C = 6, 9, 15, 18, 21, 27… input channels, a kernel larger than
 * 1×1 and a multiple of 4 output channels is off by tens (seizureguard's first Conv: C = 18, 128 outputs, so its
 * loss on WebGPU was 92304 instead of 29840). 1×1 kernels, C = 3 and C = 12, 24… are right.
 *
 * Rewrite: zero input channels up to the next multiple of 4, on X and on W (`Pad` along axis 1). The extra
 * products are 0 · 0, so the result is the same sum (up to the order of the additions). Only a static channel
 * count is rewritten; a symbolic one (the batch, in the Conv that computes a weight gradient) stays, and is only
 * affected when it is a multiple of 3 but not of 4 and the layer has a multiple of 4 input channels.
 */
interface ConvPadSite {
  readonly conv: Node;
  readonly channels: number;
  readonly rank: number;
}

function convPadSites(g: Graph): ConvPadSite[] {
  const info = inferShapeInfo(g);
  const out: ConvPadSite[] = [];
  for (const n of g.nodes) {
    if (n.opType !== 'Conv' || n.domain !== '' || n.attrInt('group', 1) !== 1) continue;
    const w = info.shape(n.inputs[1]);
    const x = info.shape(n.inputs[0]);
    const rank = w?.length ?? x?.length;
    if (!rank || rank < 3 || rank > 4) continue;
    const c = typeof w?.[1] === 'number' ? w[1] : typeof x?.[1] === 'number' ? x[1] : undefined;
    const m = w?.[0];
    const taps = (n.attrInts('kernel_shape') ?? (w ?? []).slice(2)).reduce<number>((a, d) => (typeof d === 'number' ? a * d : NaN), 1);
    if (c === undefined || c <= 3 || c % 3 !== 0 || c % 4 === 0) continue;
    if (typeof m === 'number' && m % 4 !== 0) continue;
    if (taps === 1) continue;
    out.push({ conv: n, channels: c, rank });
  }
  return out;
}

const padConvChannels: CompatRule<ConvPadSite> = {
  name: 'padConvChannels',
  find: convPadSites,
  check: () => undefined,
  apply(b, s) {
    const extra = 4 - (s.channels % 4);
    const pads = Array<number>(2 * s.rank).fill(0);
    pads[s.rank + 1] = extra; // the end of axis 1
    const pad = (name: string) => b.op.Pad(new Value(name, elemType(b.graph, name) ?? DataType.FLOAT), pads).name;
    s.conv.inputs[0] = pad(s.conv.inputs[0]);
    s.conv.inputs[1] = pad(s.conv.inputs[1]);
    b.graph.invalidate();
  },
};

// ------------------------------------------------------------------------------------------------ the pass

/**
 * In application order: MaxPool's Indices, Sum and constant shapes first (graph structure), then the loss (it
 * brings its own Unsqueeze of the labels), int64 last but one.
 */
const RULES: readonly CompatRule<never>[] = [maxPoolIndices, sumAsAdd, shapeAsConstant, maskAsFactor, padConvChannels, decomposeSce, narrowInt64Inputs, sizeAsCount, demoteFloat64] as unknown as CompatRule<never>[];

/**
 * Rewrites a copy of `model` (see the module doc). Every site of every rule must be rewritable: the first site a
 * rule refuses is an error naming the node and the reason, so a model the pass cannot make WebGPU-only is never
 * half converted.
 */
export function webgpuCompatPass(model: Model, where = 'model'): CompatResult {
  const out = cloneIrModel(model);
  const g = out.graph;
  const applied: Record<string, string[]> = {};
  const narrowedInputs: Record<string, [number, number]> = {};
  for (const rule of RULES) {
    const sites = rule.find(g) as unknown[];
    for (const site of sites) {
      const why = (rule.check as (g: Graph, s: unknown) => string | undefined)(g, site);
      if (why) throw new OnnxTrainError('UNSUPPORTED_OP', `${where}: ${rule.name} cannot rewrite ${label(site)}: ${why}`, 'this model needs a CPU fallback on the WebGPU EP; run it with the wasm EP instead', where);
      const b = new GraphBuilder(g, { opset: out.opset, scope: `webgpu_compat/${rule.name}` });
      if (rule === (narrowInt64Inputs as unknown)) narrowedInputs[(site as NarrowSite).input] = [DataType.INT64, (site as NarrowSite).to];
      (rule.apply as (b: GraphBuilder, s: unknown) => void)(b, site);
      (applied[rule.name] ??= []).push(label(site));
    }
  }
  g.topoSort(); // removeDeadNodes walks backwards and needs producers before consumers
  g.removeDeadNodes();
  assertValid(out, where);
  return { model: out, report: { applied, narrowedInputs } };
}

function label(site: unknown): string {
  if (site instanceof Node) return `${site.opType} "${site.name}"`;
  if (site instanceof Graph) return `graph "${site.name}"`;
  if (site && typeof site === 'object' && 'input' in site) return `input "${(site as NarrowSite).input}"`;
  if (site && typeof site === 'object' && 'sizes' in site) return (site as CountSite).sizes.map((n) => `Size "${n.name}"`).join(', ');
  if (site && typeof site === 'object' && 'pool' in site) return `MaxPool "${(site as MaxPoolSite).pool.name}"`;
  if (site && typeof site === 'object' && 'value' in site) return `${(site as ShapeSite).node.opType} "${(site as ShapeSite).node.name}"`;
  if (site && typeof site === 'object' && 'where' in site) return `Where "${(site as MaskSite).where.name}"`;
  if (site && typeof site === 'object' && 'conv' in site) return `Conv "${(site as ConvPadSite).conv.name}"`;
  return String(site);
}

