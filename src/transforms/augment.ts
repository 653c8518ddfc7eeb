/**
 * augment: turns an onnxruntime-training artifacts folder (generate_artifacts output) into one that STOCK
 * onnxruntime-node / onnxruntime-web load and train:
 *
 *   training_model.onnx   lowered (lower.ts, accumulation 'buffers', ORT's bool flag outputs dropped)
 *   eval_model.onnx       the original eval model (lowered too if it holds non-standard ops)
 *   optimizer_model.onnx  the standard-op optimizer graph (buildOptimizerGraph, update_signal off)
 *   train_step.onnx       forward + backward + (clip) + optimizer + (schedule) in one graph (fuse.ts)
 *   checkpoint            ODTC v2: parameters, zero optimizer state (momentum0/momentum1 or slot names), step 0
 *   manifest.json         every input/output name by meaning (manifest.ts)
 *
 * The optimizer, by default, is the original one with the SAME attributes: com.microsoft::AdamWOptimizer becomes
 * `ort_adamw` (alpha, beta, epsilon, weight_decay, adam_mode, correct_bias read from the node),
 * SGDOptimizerV2 becomes torch `sgd` (identical: `w − lr·g`). `optimizer` picks another one with
 * transformers-TrainingArguments-style options (see {@link HfOptimizerOptions}).
 *
 * Parameters come from the original checkpoint; when there is none (e.g. resnet50-conv0, whose checkpoint was not
 * shipped) they are initialised from a seeded PRNG (see {@link initParameter}).
 *
 * Atomicity: everything is built, validated (assertValid) and load-checked (the `env.checkLoads` hook, which the
 * CLI wires to onnxruntime-node) in memory first, then written into a temp folder next to the target that is
 * renamed into place at the end; on any failure nothing is left behind. Unsupported ops in the training and eval
 * models are reported together in one UNLOWERED_OP error listing every (domain, op) with node names.
 *
 * Layering: this module reads/writes models only. Checkpoint I/O and the runtime check come in through
 * {@link AugmentEnv} (src/checkpoint and src/runtime sit below this layer); `nodeAugmentEnv()` in
 * src/cli/commands/augment.ts is the standard wiring.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxTrainError } from '../errors.js';
import { Model } from '../ir/graph.js';
import { assertValid } from '../ir/validate.js';
import { encodeModel, writeModel } from '../onnx/io.js';
import { byteSize, dtypeFromOrt, dtypeName } from '../onnx/dtypes.js';
import { buildOptimizerGraph, type OptimizerGraph } from '../ops/optim/build.js';
import type { OptimizerSpec } from '../ops/optim/spec.js';
import { OPTIMIZER_TYPES } from '../ops/optim/spec.js';
import { getScheduler } from '../ops/schedules/get-scheduler.js';
import type { ScheduleSpec } from '../ops/schedules/spec.js';
import {
  AUGMENTED_FILES, classifyTrainingModel, readOrtArtifacts, readOrtOptimizer, isAugmentedFolder,
  type OrtArtifacts, type OrtOptimizer, type TrainingInterface,
} from './artifacts.js';
import { fuseTrainStep, gradientModelOf, type FusedStep } from './fuse.js';
import { lowerTrainingOps, UnloweredOpsError, type LoweringProblem } from './lower.js';
import { MANIFEST_FORMAT, type Manifest, type OptimizerManifest, type ParameterDecl, type StateDecl } from './manifest.js';
import { mulberry32 } from '../util/prng.js';

// ------------------------------------------------------------------------------------------------ env (ports)

/** A tensor as raw little-endian bytes — structurally the checkpoint layer's CheckpointTensor. */
export interface RawTensor {
  name: string;
  /** ONNX TensorProto.DataType value. */
  dataType: number;
  dims: number[];
  data: Uint8Array;
  strings?: string[];
}

/** Structurally the checkpoint layer's CheckpointState (what readCheckpoint returns / writeCheckpoint takes). */
export interface CheckpointData {
  format: 'odtc' | 'pbseq' | 'safetensors';
  version?: number;
  trainable: RawTensor[];
  frozen: RawTensor[];
  nominal?: boolean;
  optimizer?: { groups: { name: string; step: bigint; initialLearningRate: number; params: { param: string; momentums: RawTensor[] }[] }[] };
  properties: Record<string, number | bigint | string>;
}

