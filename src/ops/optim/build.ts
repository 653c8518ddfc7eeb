/**
 * `buildOptimizerGraph`: one ONNX graph (default domain only, opset 17 by default) that performs one optimizer
 * update of every parameter. The interface is documented in io.ts; the numerics in each optimizer's file.
 *
 * Step convention: the `step` input is the **1-based count of the update being performed** (feed 1 for the first
 * update, then 2, 3, …: "number of updates applied so far + 1", torch's `state["step"]` after its increment, ORT's
 * `step` input, Keras's `iterations + 1`). Bias corrections use it directly; schedules (in-graph or on the host)
 * use the 0-based update index `step − 1`. The ONNX preview-training optimizers take the op's `T` instead.
 */
import { GraphBuilder, Value } from '../../builder/index.js';
import { Graph, Node, type Model } from '../../ir/graph.js';
import { DataType } from '../../onnx/dtypes.js';
import { OnnxTrainError } from '../../errors.js';
import { emitSchedule } from '../schedules/emit.js';
import { chain } from './chain.js';
import { StepContext } from './context.js';
import { flatParam } from './flat.js';
import { gradName, outName, stateName, type IODType, type LrKind, type OptimizerIO, type ParamIO, type TensorIO } from './io.js';
import { OPTIMIZERS, type LrSource, type OptimizerDef } from './optimizers/index.js';
import type { OptimizerSpec } from './spec.js';
import { clipByGlobalNorm } from './transforms/clip-by-global-norm.js';
import type { GlobalArgs, ParamInfo, SlotSpec, Transform } from './types.js';
import { applyUpdate, gradientUpdate } from './update.js';

/** Options of {@link buildOptimizerGraph}. */
export interface BuildOptions {
  /**
   * The learning-rate source, overriding the optimizer's default: `'input'` (float32 [1] input `lr`), a number
   * (a float32 constant) or a schedule spec evaluated in-graph at `step − 1` (src/ops/schedules). Default: an
   * input, except `adam_weight_decay` (its `learning_rate`) and Adafactor with `relative_step` (no lr).
   */
  readonly lr?: LrSource;
  /**
   * transformers Trainer `max_grad_norm`: clip all gradients by their global norm before the optimizer
   * (torch `clip_grad_norm_`; Keras `global_clipnorm` semantics for `adam_weight_decay`). Adds output `grad_norm`.
   */
  readonly maxGradNorm?: number;
  /**
   * Multi-tensor mode for the elementwise optimizers: every parameter, gradient and state tensor is one flat
   * float32 buffer (`true` → named `flat`), so the node count does not depend on the number of tensors.
   */
  readonly multiTensor?: boolean | {
    /** Name of the flat buffer (default `flat`). */
    readonly name?: string;
  };
  /** Parameter names that get no weight decay (transformers Trainer's no-decay parameter group). */
  readonly noWeightDecay?: readonly string[];
  /** Add the `update_signal` input / `updated_flag` output (default: only for `ort_adamw`). */
  readonly updateSignal?: boolean;
  /** Graph name (default `optimizer_<type>`). */
  readonly name?: string;
  /** Default-domain opset (default 17). */
  readonly opset?: number;
}

/** A built optimizer graph and its interface. */
export interface OptimizerGraph {
  readonly model: Model;
  readonly io: OptimizerIO;
}

const RESERVED = ['step', 'T', 'lr', 'R', 'update_signal', 'lr_t', 'updated_flag', 'grad_norm'];

function badArg(what: string, fix?: string): OnnxTrainError {
  return new OnnxTrainError('BAD_ARGUMENT', what, fix, 'buildOptimizerGraph');
}

/** The definition of a spec's type. @throws OnnxTrainError('BAD_ARGUMENT') for an unknown type */
export function optimizerDef(spec: OptimizerSpec): OptimizerDef {
  const def = (OPTIMIZERS as Record<string, OptimizerDef | undefined>)[(spec as { type?: string })?.type ?? ''];
  if (!def) throw badArg(`unknown optimizer type ${JSON.stringify((spec as { type?: unknown })?.type)}`, `use one of: ${Object.keys(OPTIMIZERS).join(', ')}`);
  return def;
}

/** `spec` with every upstream default filled in. @throws OnnxTrainError('BAD_ARGUMENT') as upstream validates */
export function resolveOptimizer(spec: OptimizerSpec): OptimizerSpec {
  return optimizerDef(spec).resolve(spec as never);
}

