/**
 * The standard ONNX ops the project emits, one typed method each, opset-aware where the signature changed
 * (axes as input from 13 for ReduceSum/Squeeze/Unsqueeze/Split and from 18 for the other reductions; Clip
 * and Pad inputs from 11). Numbers passed where a tensor is expected become constants of the other operand's
 * element type. Output element types are tracked where they follow from the inputs.
 */
import { DataType } from '../onnx/dtypes.js';
import { makeTensor } from '../onnx/tensor.js';
import { OnnxTrainError } from '../errors.js';
import { Float, type AttrValue, type GraphBuilder, Value, type ValueLike } from './builder.js';

type Axes = readonly number[] | Value | undefined;
type Ints = readonly number[] | Value;

export class Ops {
  constructor(private readonly b: GraphBuilder) {}

  private dt(...xs: ValueLike[]): number | undefined {
    for (const x of xs) if (x instanceof Value) { const d = this.b.dtypeOf(x); if (d !== undefined) return d; }
    return undefined;
  }

  private lift2(x: ValueLike, y: ValueLike): [Value, Value, number | undefined] {
    const dt = this.dt(x, y);
    return [this.b.lift(x, dt), this.b.lift(y, dt), dt];
  }

  private unary(op: string, x: Value, attrs?: Record<string, AttrValue | undefined>): Value {
    return this.b.node1(op, [x], attrs, this.dt(x));
  }

  private binary(op: string, x: ValueLike, y: ValueLike): Value {
    const [a, c, dt] = this.lift2(x, y);
    return this.b.node1(op, [a, c], undefined, dt);
  }

  private compare(op: string, x: ValueLike, y: ValueLike): Value {
    const [a, c] = this.lift2(x, y);
    return this.b.node1(op, [a, c], undefined, DataType.BOOL);
  }

  private ints(v: Ints): Value {
    return v instanceof Value ? v : this.b.i64(v as number[]);
  }

  // --- elementwise arithmetic
  Add(x: ValueLike, y: ValueLike): Value { return this.binary('Add', x, y); }
  Sub(x: ValueLike, y: ValueLike): Value { return this.binary('Sub', x, y); }
  Mul(x: ValueLike, y: ValueLike): Value { return this.binary('Mul', x, y); }
  Div(x: ValueLike, y: ValueLike): Value { return this.binary('Div', x, y); }
  Pow(x: ValueLike, y: ValueLike): Value {
    const dt = this.dt(x);
    return this.b.node1('Pow', [this.b.lift(x, dt), this.b.lift(y, dt)], undefined, dt);
  }
  Mod(x: ValueLike, y: ValueLike, fmod = 0): Value {
    const [a, c, dt] = this.lift2(x, y);
    return this.b.node1('Mod', [a, c], { fmod }, dt);
  }
  Max(...xs: ValueLike[]): Value { const dt = this.dt(...xs); return this.b.node1('Max', xs.map((x) => this.b.lift(x, dt)), undefined, dt); }
  Min(...xs: ValueLike[]): Value { const dt = this.dt(...xs); return this.b.node1('Min', xs.map((x) => this.b.lift(x, dt)), undefined, dt); }
  Sum(...xs: Value[]): Value { return this.b.node1('Sum', xs, undefined, this.dt(...xs)); }
  Mean(...xs: Value[]): Value { return this.b.node1('Mean', xs, undefined, this.dt(...xs)); }
  Neg(x: Value): Value { return this.unary('Neg', x); }
  Abs(x: Value): Value { return this.unary('Abs', x); }
  Sqrt(x: Value): Value { return this.unary('Sqrt', x); }
  Reciprocal(x: Value): Value { return this.unary('Reciprocal', x); }
  Exp(x: Value): Value { return this.unary('Exp', x); }
  Log(x: Value): Value { return this.unary('Log', x); }
  Floor(x: Value): Value { return this.unary('Floor', x); }
  Ceil(x: Value): Value { return this.unary('Ceil', x); }
  Round(x: Value): Value { return this.unary('Round', x); }
  Sign(x: Value): Value { return this.unary('Sign', x); }
  Cos(x: Value): Value { return this.unary('Cos', x); }
  Sin(x: Value): Value { return this.unary('Sin', x); }
  Tanh(x: Value): Value { return this.unary('Tanh', x); }
  Sigmoid(x: Value): Value { return this.unary('Sigmoid', x); }
  Relu(x: Value): Value { return this.unary('Relu', x); }
  LeakyRelu(x: Value, alpha: number): Value { return this.unary('LeakyRelu', x, { alpha: new Float(alpha) }); }
  Erf(x: Value): Value { return this.unary('Erf', x); }
  Softplus(x: Value): Value { return this.unary('Softplus', x); }
  Identity(x: Value): Value { return this.unary('Identity', x); }
  Clip(x: Value, min?: ValueLike, max?: ValueLike): Value {
    const dt = this.dt(x);
    if (this.b.opset >= 11) {
      return this.b.node1('Clip', [x, min === undefined ? undefined : this.b.lift(min, dt), max === undefined ? undefined : this.b.lift(max, dt)], undefined, dt);
    }
    if (min instanceof Value || max instanceof Value) throw new OnnxTrainError('BAD_ARGUMENT', 'Clip below opset 11 takes constant bounds only', 'target opset 11 or later');
    return this.b.node1('Clip', [x], { min: min === undefined ? undefined : new Float(min), max: max === undefined ? undefined : new Float(max) }, dt);
  }

