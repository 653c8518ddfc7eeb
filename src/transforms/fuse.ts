/**
 * The fused train step: forward + backward + (global-norm clip) + optimizer + schedule in ONE graph, so one
 * `session.run` performs one complete training update and nothing but the new parameters and state crosses the
 * JS boundary.
 *
 * Two steps:
 * - {@link gradientModelOf} turns the lowered training model into a *gradient model*: `lazy_reset_grad` fixed
 *   true and the accumulation buffers removed — exactly ORT's InPlaceAccumulatorV2 with overwrite — so each
 *   gradient flows out directly (no second lowering).
 * - {@link fuseTrainStep} merges a (lowered) gradient model with a standard-op optimizer graph: the optimizer's
 *   parameter inputs are bound to the gradient model's parameter inputs, its gradient inputs to the gradient
 *   values; every other optimizer name that collides with a name of the gradient model is renamed
 *   (deterministically) and the renames are reported, so the I/O names in the manifest are the real ones.
 *
 * Fused graph interface (names are API, order is not):
 *   inputs  = user inputs, all parameters (in the training model's order), then the optimizer graph's own
 *             inputs in its order: step (int64 [1], 1-based count of this update), `lr` (float32 [1], only when no
 *             schedule runs in-graph), per parameter its state `<param>.<slot>`;
 *   outputs = loss, user outputs, then the optimizer's outputs: per parameter `<param>.out` and
 *             `<param>.<slot>.out`, then extras (`grad_norm` with clipping, `lr_t`, `<param>.lr_used`, …).
 * Gradient accumulation is not possible inside one fused step (by construction); use training_model.onnx +
 * optimizer_model.onnx for it.
 */
import { OnnxTrainError } from '../errors.js';
import { Graph, Model, type ValueInfoProto } from '../ir/graph.js';
import { assertValid } from '../ir/validate.js';
import { cloneModel } from '../onnx/io.js';
import { GraphBuilder } from '../builder/index.js';
import { DataType } from '../onnx/dtypes.js';
import { makeTensor } from '../onnx/tensor.js';
import type { OptimizerManifest, TrainStepManifest } from './manifest.js';

/** A deep copy of a model (through the protobuf codec, so nothing is shared with the source). */
export function cloneIrModel(m: Model): Model {
  return Model.fromProto(cloneModel(m.toProto()));
}

/** A lowered *gradient model*: the training model without accumulation, gradients as outputs. */
export interface GradientModel {
  readonly model: Model;
  /** Trainable parameter name -> gradient output name (ORT's `<param>_grad`), in gradient order. */
  readonly gradOutputs: ReadonlyMap<string, string>;
}

/**
 * Derives the gradient model from the LOWERED training model (lower.ts, accumulation 'buffers'): fixes
 * `lazy_reset_grad` to a constant `true` and every `<param>_grad.accumulation.buffer` input to a constant zero
 * (ConstantOfShape; parameters have static shapes), then folds each `Where(lazy_reset_grad, grad, buffer + grad)`
 * to `grad` and drops what became dead — so the gradients flow straight to the optimizer. `buffer.out = grad` is
 * exactly ORT's InPlaceAccumulatorV2 with overwrite, so the result is correct even if a future accumulator
 * lowering does not use Where (the constants then stay and are computed). Lowering is not repeated.
 * requires: `grads[i].output` is the accumulated-gradient output of `grads[i].bufferInput`.
 * ensures: inputs = the lowered model's minus the buffers and the reset flag; outputs = loss, user outputs, one
 * gradient per trainable parameter (the value that feeds `output`). The input model is not modified.
 */