/** What augment needs from the layers below it. */
export interface AugmentEnv {
  readCheckpoint(file: string): Promise<CheckpointData>;
  /** Writes an ODTC v2 checkpoint (atomically). */
  writeCheckpoint(file: string, state: CheckpointData): Promise<void>;
  /** Throws when a runtime cannot load the model (e.g. onnxruntime-node). Optional: skipped when absent. */
  checkLoads?(model: Uint8Array, label: string): Promise<void>;
}

// ------------------------------------------------------------------------------------------------ options

/** transformers `TrainingArguments.optim` names accepted here (plus the project's own optimizer types). */
export const HF_OPTIMIZERS = ['adamw', 'adamw_hf', 'adamw_torch', 'adafactor', 'adam_weight_decay', 'sgd', 'ort_adamw'] as const;

/**
 * Optimizer choice in transformers-TrainingArguments style. Only the options given are applied; everything else
 * takes the *optimizer's* upstream default (not the Trainer's: no hidden lr 5e-5 or max_grad_norm 1.0).
 * Mapping (HF Trainer `get_optimizer_cls_and_kwargs`): adamw/adamw_torch: lr, betas=(adam_beta1, adam_beta2),
 * eps=adam_epsilon, weight_decay; adafactor: lr (then also scale_parameter=false, relative_step=false, as the
 * Trainer does), weight_decay; adam_weight_decay: learning_rate, beta_1, beta_2, epsilon, weight_decay_rate;
 * sgd: lr, weight_decay; ort_adamw: alpha=adam_beta1, beta=adam_beta2, epsilon, weight_decay (the others from the
 * original node). `optimArgs` (HF `optim_args`) are merged into the spec last.
 */
export interface HfOptimizerOptions {
  /** Default: the original optimizer (ort_adamw with its attributes, or sgd). `adamw_hf` = `adamw`. */
  readonly optimizer?: (typeof HF_OPTIMIZERS)[number] | OptimizerSpec['type'];
  readonly learningRate?: number;
  readonly weightDecay?: number;
  readonly adamBeta1?: number;
  readonly adamBeta2?: number;
  readonly adamEpsilon?: number;
  /** transformers SchedulerType (linear, cosine, …); in-graph. Absent: the lr is an input of the graphs. */
  readonly lrSchedulerType?: string;
  readonly warmupSteps?: number;
  readonly numTrainingSteps?: number;
  readonly lrSchedulerKwargs?: Readonly<Record<string, unknown>>;
  /** Global-norm gradient clipping (Trainer `max_grad_norm`); absent or 0: none. */
  readonly maxGradNorm?: number;
  /** Extra spec keys (HF `optim_args`), e.g. {momentum: 0.9, nesterov: true} for sgd. */
  readonly optimArgs?: Readonly<Record<string, unknown>>;
  /** Parameters without weight decay (the Trainer's no-decay group: biases, LayerNorm weights). */
  readonly noWeightDecay?: readonly string[];
}

export interface AugmentOptions extends HfOptimizerOptions {
  /** Output folder (must not exist unless `overwrite`). */
  readonly out: string;
  readonly overwrite?: boolean;
  /** Build train_step.onnx (default true). */
  readonly fuse?: boolean;
  /** Seed of the random init used when the folder has no checkpoint (default 0). */
  readonly seed?: number;
  /** Checkpoint to take the parameters from instead of the folder's own. */
  readonly checkpoint?: string;
  /** Receives notes (random init used, checkpoint tensors ignored, …). */
  readonly onWarning?: (message: string) => void;
}

/** Everything augment produces, in memory. */
export interface AugmentedSet {
  readonly manifest: Manifest;
  readonly training: Model;
  readonly eval: Model;
  readonly optimizer: Model;
  readonly trainStep: Model | null;
  readonly checkpoint: CheckpointData;
  readonly iface: TrainingInterface;
  /** True when the parameters were randomly initialised (no checkpoint). */
  readonly randomInit: boolean;
}

export interface AugmentResult extends AugmentedSet {
  /** Absolute path of the written folder. */
  readonly folder: string;
}