  // --- logic
  Less(x: ValueLike, y: ValueLike): Value { return this.compare('Less', x, y); }
  LessOrEqual(x: ValueLike, y: ValueLike): Value { return this.compare('LessOrEqual', x, y); }
  Greater(x: ValueLike, y: ValueLike): Value { return this.compare('Greater', x, y); }
  GreaterOrEqual(x: ValueLike, y: ValueLike): Value { return this.compare('GreaterOrEqual', x, y); }
  Equal(x: ValueLike, y: ValueLike): Value { return this.compare('Equal', x, y); }
  And(x: Value, y: Value): Value { return this.b.node1('And', [x, y], undefined, DataType.BOOL); }
  Or(x: Value, y: Value): Value { return this.b.node1('Or', [x, y], undefined, DataType.BOOL); }
  Not(x: Value): Value { return this.b.node1('Not', [x], undefined, DataType.BOOL); }
  IsNaN(x: Value): Value { return this.b.node1('IsNaN', [x], undefined, DataType.BOOL); }
  IsInf(x: Value, detectNegative = 1, detectPositive = 1): Value { return this.b.node1('IsInf', [x], { detect_negative: detectNegative, detect_positive: detectPositive }, DataType.BOOL); }
  Where(cond: Value, x: ValueLike, y: ValueLike): Value {
    const [a, c, dt] = this.lift2(x, y);
    return this.b.node1('Where', [cond, a, c], undefined, dt);
  }