function checkParams(params: readonly ParamInfo[]): void {
  if (!Array.isArray(params) || params.length === 0) throw badArg('no parameters to optimize', 'pass at least one ParamInfo');
  const seen = new Set<string>();
  for (const p of params) {
    if (typeof p?.name !== 'string' || p.name === '') throw badArg('every parameter needs a non-empty name');
    if (seen.has(p.name)) throw badArg(`parameter "${p.name}" appears twice`, 'parameter names must be unique');
    if (RESERVED.includes(p.name)) throw badArg(`parameter name "${p.name}" is reserved by the optimizer graph interface`, 'rename the parameter');
    seen.add(p.name);
    if (!Array.isArray(p.shape) || !p.shape.every((d: number) => Number.isInteger(d) && d >= 0)) {
      throw badArg(`parameter "${p.name}" has an invalid shape ${JSON.stringify(p.shape)}`, 'use non-negative integer dimensions');
    }
  }
}

/**
 * Gives the value `from` the name `to` when a node of `graph` produces it and it is not a graph input or output, so
 * that an output needs no Identity copy; otherwise inserts an Identity producing `to`.
 */
function renameProduced(graph: Graph, from: string, to: string, scope: string): void {
  const producer = graph.producer(from);
  if (producer && !graph.isGraphOutput(from) && !graph.isGraphInput(from)) {
    producer.outputs = producer.outputs.map((o) => (o === from ? to : o));
    graph.replaceAllUses(from, to);
    return;
  }
  graph.addNode(new Node({ opType: 'Identity', name: graph.uniqueName(`${scope}/${to}/Identity`), inputs: [from], outputs: [to] }));
}

/**
 * Builds the optimizer graph for `params`.
 * @throws OnnxTrainError('BAD_ARGUMENT') for an invalid spec (upstream's ValueError text), parameters or options
 */
