/**
 * Reading an artifacts folder — either what onnxruntime-training's `generate_artifacts` wrote
 * (training_model.onnx, eval_model.onnx, optimizer_model.onnx, checkpoint) or an augmented folder written by
 * `augment` (the same names plus train_step.onnx and manifest.json) — and classifying the graph inputs and
 * outputs of an ORT training model by name, the way ORT's own `Module` does (training_api/module.cc):
 *
 *   input is a parameter          ⇔ the checkpoint has a tensor of that name
 *   input is `lazy_reset_grad`    ⇔ the gradient-accumulation reset flag
 *   input ends `_grad.accumulation.buffer` ⇔ the accumulation buffer of parameter `<prefix>` (which is trainable)
 *   anything else                 ⇔ a user input (data, labels, target)
 *
 * Without a checkpoint (e.g. the resnet50-conv0 set, whose checkpoint was too large to keep) the parameters are
 * recognised positionally: `generate_artifacts` appends every parameter after the user inputs, so the user
 * inputs are the inputs before the first trainable parameter. Pass `paramNames` when a model breaks that rule.
 *
 * This module reads models only; checkpoints are read by the caller (src/checkpoint sits below this layer) and
 * their parameter names handed in.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxTrainError } from '../errors.js';
import { Model, type ValueInfoProto } from '../ir/graph.js';
import { readModel } from '../onnx/io.js';
import { dtypeInfo, dtypeName } from '../onnx/dtypes.js';
import { toNumber } from '../onnx/int64.js';
import { parseManifest, type ElemType, type Manifest, type ParameterDecl, type TensorDecl } from './manifest.js';

/** File names `generate_artifacts` writes (and `augment` keeps). */
export const ORT_FILES = {
  training: 'training_model.onnx',
  eval: 'eval_model.onnx',
  optimizer: 'optimizer_model.onnx',
  checkpoint: 'checkpoint',
} as const;

/** Extra file names of an augmented folder. */
export const AUGMENTED_FILES = { ...ORT_FILES, trainStep: 'train_step.onnx', manifest: 'manifest.json' } as const;

/** ORT's suffixes and names for gradient accumulation (onnxblock `_training_graph_utils.py`). */
export const GRAD_BUFFER_SUFFIX = '_grad.accumulation.buffer';
export const GRAD_FLAG_SUFFIX = '_grad.accumulation.out';
export const LAZY_RESET_INPUT = 'lazy_reset_grad';

const ELEM_TYPES: ReadonlySet<string> = new Set(['float32', 'float64', 'float16', 'int32', 'int64', 'int8', 'uint8', 'bool']);

/** The manifest element type of an ONNX data type, or a BAD_MODEL error naming the value. */
export function elemType(dataType: number, where: string): ElemType {
  const ort = dtypeInfo(dataType)?.ort;
  if (!ort || !ELEM_TYPES.has(ort)) {
    throw new OnnxTrainError('BAD_MODEL', `${where} has element type ${dtypeName(dataType)}, which onnx-train cannot bind`, 'use float32/float16/float64/int*/bool tensors', where);
  }
  return ort as ElemType;
}

/** Shape of a ValueInfo: numbers for static dims, the dim_param (or "?") for symbolic/unknown ones. */
export function valueShape(v: ValueInfoProto): (number | string)[] | undefined {
  const dims = v.type?.tensor_type?.shape?.dim;
  if (!dims) return undefined;
  // protobufjs puts unset fields' defaults on the prototype: look at own properties only.
  const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  return dims.map((d) => (own(d, 'dim_param') && d.dim_param ? d.dim_param : own(d, 'dim_value') ? toNumber(d.dim_value) : '?'));
}

/** A TensorDecl for a graph input/output; `where` names it in errors. */
export function tensorDecl(v: ValueInfoProto, where: string): TensorDecl {
  const dt = v.type?.tensor_type?.elem_type;
  if (!dt) {
    throw new OnnxTrainError('BAD_MODEL', `${where} "${v.name}" is not a tensor (sequence/map/optional values cannot be bound from JavaScript)`, 'only tensor inputs and outputs are supported', where);
  }
  return { name: v.name ?? '', dtype: elemType(dt, `${where} "${v.name}"`), shape: valueShape(v) ?? [] };
}