  // --- types and shapes
  Cast(x: Value, to: number): Value { return this.b.node1('Cast', [x], { to }, to); }
  CastLike(x: Value, like: Value): Value { return this.b.node1('CastLike', [x, like], undefined, this.dt(like)); }
  Shape(x: Value, start?: number, end?: number): Value {
    return this.b.node1('Shape', [x], this.b.opset >= 15 ? { start, end } : undefined, DataType.INT64);
  }
  Size(x: Value): Value { return this.b.node1('Size', [x], undefined, DataType.INT64); }
  Reshape(x: Value, shape: Ints, allowzero?: number): Value {
    return this.b.node1('Reshape', [x, this.ints(shape)], allowzero ? { allowzero } : undefined, this.dt(x));
  }
  Expand(x: Value, shape: Ints): Value { return this.b.node1('Expand', [x, this.ints(shape)], undefined, this.dt(x)); }
  Transpose(x: Value, perm?: readonly number[]): Value { return this.b.node1('Transpose', [x], { perm }, this.dt(x)); }
  Flatten(x: Value, axis = 1): Value { return this.b.node1('Flatten', [x], { axis }, this.dt(x)); }
  Squeeze(x: Value, axes?: Axes): Value {
    if (this.b.opset >= 13) return this.b.node1('Squeeze', [x, axes === undefined ? undefined : this.ints(axes)], undefined, this.dt(x));
    return this.b.node1('Squeeze', [x], { axes: this.staticAxes(axes, 'Squeeze') }, this.dt(x));
  }
  Unsqueeze(x: Value, axes: Ints): Value {
    if (this.b.opset >= 13) return this.b.node1('Unsqueeze', [x, this.ints(axes)], undefined, this.dt(x));
    return this.b.node1('Unsqueeze', [x], { axes: this.staticAxes(axes, 'Unsqueeze') }, this.dt(x));
  }
  Concat(xs: readonly Value[], axis: number): Value { return this.b.node1('Concat', xs, { axis }, this.dt(...xs)); }
  /** Split into `splits.length` parts of the given sizes (or `count` equal parts). */
  Split(x: Value, axis: number, splits: readonly number[] | Value | number): Value[] {
    const dt = this.dt(x);
    if (typeof splits === 'number') {
      if (this.b.opset >= 18) return this.b.node('Split', [x], { attrs: { axis, num_outputs: splits }, outputs: splits, dtypes: Array(splits).fill(dt) });
      return this.b.node('Split', [x], { attrs: { axis }, outputs: splits, dtypes: Array(splits).fill(dt) });
    }
    const n = splits instanceof Value ? undefined : splits.length;
    if (n === undefined) throw new OnnxTrainError('BAD_ARGUMENT', 'Split with a runtime split tensor needs the output count', 'pass sizes as an array');
    if (this.b.opset >= 13) return this.b.node('Split', [x, this.ints(splits)], { attrs: { axis }, outputs: n, dtypes: Array(n).fill(dt) });
    return this.b.node('Split', [x], { attrs: { axis, split: splits as number[] }, outputs: n, dtypes: Array(n).fill(dt) });
  }
  /** Split by a runtime `split` tensor into `count` outputs (opset ≥ 13, where `split` became an input). */
  SplitBy(x: Value, axis: number, split: Value, count: number): Value[] {
    if (this.b.opset < 13) throw new OnnxTrainError('BAD_ARGUMENT', `Split at opset ${this.b.opset} takes split sizes as an attribute; a runtime split tensor is not possible`, 'upgrade the model to opset 13 or pass constant sizes');
    const dt = this.dt(x);
    return this.b.node('Split', [x, split], { attrs: { axis }, outputs: count, dtypes: Array(count).fill(dt) });
  }
  Slice(x: Value, starts: Ints, ends: Ints, axes?: Ints, steps?: Ints): Value {
    return this.b.node1('Slice', [x, this.ints(starts), this.ints(ends), axes === undefined ? undefined : this.ints(axes), steps === undefined ? undefined : this.ints(steps)], undefined, this.dt(x));
  }
  Gather(x: Value, indices: Value, axis = 0): Value { return this.b.node1('Gather', [x, indices], { axis }, this.dt(x)); }
  GatherElements(x: Value, indices: Value, axis = 0): Value { return this.b.node1('GatherElements', [x, indices], { axis }, this.dt(x)); }
  ScatterElements(x: Value, indices: Value, updates: Value, axis = 0, reduction?: 'none' | 'add' | 'mul' | 'max' | 'min'): Value {
    return this.b.node1('ScatterElements', [x, indices, updates], { axis, reduction: reduction && reduction !== 'none' ? reduction : undefined }, this.dt(x));
  }
  ScatterND(x: Value, indices: Value, updates: Value, reduction?: 'none' | 'add' | 'mul' | 'max' | 'min'): Value {
    return this.b.node1('ScatterND', [x, indices, updates], { reduction: reduction && reduction !== 'none' ? reduction : undefined }, this.dt(x));
  }
  Tile(x: Value, repeats: Ints): Value { return this.b.node1('Tile', [x, this.ints(repeats)], undefined, this.dt(x)); }
  Range(start: Value, limit: Value, delta: Value): Value { return this.b.node1('Range', [start, limit, delta], undefined, this.dt(start)); }
  ConstantOfShape(shape: Ints, value: number, dtype: number = DataType.FLOAT): Value {
    const data = dtype === DataType.INT64 ? [BigInt(value)] : [value];
    return this.b.node1('ConstantOfShape', [this.ints(shape)], { value: makeTensor('', dtype, [1], data as number[]) }, dtype);
  }
  /** Indices of the non-zero elements, int64 [rank, count], in row-major order. */
  NonZero(x: Value): Value { return this.b.node1('NonZero', [x], undefined, DataType.INT64); }
  /** Uniform samples in [low, high) shaped like `x` (element type `dtype`, default x's). */
  RandomUniformLike(x: Value, o: { dtype?: number; low?: number; high?: number; seed?: number } = {}): Value {
    const f = (v?: number) => (v === undefined ? undefined : new Float(v));
    return this.b.node1('RandomUniformLike', [x], { dtype: o.dtype, low: f(o.low), high: f(o.high), seed: f(o.seed) }, o.dtype ?? this.dt(x));
  }
  OneHot(indices: Value, depth: Value, values: Value, axis = -1): Value { return this.b.node1('OneHot', [indices, depth, values], { axis }, this.dt(values)); }
  Pad(x: Value, pads: Ints, value?: ValueLike, mode?: 'constant' | 'reflect' | 'edge'): Value {
    const dt = this.dt(x);
    if (this.b.opset >= 11) return this.b.node1('Pad', [x, this.ints(pads), value === undefined ? undefined : this.b.lift(value, dt)], { mode }, dt);
    return this.b.node1('Pad', [x], { pads: this.staticAxes(pads, 'Pad'), mode, value: typeof value === 'number' ? new Float(value) : undefined }, dt);
  }
  Trilu(x: Value, upper = 1, k?: Value): Value { return this.b.node1('Trilu', [x, k], { upper }, this.dt(x)); }
  CumSum(x: Value, axis: Value, exclusive = 0, reverse = 0): Value { return this.b.node1('CumSum', [x, axis], { exclusive, reverse }, this.dt(x)); }