export function gradientModelOf(
  lowered: Model,
  grads: readonly { readonly param: string; readonly bufferInput: string; readonly output: string }[],
  lazyResetInput: string | undefined,
  params: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[],
): GradientModel {
  const model = cloneIrModel(lowered);
  const g = model.graph;
  const b = new GraphBuilder(g, { opset: model.opset, scope: 'train_step/fixed_accumulation' });
  const shapeOf = new Map(params.map((p) => [p.name, p.shape]));
  const fixed = new Set<string>();
  if (lazyResetInput && g.isGraphInput(lazyResetInput)) {
    b.node('Constant', [], { attrs: { value: makeTensor('', DataType.BOOL, [1], [1]) }, outputs: [lazyResetInput], dtypes: [DataType.BOOL] });
    fixed.add(lazyResetInput);
  }
  for (const gr of grads) {
    const shape = shapeOf.get(gr.param);
    if (!shape || shape.some((d) => typeof d !== 'number')) throw new Error(`bug: parameter "${gr.param}" has no static shape`);
    const vi = g.inputs.find((i) => i.name === gr.bufferInput);
    const dt = vi?.type?.tensor_type?.elem_type ?? DataType.FLOAT;
    b.node('ConstantOfShape', [b.i64(shape as number[])], { attrs: { value: makeTensor('', dt, [1], [0]) }, outputs: [gr.bufferInput], dtypes: [dt] });
    fixed.add(gr.bufferInput);
  }
  g.inputs = g.inputs.filter((i) => !fixed.has(i.name ?? ''));
  for (const f of fixed) g.valueInfo.delete(f);
  g.invalidate();
  // Fold Where(true, x, y) -> x on the accumulator outputs.
  const gradOutputs = new Map<string, string>();
  for (const gr of grads) {
    let out = gr.output;
    const n = g.producer(out);
    if (n && lazyResetInput && n.opType === 'Where' && n.domain === '' && n.inputs[0] === lazyResetInput && n.inputs[1] && !g.isGraphOutput(n.inputs[1])) {
      const x = n.inputs[1];
      g.removeNode(n);
      g.replaceAllUses(out, x);
      g.valueInfo.delete(out);
      out = x;
    }
    gradOutputs.set(gr.param, out);
  }
  g.topoSort();
  g.removeDeadNodes();
  assertValid(model, 'gradient model');
  return { model, gradOutputs };
}

/** The optimizer side of a fuse: the graph and its I/O description (as in the manifest). */
export interface OptimizerPart {
  readonly model: Model;
  readonly io: Pick<OptimizerManifest, 'params' | 'state' | 'stepInput' | 'lrInput' | 'extras'>;
}

/** Result of {@link fuseTrainStep}. */
export interface FusedStep {
  readonly model: Model;
  readonly io: TrainStepManifest & {
    /** State input name in the fused graph by state input name in the optimizer graph (identity unless renamed). */
    readonly stateInputs: Readonly<Record<string, string>>;
    readonly inputs: readonly string[];
    readonly outputs: readonly string[];
  };
}

/** Every value name a graph defines or uses, subgraphs included. */
function definedNames(g: Graph, out = new Set<string>()): Set<string> {
  for (const i of g.inputs) out.add(i.name ?? '');
  for (const o of g.outputs) out.add(o.name ?? '');
  for (const k of g.initializers.keys()) out.add(k);
  for (const n of g.nodes) {
    n.inputs.forEach((x) => out.add(x));
    n.outputs.forEach((x) => out.add(x));
    for (const sg of n.subgraphs.values()) for (const s of Array.isArray(sg) ? sg : [sg]) definedNames(s, out);
  }
  out.delete('');
  return out;
}

/** Applies `map` to every value name of `g` and its subgraphs (inputs, outputs, initializers, value_info, nodes). */
function renameGraph(g: Graph, map: ReadonlyMap<string, string>): void {
  const r = (x: string) => (x ? map.get(x) ?? x : x);
  g.inputs = g.inputs.map((i) => ({ ...i, name: r(i.name ?? '') }));
  g.outputs = g.outputs.map((o) => ({ ...o, name: r(o.name ?? '') }));
  g.initializers = new Map([...g.initializers].map(([k, t]) => [r(k), { ...t, name: r(k) }]));
  g.valueInfo = new Map([...g.valueInfo].map(([k, v]) => [r(k), { ...v, name: r(k) }]));
  for (const n of g.nodes) {
    n.inputs = n.inputs.map(r);
    n.outputs = n.outputs.map(r);
    for (const sg of n.subgraphs.values()) for (const s of Array.isArray(sg) ? sg : [sg]) renameGraph(s, map);
  }
  g.invalidate();
}

function namesOf(m: Model): Set<string> {
  const s = definedNames(m.graph);
  for (const k of m.graph.valueInfo.keys()) s.add(k);
  return s;
}

/**
 * Merges a lowered gradient model (outputs: loss, user outputs, gradients) with an optimizer graph into the
 * fused train step. requires: both graphs use the same default-domain opset; the optimizer's parameter list
 * names trainable parameters of the gradient model. ensures: a valid model (assertValid) with the interface in
 * the module doc; the inputs are not modified.
 */
