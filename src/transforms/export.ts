/**
 * Export for inference: the eval model with trained weights baked in — onnx-train's counterpart of ORT's
 * `Module::ExportModelForInferencing` (training_api/module.cc), which loads the eval model, keeps the requested
 * outputs, removes unreachable nodes, turns every parameter input into an initializer and drops unused inputs.
 *
 * Output choice (default): every eval output except the loss — so the loss branch, and with it the label
 * input, disappears. When the eval model has no output besides the loss (seizureguard-cnn1d, resnet50-conv0:
 * `generate_artifacts` kept only the loss) the loss is kept and the exported model still needs the labels;
 * pass `outputs` (any value name of the graph that value_info types, e.g. the logits feeding
 * SoftmaxCrossEntropyLoss) to export something else.
 */
import Long from 'long';
import { OnnxTrainError } from '../errors.js';
import { Model } from '../ir/graph.js';
import { assertValid } from '../ir/validate.js';
import { byteSize, dtypeName } from '../onnx/dtypes.js';
import type { TensorProto, ValueInfoProto } from '../onnx/types.js';
import { cloneIrModel } from './fuse.js';
import { valueShape } from './artifacts.js';

/** A named tensor as raw little-endian bytes (structurally the checkpoint layer's CheckpointTensor). */
export interface ParamTensor {
  readonly name: string;
  /** ONNX TensorProto.DataType value. */
  readonly dataType: number;
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export interface ExportOptions {
  /**
   * Output names to keep (graph outputs or internal values with value_info). Default: every eval output but the
   * loss; the loss alone when there is no other.
   */
  readonly outputs?: readonly string[];
  /** The loss output (default: the eval model's first output, where ORT puts it). */
  readonly lossOutput?: string;
  /** Names that must be baked (e.g. every parameter of the manifest); a missing one is an error. */
  readonly parameters?: readonly string[];
}

export interface ExportResult {
  readonly model: Model;
  readonly outputs: readonly string[];
  /** True when the loss was kept because the eval model had no other output. */
  readonly keptLoss: boolean;
  /** Parameter inputs turned into initializers. */
  readonly baked: readonly string[];
  /** User inputs dropped because nothing uses them any more (labels, targets). */
  readonly droppedInputs: readonly string[];
  readonly inputs: readonly string[];
}

function inputDims(v: ValueInfoProto): (number | string)[] | undefined {
  return valueShape(v);
}

/** Ops whose (first) output has the element type of their first input. */
const SAME_TYPE_AS_INPUT0 = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Neg', 'Abs', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Softmax', 'LogSoftmax', 'Exp', 'Log',
  'Gemm', 'MatMul', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool',
  'BatchNormalization', 'LayerNormalization', 'Reshape', 'Flatten', 'Transpose', 'Identity', 'Squeeze', 'Unsqueeze',
  'Concat', 'Slice', 'Gather', 'Dropout', 'Sum', 'Max', 'Min', 'Clip', 'Pad', 'Expand', 'Tile', 'Erf', 'Sqrt', 'Pow',
  'ReduceMean', 'ReduceSum', 'ReduceMax', 'Elu', 'Selu', 'Gelu', 'HardSigmoid', 'Softplus',
]);

/** Element type of a value: declared (input, initializer, value_info, output) or followed back through ops above. */
function inferElemType(model: Model, name: string, depth = 0): number | undefined {
  const g = model.graph;
  const declared = g.inputs.find((i) => i.name === name) ?? g.valueInfo.get(name) ?? g.outputs.find((o) => o.name === name);
  const dt = declared?.type?.tensor_type?.elem_type ?? g.initializers.get(name)?.data_type;
  if (dt) return dt;
  const p = g.producer(name);
  if (!p || depth > 200 || p.domain !== '' || !SAME_TYPE_AS_INPUT0.has(p.opType) || p.outputs[0] !== name) return undefined;
  return inferElemType(model, p.inputs[0], depth + 1);
}

/**
 * Bakes `params` into a copy of `evalModel` and prunes it to the chosen outputs. Every parameter given that is a
 * graph input becomes an initializer; shape and type must match the input's declaration (all mismatches are
 * reported together). The input model is not modified.
 */