  // --- reductions (axes: undefined = all axes)
  private reduce(op: string, x: Value, axes: Axes, keepdims: number, inputSince: number): Value {
    const dt = this.dt(x);
    if (this.b.opset >= inputSince) {
      return this.b.node1(op, [x, axes === undefined ? undefined : this.ints(axes)], { keepdims }, dt);
    }
    return this.b.node1(op, [x], { axes: axes === undefined ? undefined : this.staticAxes(axes, op), keepdims }, dt);
  }
  ReduceSum(x: Value, axes?: Axes, keepdims = 1): Value { return this.reduce('ReduceSum', x, axes, keepdims, 13); }
  /** ReduceSum over runtime `axes`; with `noopWithEmptyAxes` = 1 empty axes mean "no reduction" (opset ≥ 13). */
  ReduceSumAxes(x: Value, axes: Value, keepdims = 1, noopWithEmptyAxes = 0): Value {
    if (this.b.opset < 13) throw new OnnxTrainError('BAD_ARGUMENT', `ReduceSum at opset ${this.b.opset} takes axes as an attribute; a runtime axes tensor is not possible`, 'upgrade the model to opset 13 or pass constant axes');
    return this.b.node1('ReduceSum', [x, axes], { keepdims, noop_with_empty_axes: noopWithEmptyAxes || undefined }, this.dt(x));
  }
  ReduceMean(x: Value, axes?: Axes, keepdims = 1): Value { return this.reduce('ReduceMean', x, axes, keepdims, 18); }
  ReduceMax(x: Value, axes?: Axes, keepdims = 1): Value { return this.reduce('ReduceMax', x, axes, keepdims, 18); }
  ReduceMin(x: Value, axes?: Axes, keepdims = 1): Value { return this.reduce('ReduceMin', x, axes, keepdims, 18); }
  ReduceProd(x: Value, axes?: Axes, keepdims = 1): Value { return this.reduce('ReduceProd', x, axes, keepdims, 18); }
  ReduceSumSquare(x: Value, axes?: Axes, keepdims = 1): Value { return this.reduce('ReduceSumSquare', x, axes, keepdims, 18); }
  ReduceL2(x: Value, axes?: Axes, keepdims = 1): Value { return this.reduce('ReduceL2', x, axes, keepdims, 18); }
  ReduceLogSumExp(x: Value, axes?: Axes, keepdims = 1): Value { return this.reduce('ReduceLogSumExp', x, axes, keepdims, 18); }
  ArgMax(x: Value, axis = 0, keepdims = 1): Value { return this.b.node1('ArgMax', [x], { axis, keepdims }, DataType.INT64); }