const ORT_DEFAULT_LR = 1e-3; // ORT GroupOptimizerState's default initial learning rate
type OrtAdamW = Extract<OrtOptimizer, { op: 'AdamWOptimizer' }>;
const ONNXBLOCK_ADAMW: OrtAdamW = { op: 'AdamWOptimizer', alpha: 0.9, beta: 0.999, epsilon: 1e-6, weightDecay: 0, adamMode: 1, correctBias: 1 };

function badArg(what: string, fix?: string): OnnxTrainError {
  return new OnnxTrainError('BAD_ARGUMENT', what, fix, 'augment');
}

/** The optimizer spec for `opts` given the original optimizer (see {@link HfOptimizerOptions}). */
export function optimizerSpecFor(opts: HfOptimizerOptions, original: OrtOptimizer | undefined): OptimizerSpec {
  const name = opts.optimizer ?? (original?.op === 'SGDOptimizerV2' ? 'sgd' : 'ort_adamw');
  const type = name === 'adamw_hf' ? 'adamw' : name;
  if (!(OPTIMIZER_TYPES as readonly string[]).includes(type)) {
    throw badArg(`unknown optimizer "${name}"`, `use one of ${[...new Set([...HF_OPTIMIZERS, ...OPTIMIZER_TYPES])].join(', ')}`);
  }
  const s: Record<string, unknown> = { type };
  const set = (k: string, v: unknown) => { if (v !== undefined) s[k] = v; };
  const betas = opts.adamBeta1 !== undefined || opts.adamBeta2 !== undefined ? [opts.adamBeta1 ?? 0.9, opts.adamBeta2 ?? 0.999] : undefined;
  switch (type) {
    case 'ort_adamw': {
      const o: OrtAdamW = original?.op === 'AdamWOptimizer' ? original : ONNXBLOCK_ADAMW;
      Object.assign(s, { alpha: opts.adamBeta1 ?? o.alpha, beta: opts.adamBeta2 ?? o.beta, epsilon: opts.adamEpsilon ?? o.epsilon,
        weight_decay: opts.weightDecay ?? o.weightDecay, adam_mode: o.adamMode, correct_bias: o.correctBias });
      break;
    }
    case 'adamw':
    case 'adamw_torch':
      set('lr', opts.learningRate); set('betas', betas); set('eps', opts.adamEpsilon); set('weight_decay', opts.weightDecay);
      break;
    case 'adafactor':
      if (opts.learningRate !== undefined) Object.assign(s, { lr: opts.learningRate, scale_parameter: false, relative_step: false });
      set('weight_decay', opts.weightDecay);
      break;
    case 'adam_weight_decay':
      set('learning_rate', opts.learningRate); set('beta_1', opts.adamBeta1); set('beta_2', opts.adamBeta2);
      set('epsilon', opts.adamEpsilon); set('weight_decay_rate', opts.weightDecay);
      break;
    case 'sgd':
      set('lr', opts.learningRate); set('weight_decay', opts.weightDecay);
      break;
    default:
      if (opts.learningRate !== undefined || opts.weightDecay !== undefined || betas || opts.adamEpsilon !== undefined) {
        throw badArg(`${type} takes its hyper-parameters through optimArgs (--optim-args), not the HF-style flags`, 'pass them as optim args');
      }
  }
  Object.assign(s, opts.optimArgs ?? {});
  return s as unknown as OptimizerSpec;
}

// ------------------------------------------------------------------------------------------------ init


/**
 * Seeded initial value of a float32 parameter, chosen by name and rank (PyTorch's defaults):
 * - names ending in `running_var`/`_var`/`gamma`/`.weight` of rank 1 (norm scales): 1;
 * - `running_mean`/`_mean`/`beta`/`bias` and any other rank-0/1 tensor: 0;
 * - rank ≥ 2 (Linear/Conv weights): U(−1/√fan_in, 1/√fan_in), fan_in = ∏ dims[1:] (torch's kaiming_uniform with
 *   a = √5, i.e. nn.Linear / nn.Conv default).
 * Each parameter draws from its own stream seeded by (seed, name), so the order of parameters does not matter.
 */