export function fuseTrainStep(grad: GradientModel, opt: OptimizerPart, where = 'train_step.onnx'): FusedStep {
  if (grad.model.opset !== opt.model.opset) {
    throw new OnnxTrainError('INVALID_GRAPH', `the gradient model targets ai.onnx opset ${grad.model.opset} but the optimizer graph opset ${opt.model.opset}`,
      'build the optimizer graph at the opset of the lowered training model', where);
  }
  const model = cloneIrModel(grad.model);
  const optModel = cloneIrModel(opt.model);
  const g = model.graph;
  const og = optModel.graph;
  const gradNames = namesOf(model);

  // Bindings: optimizer param input -> training param input, optimizer grad input -> gradient value.
  const bind = new Map<string, string>();
  for (const p of opt.io.params) {
    const gv = grad.gradOutputs.get(p.name);
    if (!gv) {
      throw new OnnxTrainError('INVALID_GRAPH', `the optimizer updates "${p.name}", which is not a trainable parameter of the training model`,
        'build the optimizer for the trainable parameters of this model', where);
    }
    if (!g.isGraphInput(p.name)) throw new OnnxTrainError('INVALID_GRAPH', `parameter "${p.name}" is not an input of the training model`, 'report this model', where);
    bind.set(p.input, p.name);
    bind.set(p.grad, gv);
  }
  const bindTargets = new Set(bind.values());
  const missing = [...grad.gradOutputs.keys()].filter((p) => !opt.io.params.some((q) => q.name === p));
  if (missing.length) {
    throw new OnnxTrainError('INVALID_GRAPH', `the optimizer graph does not update trainable parameter(s) ${missing.join(', ')}`, 'build the optimizer for every trainable parameter', where);
  }

  // Renames for everything else the optimizer graph defines (subgraphs included: ONNX forbids a subgraph name
  // shadowing an outer one) that collides with a name of the gradient model.
  const rename = new Map<string, string>(bind);
  const optNames = definedNames(og);
  const taken = (x: string) => gradNames.has(x) || optNames.has(x);
  for (const x of optNames) {
    if (bind.has(x) || rename.has(x) || !gradNames.has(x)) continue;
    let k = 1;
    while (taken(`${x}_${k}`)) k++;
    const r = `${x}_${k}`;
    rename.set(x, r);
    gradNames.add(r);
  }
  renameGraph(og, rename);

  // Graph outputs of the gradient model: keep loss and user outputs, drop the gradients (now internal).
  const gradSet = new Set(grad.gradOutputs.values());
  g.outputs = g.outputs.filter((o) => !gradSet.has(o.name ?? ''));

  // Optimizer initializers, nodes and value_info (already renamed).
  for (const [k, t] of og.initializers) g.initializers.set(k, t);
  const nodeNames = new Set(g.nodes.map((n) => n.name));
  for (const n of og.nodes) {
    if (n.name && nodeNames.has(n.name)) n.name = g.uniqueName(n.name);
    nodeNames.add(n.name);
    for (const sg of n.subgraphs.values()) for (const s of Array.isArray(sg) ? sg : [sg]) s.outer = g;
    g.nodes.push(n);
  }
  for (const [k, v] of og.valueInfo) if (!g.valueInfo.has(k) && !bindTargets.has(k)) g.valueInfo.set(k, v);

  // Inputs: user inputs, params (as in the gradient model), then the optimizer's own inputs (state, step, lr).
  const newInputs: ValueInfoProto[] = og.inputs.filter((i) => !bindTargets.has(i.name ?? ''));
  g.inputs = [...g.inputs, ...newInputs];
  // Outputs: the optimizer's (renamed) outputs.
  g.outputs.push(...og.outputs);
  for (const [d, v] of optModel.opsets) {
    const have = model.opsets.get(d);
    if (have === undefined || have < v) model.opsets.set(d, v);
  }
  model.irVersion = Math.max(model.irVersion, optModel.irVersion);
  g.invalidate();
  g.topoSort();
  assertValid(model, where);

  const r = (x: string) => rename.get(x) ?? x;
  const paramOutputs: Record<string, string> = {};
  for (const p of opt.io.params) paramOutputs[p.name] = r(p.output);
  const stateOutputs: Record<string, string> = {};
  const stateInputs: Record<string, string> = {};
  for (const s of opt.io.state) {
    stateOutputs[r(s.input)] = r(s.output);
    stateInputs[s.input] = r(s.input);
  }
  const extras: Record<string, string> = {};
  for (const [k, v] of Object.entries(opt.io.extras)) extras[k] = r(v);
  return {
    model,
    io: {
      paramOutputs, stateOutputs, stateInputs, extras,
      stepInput: r(opt.io.stepInput),
      lrInput: opt.io.lrInput ? r(opt.io.lrInput) : null,
      inputs: g.inputs.map((i) => i.name ?? ''),
      outputs: g.outputs.map((o) => o.name ?? ''),
    },
  };
}