  // --- linear algebra and NN
  MatMul(a: Value, c: Value): Value { return this.b.node1('MatMul', [a, c], undefined, this.dt(a)); }
  Gemm(a: Value, c: Value, bias?: Value, o: { alpha?: number; beta?: number; transA?: number; transB?: number } = {}): Value {
    return this.b.node1('Gemm', [a, c, bias], {
      alpha: o.alpha === undefined ? undefined : new Float(o.alpha), beta: o.beta === undefined ? undefined : new Float(o.beta),
      transA: o.transA || undefined, transB: o.transB || undefined,
    }, this.dt(a));
  }
  Einsum(equation: string, ...xs: Value[]): Value { return this.b.node1('Einsum', xs, { equation }, this.dt(...xs)); }
  Conv(x: Value, w: Value, bias?: Value, attrs: ConvAttrs = {}): Value { return this.b.node1('Conv', [x, w, bias], convAttrs(attrs), this.dt(x)); }
  ConvTranspose(x: Value, w: Value, bias?: Value, attrs: ConvAttrs & { output_padding?: number[]; output_shape?: number[] } = {}): Value {
    return this.b.node1('ConvTranspose', [x, w, bias], { ...convAttrs(attrs), output_padding: attrs.output_padding, output_shape: attrs.output_shape }, this.dt(x));
  }
  MaxPool(x: Value, attrs: ConvAttrs & { kernel_shape: number[]; ceil_mode?: number; storage_order?: number }, withIndices = false): Value[] {
    const dt = this.dt(x);
    return this.b.node('MaxPool', [x], { attrs: { ...convAttrs(attrs), kernel_shape: attrs.kernel_shape, ceil_mode: attrs.ceil_mode, storage_order: attrs.storage_order }, outputs: withIndices ? 2 : 1, dtypes: [dt, DataType.INT64] });
  }
  AveragePool(x: Value, attrs: ConvAttrs & { kernel_shape: number[]; ceil_mode?: number; count_include_pad?: number }): Value {
    return this.b.node1('AveragePool', [x], { ...convAttrs(attrs), kernel_shape: attrs.kernel_shape, ceil_mode: attrs.ceil_mode, count_include_pad: attrs.count_include_pad }, this.dt(x));
  }
  GlobalAveragePool(x: Value): Value { return this.unary('GlobalAveragePool', x); }
  Softmax(x: Value, axis = -1): Value { return this.unary('Softmax', x, { axis }); }
  LogSoftmax(x: Value, axis = -1): Value { return this.unary('LogSoftmax', x, { axis }); }
  BatchNormalization(x: Value, scale: Value, bias: Value, mean: Value, variance: Value, epsilon?: number, momentum?: number): Value {
    return this.b.node1('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: epsilon === undefined ? undefined : new Float(epsilon), momentum: momentum === undefined ? undefined : new Float(momentum) }, this.dt(x));
  }
  /** LayerNormalization-17; `stashType` (the Mean/InvStdDev element type and statistics precision) defaults to float. */
  LayerNormalization(x: Value, scale: Value, bias: Value | undefined, axis = -1, epsilon = 1e-5, outputs = 1, stashType?: number): Value[] {
    const dt = this.dt(x);
    const st = stashType ?? DataType.FLOAT;
    return this.b.node('LayerNormalization', [x, scale, bias], { attrs: { axis, epsilon: new Float(epsilon), stash_type: stashType }, outputs, dtypes: [dt, st, st] });
  }
  Dropout(x: Value, ratio?: Value, trainingMode?: Value, seed?: number, outputs = 1): Value[] {
    return this.b.node('Dropout', [x, ratio, trainingMode], { attrs: { seed }, outputs, dtypes: [this.dt(x), DataType.BOOL] });
  }
  SoftmaxCrossEntropyLoss(scores: Value, labels: Value, weights?: Value, o: { reduction?: 'none' | 'sum' | 'mean'; ignore_index?: number } = {}, outputs = 1): Value[] {
    return this.b.node('SoftmaxCrossEntropyLoss', [scores, labels, weights], { attrs: { reduction: o.reduction, ignore_index: o.ignore_index }, outputs, dtypes: [this.dt(scores), this.dt(scores)] });
  }
  NegativeLogLikelihoodLoss(input: Value, target: Value, weight?: Value, o: { reduction?: 'none' | 'sum' | 'mean'; ignore_index?: number } = {}): Value {
    return this.b.node1('NegativeLogLikelihoodLoss', [input, target, weight], { reduction: o.reduction, ignore_index: o.ignore_index }, this.dt(input));
  }

  private staticAxes(axes: Axes | Ints, op: string): number[] | undefined {
    if (axes === undefined) return undefined;
    if (axes instanceof Value) {
      throw new OnnxTrainError('BAD_ARGUMENT', `${op} at opset ${this.b.opset} takes axes as an attribute; a runtime axes tensor is not possible`, 'upgrade the model to opset 13 (18 for Reduce*) or pass constant axes');
    }
    return [...axes];
  }
}

export interface ConvAttrs {
  auto_pad?: string;
  dilations?: number[];
  group?: number;
  kernel_shape?: number[];
  pads?: number[];
  strides?: number[];
}

function convAttrs(a: ConvAttrs): Record<string, AttrValue | undefined> {
  return { auto_pad: a.auto_pad, dilations: a.dilations, group: a.group, kernel_shape: a.kernel_shape, pads: a.pads, strides: a.strides };
}

