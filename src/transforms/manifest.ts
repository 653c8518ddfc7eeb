/**
 * manifest.json of an augmented artifacts folder: the contract between `onnx-train augment` (which writes it)
 * and the runtime (which reads it). Every tensor is addressed by name; nothing is matched by position.
 *
 * Folder layout written by augment:
 *   training_model.onnx  lowered forward+backward; takes the gradient accumulation buffers as inputs and
 *                        outputs the accumulated gradients (explicit state instead of ORT's in-place aliasing)
 *   eval_model.onnx      forward only (loss + user outputs)
 *   optimizer_model.onnx the standard-op optimizer graph (buildOptimizerGraph)
 *   train_step.onnx      fused forward + backward + (clip) + optimizer + schedule, one run per step
 *   checkpoint           ODTC v2 (parameters, optimizer state momentum0/momentum1…, step, lr, properties)
 *   manifest.json        this
 */
import { OnnxTrainError } from '../errors.js';

export const MANIFEST_FORMAT = 'onnx-train/artifacts@1';

export type ElemType = 'float32' | 'float64' | 'float16' | 'int32' | 'int64' | 'int8' | 'uint8' | 'bool';

export interface TensorDecl {
  readonly name: string;
  readonly dtype: ElemType;
  /** Numbers for static dims, strings for symbolic ones (e.g. "batch_size"). */
  readonly shape: readonly (number | string)[];
}

export interface ParameterDecl extends TensorDecl {
  readonly trainable: boolean;
}

/** One optimizer state tensor of one parameter. */
export interface StateDecl {
  readonly param: string;
  /** Upstream slot name: exp_avg, exp_avg_sq, max_exp_avg_sq, exp_avg_sq_row, exp_avg_sq_col, m, v, vhat, … */
  readonly slot: string;
  readonly shape: readonly number[];
  readonly dtype: ElemType;
  /** Graph input and output names in optimizer_model.onnx and train_step.onnx. */
  readonly input: string;
  readonly output: string;
  /** Initial value (upstream initialisation; 0 for moments). */
  readonly init: number;
}

export interface OptimizerManifest {
  /** The optimizer spec as given (upstream argument names), e.g. {type: 'adamw', betas: [...], ...}. */
  readonly spec: Readonly<Record<string, unknown>>;
  /** In-graph schedule spec, or null when the lr is an input. */
  readonly schedule: Readonly<Record<string, unknown>> | null;
  readonly maxGradNorm: number | null;
  /** Base learning rate (what a host-side schedule multiplies). */
  readonly lr: number;
  /**
   * int64 [1] step input name. With `stepConvention` 'count' (every optimizer but the ONNX preview-training ones)
   * feed the 1-based count of the update being performed = updates already applied + 1 (ORT's Optimizer::Step
   * feeds its stored step + 1 likewise); in-graph schedules use `step − 1`. See src/ops/optim/build.ts.
   */
  readonly stepInput: string;
  /** 'count' (1-based update count, see stepInput) or 'onnx_T' (the ONNX op's T, fed verbatim). Absent = 'count'. */
  readonly stepConvention?: 'count' | 'onnx_T';
  /** float32 [1] learning-rate input name, when the schedule is not in-graph. */
  readonly lrInput: string | null;
  /** Per trainable parameter: param in/out and gradient input names in optimizer_model.onnx. */
  readonly params: readonly { readonly name: string; readonly input: string; readonly output: string; readonly grad: string }[];
  readonly state: readonly StateDecl[];
  /** Extra outputs (lr_used, lr_t, updated_flag, grad_norm …) by meaning. */
  readonly extras: Readonly<Record<string, string>>;
}

export interface TrainingManifest {
  /** Per trainable parameter: accumulation-buffer input and accumulated-gradient output of training_model.onnx. */
  readonly grads: readonly { readonly param: string; readonly bufferInput: string; readonly output: string }[];
  /** bool [1] input: true = start a fresh accumulation (ORT's lazy_reset_grad). */
  readonly lazyResetInput: string;
}

export interface TrainStepManifest {
  /** Outputs of train_step.onnx for params and state are `<input name>` -> `<output name>` as in `optimizer`. */
  readonly paramOutputs: Readonly<Record<string, string>>;
  readonly stateOutputs: Readonly<Record<string, string>>;
  readonly stepInput: string;
  readonly lrInput: string | null;
  readonly extras: Readonly<Record<string, string>>;
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly files: {
    readonly training: string;
    readonly eval: string;
    readonly optimizer: string;
    readonly trainStep: string | null;
    readonly checkpoint: string;
  };
  /** User inputs (data, labels) in the order of the original training model. */
  readonly inputs: readonly TensorDecl[];
  readonly lossOutput: string;
  /** Other user outputs of the training model (e.g. logits), also produced by eval. */
  readonly userOutputs: readonly string[];
  readonly evalOutputs: readonly string[];
  /** All parameters (trainable and frozen) in the original graph-input order. */
  readonly parameters: readonly ParameterDecl[];
  readonly training: TrainingManifest;
  readonly optimizer: OptimizerManifest;
  readonly trainStep: TrainStepManifest | null;
  readonly versions: Readonly<Record<string, string>>;
}

/** Validates parsed JSON as a Manifest, with errors that name the field. */
export function parseManifest(json: unknown, where = 'manifest.json'): Manifest {
  const fail = (field: string, expected: string): never => {
    throw new OnnxTrainError('BAD_MODEL', `field "${field}" is missing or invalid (expected ${expected})`, 're-run "onnx-train augment" to regenerate the folder', where);
  };
  if (typeof json !== 'object' || json === null) fail('(root)', 'an object');
  const m = json as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) fail('format', `"${MANIFEST_FORMAT}"`);
  const files = m.files as Record<string, unknown> | undefined;
  if (!files || typeof files !== 'object') fail('files', 'an object');
  for (const k of ['training', 'eval', 'optimizer', 'checkpoint']) if (typeof files![k] !== 'string') fail(`files.${k}`, 'a file name');
  if (!Array.isArray(m.inputs)) fail('inputs', 'an array of tensor declarations');
  if (typeof m.lossOutput !== 'string') fail('lossOutput', 'a string');
  if (!Array.isArray(m.parameters)) fail('parameters', 'an array');
  for (const [i, p] of (m.parameters as ParameterDecl[]).entries()) {
    if (typeof p?.name !== 'string' || !Array.isArray(p.shape) || typeof p.trainable !== 'boolean') fail(`parameters[${i}]`, '{name, dtype, shape, trainable}');
  }
  const tr = m.training as Record<string, unknown> | undefined;
  if (!tr || !Array.isArray(tr.grads) || typeof tr.lazyResetInput !== 'string') fail('training', '{grads, lazyResetInput}');
  const op = m.optimizer as Record<string, unknown> | undefined;
  if (!op || !Array.isArray(op.params) || !Array.isArray(op.state) || typeof op.stepInput !== 'string') fail('optimizer', '{params, state, stepInput, …}');
  return json as Manifest;
}