export function initParameter(p: { name: string; shape: readonly number[] }, seed: number): Float32Array {
  const n = p.shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(n);
  const lname = p.name.toLowerCase();
  if (p.shape.length >= 2) {
    let h = seed >>> 0;
    for (let i = 0; i < p.name.length; i++) h = Math.imul(h ^ p.name.charCodeAt(i), 0x01000193) >>> 0;
    const r = mulberry32(h);
    const fanIn = p.shape.slice(1).reduce((a, d) => a * d, 1);
    const bound = 1 / Math.sqrt(Math.max(1, fanIn));
    for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * bound;
    return out;
  }
  const one = /(running_var|_var|gamma)$/.test(lname) || (p.shape.length === 1 && /(^|[._])(weight|scale)$/.test(lname));
  if (one) out.fill(1);
  return out;
}

// ------------------------------------------------------------------------------------------------ build

function rawFloat(name: string, dims: readonly number[], data: Float32Array): RawTensor {
  return { name, dataType: 1, dims: [...dims], data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** ODTC momentum key of a slot (ORT's names for the Adam family, the slot name otherwise; as runtime/state.ts). */
export function momentumKey(slot: string): string {
  return ({ exp_avg: 'momentum0', exp_avg_sq: 'momentum1', m: 'momentum0', v: 'momentum1' } as Record<string, string>)[slot] ?? slot;
}

function lowerAll(a: OrtArtifacts): { training: Model; eval: Model | undefined } {
  // Plan both first so that one error lists every problem of both models.
  const problems: (LoweringProblem & { file: string })[] = [];
  const run = <T>(file: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof UnloweredOpsError) { problems.push(...e.problems.map((p) => ({ ...p, file }))); return undefined; }
      throw e;
    }
  };
  const training = run(AUGMENTED_FILES.training, () => lowerTrainingOps(a.training, { flags: false, where: a.paths.training }).model);
  const evalModel = a.eval ? run(AUGMENTED_FILES.eval, () => lowerTrainingOps(a.eval!, { where: a.paths.eval }).model) : undefined;
  if (problems.length) {
    const byFile = (f: string) => problems.filter((p) => p.file === f);
    const err = new UnloweredOpsError(problems, [AUGMENTED_FILES.training, AUGMENTED_FILES.eval].filter((f) => byFile(f).length).map((f) => path.join(a.folder, f)).join(', '));
    throw err;
  }
  return { training: training!, eval: evalModel };
}

/**
 * Builds the augmented set in memory (nothing is written). Throws OnnxTrainError for every user-facing problem
 * (unsupported ops, checkpoint mismatch, bad optimizer options).
 */
export async function buildAugmented(a: OrtArtifacts, opts: Omit<AugmentOptions, 'out'>, env: Pick<AugmentEnv, 'readCheckpoint'>): Promise<AugmentedSet> {
  const warn = opts.onWarning ?? (() => undefined);
  // --- checkpoint (parameters) and the training model's interface
  const ckptPath = opts.checkpoint ?? a.paths.checkpoint;
  const ckpt = ckptPath ? await env.readCheckpoint(ckptPath) : undefined;
  if (ckpt?.nominal) throw new OnnxTrainError('BAD_CHECKPOINT', 'the checkpoint is nominal (shapes only, no values)', 'pass a checkpoint with parameter values (--checkpoint)', ckptPath);
  const ckptTensors = new Map<string, RawTensor>();
  for (const t of [...(ckpt?.trainable ?? []), ...(ckpt?.frozen ?? [])]) ckptTensors.set(t.name, t);
  const iface = classifyTrainingModel(a.training, ckpt ? new Set(ckptTensors.keys()) : undefined, a.paths.training);
  if (!a.eval) throw new OnnxTrainError('IO', 'the folder has no eval_model.onnx', 'augment needs the eval model written by generate_artifacts', a.folder);

  // --- lowering (one error for every unsupported op of both models)
  const lowered = lowerAll(a);
  const opset = lowered.training.opset;
  const trainingOuts = lowered.training.graph.outputs.map((o) => o.name ?? '');
  const grads = iface.grads.map((gr) => {
    const out = `${gr.bufferInput}.out`;
    if (!trainingOuts.includes(out)) throw new Error(`bug: lowered training model has no output "${out}"`);
    return { param: gr.param, bufferInput: gr.bufferInput, output: out };
  });

  // --- optimizer
  const original = a.optimizer && !opts.optimizer ? readOrtOptimizer(a.optimizer, a.paths.optimizer) : a.optimizer ? tryReadOptimizer(a) : undefined;
  const spec = optimizerSpecFor(opts, original);
  const trainable = iface.parameters.filter((p) => p.trainable);
  const params = iface.grads.map((gr) => {
    const p = trainable.find((x) => x.name === gr.param)!;
    if (p.dtype !== 'float32') throw badArg(`trainable parameter "${p.name}" is ${p.dtype}; only float32 parameters can be trained`, 'freeze it or convert the model to float32');
    return { name: p.name, shape: p.shape as number[] };
  });
  let schedule: ScheduleSpec | null = null;
  const probe = buildOptimizerGraph(spec, params, { opset, updateSignal: false, maxGradNorm: opts.maxGradNorm || undefined, noWeightDecay: opts.noWeightDecay });
  const resolved = probe.io.optimizer as unknown as Record<string, unknown>;
  const specLr = typeof resolved.lr === 'number' ? resolved.lr : typeof resolved.learning_rate === 'number' ? resolved.learning_rate : undefined;
  // 0 when the optimizer uses no lr (Adafactor with relative_step computes its own step size).
  const baseLr = probe.io.lr.kind === 'none' ? 0 : opts.learningRate ?? specLr ?? ORT_DEFAULT_LR;
  if (opts.lrSchedulerType !== undefined) {
    if (probe.io.lr.kind === 'none') throw badArg(`${spec.type} with these options uses no learning rate, so it takes no schedule`, 'drop --lr-scheduler-type, or pass --learning-rate');
    const s = getScheduler(opts.lrSchedulerType, {
      baseLr, numWarmupSteps: opts.warmupSteps ?? 0, numTrainingSteps: opts.numTrainingSteps, schedulerSpecificKwargs: opts.lrSchedulerKwargs, onWarning: warn,
    });
    if (s.type === 'reduce_lr_on_plateau') {
      throw badArg('reduce_lr_on_plateau depends on the metric, so it cannot run inside the graph', 'omit --lr-scheduler-type and drive ReduceLROnPlateau from the runtime (the lr stays an input)');
    }
    schedule = s;
  }
  // The lr is an input unless a schedule runs in-graph (or the optimizer uses none): the host can always set it.
  const lrOpt = schedule ?? (probe.io.lr.kind === 'none' ? undefined : probe.io.lr.kind === 'schedule' ? undefined : 'input');
  const built: OptimizerGraph = buildOptimizerGraph(spec, params, {
    opset, updateSignal: false, maxGradNorm: opts.maxGradNorm || undefined, noWeightDecay: opts.noWeightDecay, lr: lrOpt,
  });
  // Dead constants (e.g. of a schedule branch) would make ORT log a warning at every session creation.
  built.model.graph.removeDeadNodes();
  const optimizerManifest = optimizerManifestOf(built, schedule, opts.maxGradNorm || null, baseLr);

  // --- fused step
  let fused: FusedStep | null = null;
  if (opts.fuse !== false) {
    const gradModel = gradientModelOf(lowered.training, grads, iface.lazyResetInput, iface.parameters);
    fused = fuseTrainStep(gradModel, { model: built.model, io: optimizerManifest }, AUGMENTED_FILES.trainStep);
  }

  // --- parameters and initial state
  const problems: string[] = [];
  const trainableT: RawTensor[] = [];
  const frozenT: RawTensor[] = [];
  let randomInit = false;
  for (const p of iface.parameters) {
    let t = ckptTensors.get(p.name);
    if (!ckpt) {
      if (p.dtype !== 'float32') { problems.push(`no checkpoint, and "${p.name}" is ${p.dtype} (only float32 parameters can be initialised)`); continue; }
      t = rawFloat(p.name, p.shape as number[], initParameter({ name: p.name, shape: p.shape as number[] }, opts.seed ?? 0));
      randomInit = true;
    } else if (!t) {
      problems.push(`the checkpoint has no tensor "${p.name}"`);
      continue;
    } else {
      const dt = dtypeFromOrt(p.dtype);
      if (t.dataType !== dt) { problems.push(`"${p.name}": checkpoint ${dtypeName(t.dataType)}, model ${p.dtype}`); continue; }
      if (t.dims.length !== p.shape.length || t.dims.some((d, i) => d !== p.shape[i])) { problems.push(`"${p.name}": checkpoint shape [${t.dims}], model [${p.shape}]`); continue; }
      if (t.data.length !== byteSize(t.dataType, t.dims.reduce((x, d) => x * d, 1))) { problems.push(`"${p.name}": ${t.data.length} bytes for [${t.dims}]`); continue; }
    }
    (p.trainable ? trainableT : frozenT).push({ name: p.name, dataType: t.dataType, dims: [...t.dims], data: t.data });
  }
  if (problems.length) {
    throw new OnnxTrainError('SHAPE_MISMATCH', `the checkpoint does not match the training model (${problems.length} problem(s)):\n${problems.map((x) => `  - ${x}`).join('\n')}`,
      'use the checkpoint generated together with these artifacts', ckptPath);
  }
  if (randomInit) warn(`no checkpoint: ${iface.parameters.length} parameters initialised randomly (seed ${opts.seed ?? 0})`);
  const extra = [...ckptTensors.keys()].filter((k) => !iface.parameters.some((p) => p.name === k));
  if (extra.length) warn(`checkpoint tensors not used by the training model were dropped: ${extra.join(', ')}`);
  const groups = [{
    name: 'group0', step: 0n, initialLearningRate: baseLr,
    params: built.io.params.map((p) => ({
      param: p.name,
      momentums: p.slots.map((s) => rawFloat(momentumKey(s.slot), s.shape, new Float32Array(s.shape.reduce((x, d) => x * d, 1)).fill(s.init))),
    })),
  }];
  const checkpoint: CheckpointData = { format: 'odtc', version: 2, trainable: trainableT, frozen: frozenT, optimizer: { groups }, properties: {} };

  // --- manifest
  const evalModel = lowered.eval!;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    files: {
      training: AUGMENTED_FILES.training, eval: AUGMENTED_FILES.eval, optimizer: AUGMENTED_FILES.optimizer,
      trainStep: fused ? AUGMENTED_FILES.trainStep : null, checkpoint: AUGMENTED_FILES.checkpoint,
    },
    inputs: iface.userInputs,
    lossOutput: iface.lossOutput,
    userOutputs: iface.userOutputs,
    evalOutputs: evalModel.graph.outputs.map((o) => o.name ?? ''),
    parameters: iface.parameters as ParameterDecl[],
    training: { grads, lazyResetInput: iface.lazyResetInput ?? 'lazy_reset_grad' },
    optimizer: optimizerManifest,
    trainStep: fused ? {
      paramOutputs: fused.io.paramOutputs, stateOutputs: fused.io.stateOutputs, stepInput: fused.io.stepInput,
      lrInput: fused.io.lrInput, extras: fused.io.extras,
    } : null,
    versions: {
      'onnx-train': '0.1.0',
      manifest: MANIFEST_FORMAT,
      'source.training.opset': String(a.training.opset),
      'training.opset': String(opset),
      'eval.opset': String(evalModel.opset),
    },
  };
  return {
    manifest, training: lowered.training, eval: evalModel, optimizer: built.model, trainStep: fused?.model ?? null, checkpoint, iface, randomInit,
  };
}