export function exportInferencePass(evalModel: Model, params: Iterable<ParamTensor>, opts: ExportOptions = {}, where = 'eval_model.onnx'): ExportResult {
  const model = cloneIrModel(evalModel);
  const g = model.graph;
  const given = new Map<string, ParamTensor>();
  for (const p of params) given.set(p.name, p);

  const outs = g.outputs.map((o) => o.name ?? '');
  const loss = opts.lossOutput ?? outs[0];
  let chosen: string[];
  let keptLoss = false;
  if (opts.outputs?.length) {
    chosen = [...opts.outputs];
  } else {
    chosen = outs.filter((o) => o !== loss);
    if (chosen.length === 0) {
      chosen = [loss];
      keptLoss = true;
    }
  }
  const newOutputs: ValueInfoProto[] = [];
  const unknown: string[] = [];
  for (const name of chosen) {
    const existing = g.outputs.find((o) => o.name === name) ?? g.valueInfo.get(name);
    if (!g.isDefined(name)) { unknown.push(name); continue; }
    if (existing) { newOutputs.push(existing); continue; }
    const dt = inferElemType(model, name);
    if (dt === undefined) { unknown.push(name); continue; }
    newOutputs.push({ name, type: { tensor_type: { elem_type: dt } } });
  }
  if (unknown.length) {
    throw new OnnxTrainError('BAD_ARGUMENT', `cannot export output(s) ${unknown.map((u) => `"${u}"`).join(', ')}: not a value of the graph, or one whose element type cannot be told`,
      `pick from the eval outputs (${outs.join(', ')}) or an intermediate value with value_info`, where);
  }
  g.outputs = newOutputs;

  const problems: string[] = [];
  const baked: string[] = [];
  for (const name of opts.parameters ?? []) {
    if (!given.has(name)) problems.push(`no value for parameter "${name}"`);
  }
  for (const inp of [...g.inputs]) {
    const name = inp.name ?? '';
    const p = given.get(name);
    if (!p) continue;
    const dt = inp.type?.tensor_type?.elem_type;
    const dims = inputDims(inp);
    if (dt !== undefined && dt !== p.dataType) { problems.push(`"${name}": value is ${dtypeName(p.dataType)}, the model expects ${dtypeName(dt)}`); continue; }
    if (dims && (dims.length !== p.dims.length || dims.some((d, i) => typeof d === 'number' && d !== p.dims[i]))) {
      problems.push(`"${name}": value has shape [${p.dims}], the model expects [${dims}]`);
      continue;
    }
    const need = byteSize(p.dataType, p.dims.reduce((a, d) => a * d, 1));
    if (p.data.length !== need) { problems.push(`"${name}": ${p.data.length} bytes for shape [${p.dims}] (${need} expected)`); continue; }
    const t: TensorProto = { name, data_type: p.dataType, dims: p.dims.map((d) => Long.fromNumber(d)), raw_data: p.data };
    g.initializers.set(name, t);
    baked.push(name);
  }
  if (problems.length) {
    throw new OnnxTrainError('SHAPE_MISMATCH', `the parameters do not fit the model (${problems.length} problem(s)):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      'use the checkpoint written for these artifacts', where);
  }
  const bakedSet = new Set(baked);
  g.inputs = g.inputs.filter((i) => !bakedSet.has(i.name ?? ''));
  g.invalidate();
  g.removeDeadNodes();
  const dropped: string[] = [];
  g.inputs = g.inputs.filter((i) => {
    const name = i.name ?? '';
    const used = g.uses(name).length > 0 || g.isGraphOutput(name);
    if (!used) dropped.push(name);
    return used;
  });
  for (const k of [...g.valueInfo.keys()]) if (!g.isDefined(k)) g.valueInfo.delete(k);
  // Opset imports for domains no node uses any more are dropped (stock runtimes ignore them, readers do not).
  const usedDomains = new Set(g.nodes.map((n) => (n.domain === 'ai.onnx' ? '' : n.domain)));
  for (const d of [...model.opsets.keys()]) if (d !== '' && d !== 'ai.onnx' && !usedDomains.has(d)) model.opsets.delete(d);
  g.invalidate();
  assertValid(model, where);
  return { model, outputs: chosen, keptLoss, baked, droppedInputs: dropped, inputs: g.inputs.map((i) => i.name ?? '') };
}