/** The graph-level interface of an ORT training model, every tensor by name. */
export interface TrainingInterface {
  /** User inputs (data, labels/target) in graph order. */
  readonly userInputs: readonly TensorDecl[];
  /** All parameters (trainable and frozen) in graph-input order; static shapes. */
  readonly parameters: readonly ParameterDecl[];
  /** Trainable parameters in gradient order, with their accumulation buffer input and bool flag output. */
  readonly grads: readonly { readonly param: string; readonly bufferInput: string; readonly flagOutput: string | undefined }[];
  /** `lazy_reset_grad` when present. */
  readonly lazyResetInput: string | undefined;
  /** The loss: the first graph output (ORT puts it first). */
  readonly lossOutput: string;
  /** Other user outputs (e.g. logits), in graph order. */
  readonly userOutputs: readonly string[];
}

/**
 * Classifies the inputs and outputs of an ORT `training_model.onnx` (see the module doc).
 * `paramNames`: the checkpoint's tensor names (trainable and frozen), when there is a checkpoint.
 */
export function classifyTrainingModel(model: Model, paramNames?: ReadonlySet<string>, where: string = ORT_FILES.training): TrainingInterface {
  const g = model.graph;
  const inputs = g.inputs;
  const byName = new Map(inputs.map((i) => [i.name ?? '', i]));
  const trainable: string[] = [];
  const bufferOf = new Map<string, string>();
  for (const i of inputs) {
    const n = i.name ?? '';
    if (n.endsWith(GRAD_BUFFER_SUFFIX)) {
      const p = n.slice(0, -GRAD_BUFFER_SUFFIX.length);
      if (!byName.has(p)) {
        throw new OnnxTrainError('BAD_MODEL', `gradient buffer "${n}" has no parameter input "${p}"`, 'pass the training_model.onnx written by generate_artifacts', where);
      }
      trainable.push(p);
      bufferOf.set(p, n);
    }
  }
  if (trainable.length === 0) {
    throw new OnnxTrainError('BAD_MODEL', `no input ends in "${GRAD_BUFFER_SUFFIX}": this is not an ORT training model (or nothing is trainable)`,
      'pass the folder written by onnxruntime.training.artifacts.generate_artifacts', where);
  }
  const trainableSet = new Set(trainable);
  const isSpecial = (n: string) => n === LAZY_RESET_INPUT || n.endsWith(GRAD_BUFFER_SUFFIX);
  let isParam: (n: string, index: number) => boolean;
  if (paramNames) {
    const missing = trainable.filter((p) => !paramNames.has(p));
    if (missing.length) {
      throw new OnnxTrainError('BAD_CHECKPOINT', `the checkpoint has no tensor for trainable parameter(s) ${missing.map((m) => `"${m}"`).join(', ')}`,
        'use the checkpoint generated together with this training model', where);
    }
    isParam = (n) => paramNames.has(n);
  } else {
    const first = inputs.findIndex((i) => trainableSet.has(i.name ?? ''));
    isParam = (n, index) => index >= first && !isSpecial(n);
  }
  const userInputs: TensorDecl[] = [];
  const parameters: ParameterDecl[] = [];
  inputs.forEach((i, index) => {
    const n = i.name ?? '';
    if (isSpecial(n)) return;
    if (isParam(n, index)) {
      const d = tensorDecl(i, `${where}: parameter input`);
      if (d.shape.length !== (i.type?.tensor_type?.shape?.dim?.length ?? -1) || d.shape.some((s) => typeof s !== 'number' || s < 0)) {
        throw new OnnxTrainError('BAD_MODEL', `parameter "${n}" has no static shape (${JSON.stringify(d.shape)})`, 'parameters must have fixed shapes; re-export the model with static weight shapes', where);
      }
      parameters.push({ ...d, trainable: trainableSet.has(n) });
    } else {
      userInputs.push(tensorDecl(i, `${where}: input`));
    }
  });
  const outputs = g.outputs.map((o) => o.name ?? '');
  if (outputs.length === 0) throw new OnnxTrainError('BAD_MODEL', 'the training model has no outputs', 'pass a training model whose first output is the loss', where);
  const flags = new Set(outputs.filter((o) => o.endsWith(GRAD_FLAG_SUFFIX)));
  const rest = outputs.filter((o) => !flags.has(o));
  if (rest.length === 0) throw new OnnxTrainError('BAD_MODEL', 'the training model has no loss output', 'pass a training model whose first output is the loss', where);
  return {
    userInputs,
    parameters,
    grads: trainable.map((p) => ({ param: p, bufferInput: bufferOf.get(p)!, flagOutput: flags.has(p + GRAD_FLAG_SUFFIX) ? p + GRAD_FLAG_SUFFIX : undefined })),
    lazyResetInput: byName.has(LAZY_RESET_INPUT) ? LAZY_RESET_INPUT : undefined,
    lossOutput: rest[0],
    userOutputs: rest.slice(1),
  };
}