function tryReadOptimizer(a: OrtArtifacts): OrtOptimizer | undefined {
  // The user picked an optimizer: the original node only supplies ort_adamw's adam_mode/correct_bias.
  try {
    return readOrtOptimizer(a.optimizer!, a.paths.optimizer);
  } catch {
    return undefined;
  }
}

function optimizerManifestOf(g: OptimizerGraph, schedule: ScheduleSpec | null, maxGradNorm: number | null, lr: number): OptimizerManifest {
  const io = g.io;
  const state: StateDecl[] = io.params.flatMap((p) => p.slots.map((s) => ({
    param: p.name, slot: s.slot, shape: [...s.shape], dtype: 'float32' as const, input: s.input, output: s.output, init: s.init,
  })));
  const extras: Record<string, string> = {};
  for (const [k, v] of Object.entries(io.extras)) if (v) extras[k] = v;
  for (const p of io.params) for (const [k, v] of Object.entries(p.extras)) extras[`${p.name}.${k}`] = v;
  return {
    spec: io.optimizer as unknown as Record<string, unknown>,
    schedule: schedule as unknown as Record<string, unknown> | null,
    maxGradNorm,
    lr,
    stepInput: io.step.name,
    stepConvention: io.step.convention,
    lrInput: io.lr.input ?? null,
    params: io.params.map((p) => ({ name: p.name, input: p.input, output: p.output, grad: p.grad })),
    state,
    extras,
  };
}