export function buildOptimizerGraph(spec: OptimizerSpec, params: readonly ParamInfo[], opts: BuildOptions = {}): OptimizerGraph {
  const def = optimizerDef(spec);
  const resolved = def.resolve(spec as never) as OptimizerSpec;
  checkParams(params);
  const type = resolved.type;
  const scope = `optim/${type}`;

  // ------------------------------------------------------------------ parameters (flat or per tensor)
  let graphParams: readonly ParamInfo[] = params;
  let flat: OptimizerIO['flat'];
  if (opts.multiTensor) {
    const why = def.flatUnsupported(resolved as never);
    if (why) throw badArg(`${type} cannot run in multi-tensor mode: ${why}`, 'build without multiTensor');
    const name = (typeof opts.multiTensor === 'object' ? opts.multiTensor.name : undefined) ?? 'flat';
    const fp = flatParam(name, params);
    graphParams = [fp];
    flat = { name, numel: fp.shape[0], segments: fp.segments! };
  }

  // ------------------------------------------------------------------ the chain
  let transform: Transform = def.transform(resolved as never, { noWeightDecay: opts.noWeightDecay });
  if (opts.maxGradNorm !== undefined) {
    if (typeof opts.maxGradNorm !== 'number' || !(opts.maxGradNorm > 0)) throw badArg(`maxGradNorm must be a positive number, got ${JSON.stringify(opts.maxGradNorm)}`);
    transform = chain(clipByGlobalNorm({ max_norm: opts.maxGradNorm, style: def.clipStyle }), transform);
  }

  // ------------------------------------------------------------------ learning-rate source
  const defaultLr = def.lrSource(resolved as never);
  if (opts.lr !== undefined && defaultLr === 'none') {
    throw badArg(`${type} with these options uses no learning rate (Adafactor's relative_step computes its own)`, 'drop the lr option, or set relative_step: false');
  }
  const lrSource: LrSource | 'none' = opts.lr ?? defaultLr;
  if (typeof lrSource === 'number' && !Number.isFinite(lrSource)) throw badArg(`lr must be finite, got ${lrSource}`);
  const lrKind: LrKind = lrSource === 'none' ? 'none' : lrSource === 'input' ? 'input' : typeof lrSource === 'number' ? 'constant' : 'schedule';

  // ------------------------------------------------------------------ inputs
  const b = GraphBuilder.create(opts.name ?? `optimizer_${type}`, { opset: opts.opset ?? 17 });
  const inputs: TensorIO[] = [];
  const outputs: TensorIO[] = [];
  const input = (name: string, dtype: IODType, shape: readonly number[]): Value => {
    inputs.push({ name, dtype, shape });
    return b.input(name, dtype === 'float32' ? DataType.FLOAT : dtype === 'int64' ? DataType.INT64 : DataType.BOOL, shape);
  };
  const step = input(def.stepName, 'int64', [1]);
  const lrInput = lrKind === 'input' ? input(def.lrName, 'float32', [1]) : undefined;
  const gated = opts.updateSignal ?? def.updateSignal;
  const signal = gated ? input('update_signal', 'bool', [1]) : undefined;

  const slotSpecs = graphParams.map((p) => transform.slots(p));
  {
    const names = [...inputs.map((i) => i.name)];
    graphParams.forEach((p, i) => {
      names.push(p.name, gradName(p.name), outName(p.name));
      for (const sl of slotSpecs[i]) names.push(stateName(p.name, sl.name), outName(stateName(p.name, sl.name)));
    });
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw badArg(`two graph inputs/outputs would be named "${dup}"`, 'rename the parameter whose name collides with a derived name');
  }
  const perParam = graphParams.map((p, i) => {
    const pv = input(p.name, 'float32', p.shape);
    const gv = input(gradName(p.name), 'float32', p.shape);
    const slots: Record<string, Value> = {};
    for (const s of slotSpecs[i]) slots[s.name] = input(stateName(p.name, s.name), 'float32', s.shape);
    return { param: p, p: pv, g: gv, slots };
  });

  const lrFn = lrKind === 'none' ? undefined : (sb: GraphBuilder): Value => {
    if (lrInput) return lrInput;
    if (typeof lrSource === 'number') return sb.f32(Math.fround(lrSource));
    return emitSchedule(sb, lrSource as Exclude<LrSource, 'input' | number>, sb.op.Sub(step, sb.i64(1)));
  };
  const ctx = new StepContext(b, scope, step, lrFn);

  // ------------------------------------------------------------------ whole-graph stages
  const globalExtras: Record<string, Value> = {};
  if (transform.prepare) {
    const all: GlobalArgs[] = perParam.map((x) => ({ param: x.param, p: x.p, g: x.g }));
    b.scope('optim', () => b.scope(type, () => Object.assign(globalExtras, transform.prepare!(b, all, ctx).extras ?? {})));
  }

  // ------------------------------------------------------------------ per-parameter updates
  type Emitted = { name: string; value: Value; shape: readonly number[]; from?: Value };
  type Values = { param: ParamInfo; p: Value; g: Value; slots: Record<string, Value> };
  /** Per-element constants (weight-decay masks) are initializers of the main graph (shape = the param's). */
  const initializerConstant = (eb: GraphBuilder, name: string, dtype: number, data: Uint8Array | Float32Array, shape: readonly number[]) =>
    b.initializer(eb.freshName(name), dtype, shape, data);
  const emitAll = (
    eb: GraphBuilder,
    values: readonly Values[],
    constant: (eb: GraphBuilder, name: string, dtype: number, data: Uint8Array | Float32Array, shape: readonly number[]) => Value,
  ): { outs: Emitted[]; extras: Map<string, Record<string, string>> } => {
    const outs: Emitted[] = [];
    const extras = new Map<string, Record<string, string>>();
    values.forEach((x, i) => {
      eb.scope(x.param.name, () => {
        const r = transform.emit(eb, {
          param: x.param, p: x.p, g: x.g, update: gradientUpdate(x.g), slots: x.slots, vars: {}, ctx,
          constant: (name, dtype, data) => constant(eb, name, dtype, data, x.param.shape),
        });
        // Scalar coefficients are [1] tensors, so a 0-d parameter (shape []) broadcasts to [1] through the update;
        // reshape it back, or runtimes that check declared output shapes (onnxruntime-web) refuse the model.
        const asDeclared = (v: Value, shape: readonly number[]): Value => (shape.length === 0 ? eb.op.Reshape(v, []) : v);
        const pNew = eb.scope('apply', () => asDeclared(applyUpdate(eb, x.p, r.update, ctx, def.precision), x.param.shape));
        outs.push({ name: outName(x.param.name), value: pNew, shape: x.param.shape, from: x.p });
        for (const sl of slotSpecs[i]) {
          const v = r.slots?.[sl.name];
          if (!v) throw new OnnxTrainError('INVALID_GRAPH', `transform chain of ${type} returned no new value for slot "${sl.name}"`, 'a transform must return every slot it declares');
          outs.push({ name: outName(stateName(x.param.name, sl.name)), value: asDeclared(v, sl.shape), shape: sl.shape, from: x.slots[sl.name] });
        }
        const ex: Record<string, string> = {};
        for (const [k, v] of Object.entries(r.extras ?? {})) {
          const name = `${x.param.name}.${k}`;
          ex[k] = name;
          outs.push({ name, value: v, shape: [1] });
        }
        extras.set(x.param.name, ex);
      });
    });
    return { outs, extras };
  };

  const emitInto = (eb: GraphBuilder) => emitAll(eb, perParam, initializerConstant);

  let emitted: { outs: Emitted[]; extras: Map<string, Record<string, string>> };
  if (!signal) {
    emitted = b.scope('optim', () => b.scope(type, () => emitInto(b)));
    for (const o of emitted.outs) {
      renameProduced(b.graph, o.value.name, o.name, scope);
      b.output(new Value(o.name, DataType.FLOAT), o.name, DataType.FLOAT, o.shape);
      outputs.push({ name: o.name, dtype: 'float32', shape: o.shape });
    }
  } else {
    // update_signal false must leave everything unchanged even when the gradients are not finite, so the update
    // runs in an If branch (no work and no NaN leaks when skipped) instead of being masked with Where.
    const thenGraph = new Graph('apply_update', b.graph);
    const tb = new GraphBuilder(thenGraph, { opset: b.opset, scope: scope });
    emitted = emitInto(tb);
    if ([...emitted.extras.values()].some((e) => Object.keys(e).length > 0)) {
      throw badArg(`${type} has per-parameter extra outputs, which an update_signal gate cannot carry`, 'build without updateSignal');
    }
    const elseGraph = new Graph('skip_update', b.graph);
    const eb = new GraphBuilder(elseGraph, { opset: b.opset, scope: `${scope}/skip` });
    for (const o of emitted.outs) {
      tb.output(o.value, o.value.name, DataType.FLOAT, o.shape);
      const kept = eb.op.Identity(o.from!);
      eb.output(kept, kept.name, DataType.FLOAT, o.shape);
    }
    b.scope('optim', () => b.scope(type, () => b.node('If', [signal], {
      attrs: { then_branch: thenGraph, else_branch: elseGraph },
      outputs: emitted.outs.map((o) => o.name),
      dtypes: emitted.outs.map(() => DataType.FLOAT),
    })));
    for (const o of emitted.outs) {
      b.output(new Value(o.name, DataType.FLOAT), o.name, DataType.FLOAT, o.shape);
      outputs.push({ name: o.name, dtype: 'float32', shape: o.shape });
    }
  }

  // ------------------------------------------------------------------ graph-level extras
  const extras: { lr_t?: string; updated_flag?: string; grad_norm?: string } = {};
  const graphOutput = (v: Value, name: string, dtype: IODType) => {
    renameProduced(b.graph, v.name, name, scope);
    b.output(new Value(name, v.dtype), name, dtype === 'bool' ? DataType.BOOL : DataType.FLOAT, [1]);
    outputs.push({ name, dtype, shape: [1] });
  };
  if (def.lrOutput) {
    const lr = ctx.lr();
    graphOutput(lr === lrInput ? lr : b.scope('optim', () => b.scope(type, () => b.op.Reshape(lr, [1]))), 'lr_t', 'float32');
    extras.lr_t = 'lr_t';
  }
  if (signal) {
    graphOutput(signal, 'updated_flag', 'bool');
    extras.updated_flag = 'updated_flag';
  }
  for (const [k, v] of Object.entries(globalExtras)) {
    graphOutput(v, k, 'float32');
    if (k === 'grad_norm') extras.grad_norm = k;
  }

  const paramIO: ParamIO[] = graphParams.map((p, i) => ({
    name: p.name,
    shape: p.shape,
    input: p.name,
    grad: gradName(p.name),
    output: outName(p.name),
    slots: slotSpecs[i].map((s: SlotSpec) => ({ slot: s.name, input: stateName(p.name, s.name), output: outName(stateName(p.name, s.name)), shape: s.shape, init: s.init })),
    extras: emitted.extras.get(p.name) ?? {},
    ...(p.segments ? { segments: p.segments } : {}),
  }));
  const names = [...inputs, ...outputs].map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw badArg(`two graph inputs/outputs would be named "${dup}"`, 'rename the parameter whose name collides with a derived name');

  const io: OptimizerIO = {
    optimizer: resolved,
    inputs,
    outputs,
    params: paramIO,
    step: { name: def.stepName, convention: def.stepName === 'T' ? 'onnx_T' : 'count' },
    lr: lrInput ? { kind: lrKind, input: lrInput.name } : { kind: lrKind },
    ...(signal ? { updateSignal: signal.name } : {}),
    extras,
    ...(flat ? { flat } : {}),
  };
  // Constants a fold made unnecessary (e.g. ε when it was folded with sqrt(bc2)) would make ORT warn.
  b.graph.removeDeadNodes();
  return { model: b.toModel(), io };
}