/** The optimizer found in an ORT `optimizer_model.onnx`, with its attributes as ORT defines them. */
export type OrtOptimizer =
  | {
    readonly op: 'AdamWOptimizer';
    /** β1 (attribute `alpha`). */
    readonly alpha: number;
    /** β2 (attribute `beta`). */
    readonly beta: number;
    readonly epsilon: number;
    readonly weightDecay: number;
    /** 1 = HF/transformers AdamW, 0 = torch AdamW. */
    readonly adamMode: number;
    /** 1 = bias correction on. */
    readonly correctBias: number;
  }
  | { readonly op: 'SGDOptimizerV2' };

/** Schema defaults of com.microsoft::AdamWOptimizer (training_op_defs.cc), used for absent attributes. */
const ADAMW_SCHEMA_DEFAULTS = { alpha: 0.9, beta: 0.999, epsilon: 1e-8, weight_decay: 1e-2, adam_mode: 0, correct_bias: 1 };

/**
 * Reads the optimizer node of an ORT optimizer model. Exactly one AdamWOptimizer or SGDOptimizerV2 node must be
 * present (ORT supports no parameter groups). Float attributes come back as stored (float32 values).
 */
export function readOrtOptimizer(model: Model, where: string = ORT_FILES.optimizer): OrtOptimizer {
  const opt = model.graph.nodes.filter((n) => n.domain === 'com.microsoft' && (n.opType === 'AdamWOptimizer' || n.opType === 'SGDOptimizerV2'));
  if (opt.length !== 1) {
    const ops = [...new Set(model.graph.nodes.map((n) => n.qualifiedOp))].join(', ') || '(none)';
    throw new OnnxTrainError('UNSUPPORTED_OP', `expected exactly one com.microsoft::AdamWOptimizer or SGDOptimizerV2 node, found ${opt.length} (ops: ${ops})`,
      'pick the optimizer explicitly with --optimizer (the original optimizer model is then not needed)', where);
  }
  const n = opt[0];
  if (n.opType === 'SGDOptimizerV2') return { op: 'SGDOptimizerV2' };
  // Read by attribute type: protobufjs fills absent scalar fields with prototype defaults (0).
  const f = (name: keyof typeof ADAMW_SCHEMA_DEFAULTS) => {
    const a = n.attr(name);
    return a === undefined ? ADAMW_SCHEMA_DEFAULTS[name] : a.type === 1 ? a.f ?? 0 : toNumber(a.i);
  };
  return { op: 'AdamWOptimizer', alpha: f('alpha'), beta: f('beta'), epsilon: f('epsilon'), weightDecay: f('weight_decay'), adamMode: f('adam_mode'), correctBias: f('correct_bias') };
}