// ------------------------------------------------------------------------------------------------ validate, write

/** assertValid + the env's runtime load check on every model of the set. */
export async function checkAugmented(set: AugmentedSet, env: Pick<AugmentEnv, 'checkLoads'>): Promise<void> {
  const models: [string, Model | null][] = [
    [AUGMENTED_FILES.training, set.training], [AUGMENTED_FILES.eval, set.eval], [AUGMENTED_FILES.optimizer, set.optimizer], [AUGMENTED_FILES.trainStep, set.trainStep],
  ];
  for (const [file, m] of models) {
    if (!m) continue;
    assertValid(m, file);
    if (env.checkLoads) await env.checkLoads(encodeModel(m.toProto()), file);
  }
}

function exists(p: string): boolean {
  try { fs.lstatSync(p); return true; } catch { return false; }
}

/**
 * Augments the ORT artifacts folder `folder` into `opts.out` (see the module doc). Nothing is written unless
 * every model is valid and loads (`env.checkLoads`); the folder appears complete or not at all.
 */
export async function augment(folder: string, opts: AugmentOptions, env: AugmentEnv): Promise<AugmentResult> {
  if (!opts.out) throw badArg('no output folder given', 'pass out (--out <folder>)');
  const out = path.resolve(opts.out);
  const src = path.resolve(folder);
  if (out === src) throw badArg('the output folder is the input folder', 'write the augmented artifacts to a new folder');
  if (isAugmentedFolder(src)) throw badArg(`${src} is already augmented (it has ${AUGMENTED_FILES.manifest})`, 'pass the folder written by generate_artifacts');
  if (exists(out) && !opts.overwrite) throw new OnnxTrainError('IO', 'the output folder already exists', 'choose a new folder, or pass overwrite (--force)', out);
  const a = readOrtArtifacts(src);
  const set = await buildAugmented(a, opts, env);
  await checkAugmented(set, env);

  const parent = path.dirname(out);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(out)}.tmp-${process.pid}-${Date.now()}`);
  let old: string | undefined;
  try {
    fs.mkdirSync(tmp);
    writeModel(path.join(tmp, AUGMENTED_FILES.training), set.training.toProto());
    writeModel(path.join(tmp, AUGMENTED_FILES.eval), set.eval.toProto());
    writeModel(path.join(tmp, AUGMENTED_FILES.optimizer), set.optimizer.toProto());
    if (set.trainStep) writeModel(path.join(tmp, AUGMENTED_FILES.trainStep), set.trainStep.toProto());
    await env.writeCheckpoint(path.join(tmp, AUGMENTED_FILES.checkpoint), set.checkpoint);
    fs.writeFileSync(path.join(tmp, AUGMENTED_FILES.manifest), `${JSON.stringify(set.manifest, null, 2)}\n`);
    if (exists(out)) {
      if (!opts.overwrite) throw new OnnxTrainError('IO', 'the output folder appeared while augmenting', 'choose a new folder, or pass overwrite (--force)', out);
      old = path.join(parent, `.${path.basename(out)}.old-${process.pid}-${Date.now()}`);
      fs.renameSync(out, old);
    }
    fs.renameSync(tmp, out);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (old && !exists(out)) fs.renameSync(old, out);
    if (e instanceof OnnxTrainError) throw e;
    throw new OnnxTrainError('IO', `cannot write the augmented folder: ${(e as Error).message}`, 'check free disk space and permissions', out);
  }
  if (old) fs.rmSync(old, { recursive: true, force: true });
  return { ...set, folder: out };
}