/** An original ORT artifacts folder, models loaded. */
export interface OrtArtifacts {
  readonly kind: 'ort';
  readonly folder: string;
  /** Absolute paths; undefined for files the folder lacks (training is required). */
  readonly paths: { readonly training: string; readonly eval?: string; readonly optimizer?: string; readonly checkpoint?: string };
  readonly training: Model;
  readonly eval?: Model;
  readonly optimizer?: Model;
}

/** An augmented folder: its manifest and absolute paths of every file it names. */
export interface AugmentedArtifacts {
  readonly kind: 'augmented';
  readonly folder: string;
  readonly manifest: Manifest;
  readonly paths: { readonly training: string; readonly eval: string; readonly optimizer: string; readonly trainStep?: string; readonly checkpoint: string; readonly manifest: string };
}

export type ArtifactsFolder = OrtArtifacts | AugmentedArtifacts;

function exists(p: string): boolean {
  try {
    return fs.statSync(p).isFile() || fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** True when `folder` holds a manifest.json (an augmented folder). */
export function isAugmentedFolder(folder: string): boolean {
  return exists(path.join(folder, AUGMENTED_FILES.manifest));
}

/** Reads and validates an augmented folder's manifest; every file it names must exist. */
export function readAugmented(folder: string): AugmentedArtifacts {
  const dir = path.resolve(folder);
  const mpath = path.join(dir, AUGMENTED_FILES.manifest);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(mpath, 'utf8'));
  } catch (e) {
    throw new OnnxTrainError('BAD_MODEL', `cannot read manifest: ${(e as Error).message}`, 're-run "onnx-train augment" to regenerate the folder', mpath);
  }
  const manifest = parseManifest(json, mpath);
  const f = manifest.files;
  const at = (name: string) => {
    const p = path.resolve(dir, name);
    const rel = path.relative(dir, p);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new OnnxTrainError('UNSAFE_PATH', `manifest names "${name}", outside the folder`, 'keep every artifact inside the augmented folder', mpath);
    }
    if (!exists(p)) throw new OnnxTrainError('IO', `manifest names "${name}", which does not exist`, 're-run "onnx-train augment" or copy the whole folder', mpath);
    return p;
  };
  return {
    kind: 'augmented',
    folder: dir,
    manifest,
    paths: {
      training: at(f.training), eval: at(f.eval), optimizer: at(f.optimizer), checkpoint: at(f.checkpoint), manifest: mpath,
      ...(f.trainStep ? { trainStep: at(f.trainStep) } : {}),
    },
  };
}

/** Reads an original ORT artifacts folder (training model required; eval, optimizer and checkpoint optional). */
export function readOrtArtifacts(folder: string): OrtArtifacts {
  const dir = path.resolve(folder);
  if (!exists(dir)) throw new OnnxTrainError('IO', 'no such folder', 'pass the folder written by generate_artifacts', dir);
  const p = (f: string) => (exists(path.join(dir, f)) ? path.join(dir, f) : undefined);
  const training = p(ORT_FILES.training);
  if (!training) {
    throw new OnnxTrainError('IO', `the folder has no ${ORT_FILES.training}`, 'pass the folder written by onnxruntime.training.artifacts.generate_artifacts', dir);
  }
  const evalPath = p(ORT_FILES.eval);
  const optimizer = p(ORT_FILES.optimizer);
  const checkpoint = p(ORT_FILES.checkpoint);
  return {
    kind: 'ort',
    folder: dir,
    paths: { training, ...(evalPath ? { eval: evalPath } : {}), ...(optimizer ? { optimizer } : {}), ...(checkpoint ? { checkpoint } : {}) },
    training: Model.fromProto(readModel(training)),
    ...(evalPath ? { eval: Model.fromProto(readModel(evalPath)) } : {}),
    ...(optimizer ? { optimizer: Model.fromProto(readModel(optimizer)) } : {}),
  };
}

/** Reads either kind of folder (augmented when it has manifest.json). */
export function readArtifacts(folder: string): ArtifactsFolder {
  return isAugmentedFolder(folder) ? readAugmented(folder) : readOrtArtifacts(folder);
}
