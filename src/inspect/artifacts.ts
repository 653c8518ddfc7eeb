/**
 * Inspection of an ORT on-device-training artifact set: the folder `generate_artifacts` writes, holding
 * `training_model.onnx`, `eval_model.onnx`, `optimizer_model.onnx` and `checkpoint`. Each model is inspected with
 * the parameter split the checkpoint gives (or, without one, the training model's), and the checkpoint is listed
 * and checked against the training model's parameter inputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointMismatches, readCheckpoint } from '../checkpoint/index.js';
import { dataTypeName } from '../checkpoint/dtype.js';
import type { CheckpointState, CheckpointTensor } from '../checkpoint/types.js';
import { OnnxTrainError } from '../errors.js';
import { dtypeFromOrt, dtypeInfo } from '../onnx/dtypes.js';
import { inspectModelFile, type ModelKind, type ModelReport, type ParameterSplit } from './model.js';

/** The file names of an artifact set, by role. */
export const ARTIFACT_FILES = {
  training: 'training_model.onnx',
  eval: 'eval_model.onnx',
  optimizer: 'optimizer_model.onnx',
  checkpoint: 'checkpoint',
} as const;

/** What `onnx-train augment` adds to a folder (src/transforms/artifacts.ts reads it; inspect only lists it). */
export const AUGMENTED_EXTRA_FILES = { trainStep: 'train_step.onnx', manifest: 'manifest.json' } as const;

export interface CheckpointTensorReport {
  readonly name: string;
  /** As in model reports: `float32`, `int64`, … (the ONNX enum name in lower case where ORT has no name). */
  readonly type: string;
  readonly shape: readonly number[];
  readonly elements: number;
}

export interface CheckpointReport {
  readonly file: string;
  readonly format: string;
  /** Format version (ODTC 1 or 2); null for formats without one. */
  readonly version: number | null;
  readonly nominal: boolean;
  readonly trainable: readonly CheckpointTensorReport[];
  readonly frozen: readonly CheckpointTensorReport[];
  /** Optimizer groups (ODTC stores `step` and the initial lr per group); empty when the checkpoint has none. */
  readonly optimizerGroups: readonly { readonly name: string; readonly step: string; readonly initialLearningRate: number; readonly params: number }[];
  readonly properties: Readonly<Record<string, number | string>>;
}

export interface ArtifactsReport {
  readonly folder: string;
  /** True for a folder written by `onnx-train augment` (it has manifest.json). */
  readonly augmented: boolean;
  readonly training: ModelReport | null;
  readonly eval: ModelReport | null;
  readonly optimizer: ModelReport | null;
  /** An augmented folder's fused training step (train_step.onnx), when present. */
  readonly trainStep: ModelReport | null;
  readonly checkpoint: CheckpointReport | null;
  /** Files of the set that the folder lacks. */
  readonly missing: readonly string[];
  /** Disagreements between the checkpoint and the training model's parameter inputs. */
  readonly problems: readonly string[];
}

/** True when `dir` holds at least one file of an artifact set. */
export function isArtifactsFolder(dir: string): boolean {
  return Object.values(ARTIFACT_FILES).some((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * Inspects an artifact folder. Missing files are listed, not fatal; a folder with none of them is
 * OnnxTrainError('BAD_ARGUMENT'). Unreadable files raise the reader's OnnxTrainError naming the file.
 */
export async function inspectArtifacts(dir: string): Promise<ArtifactsReport> {
  const file = (k: keyof typeof ARTIFACT_FILES) => path.join(dir, ARTIFACT_FILES[k]);
  const present = (k: keyof typeof ARTIFACT_FILES) => fs.existsSync(file(k));
  if (!(Object.keys(ARTIFACT_FILES) as (keyof typeof ARTIFACT_FILES)[]).some(present)) {
    const onnx = listOnnx(dir);
    throw new OnnxTrainError(
      'BAD_ARGUMENT',
      `folder holds no ONNX training artifacts (none of ${Object.values(ARTIFACT_FILES).join(', ')})`,
      onnx.length > 0 ? `inspect its models one by one, e.g. "onnx-train inspect ${path.join(dir, onnx[0]!)}"` : 'pass a .onnx file or a folder written by generate_artifacts',
      dir,
    );
  }

  let state: CheckpointState | undefined;
  if (present('checkpoint')) state = await readCheckpoint(file('checkpoint'));

  let split: ParameterSplit | undefined = state
    ? { trainable: state.trainable.map((t) => t.name), frozen: state.frozen.map((t) => t.name), source: 'checkpoint' }
    : undefined;
  const training = present('training') ? inspectModelFile(file('training'), { kind: 'training', split }) : null;
  if (!split && training?.parameters?.trainable && training.parameters.frozen) {
    split = { trainable: training.parameters.trainable.names, frozen: training.parameters.frozen.names, source: 'training model' };
  }
  const model = (k: 'eval' | 'optimizer', kind: ModelKind) => (present(k) ? inspectModelFile(file(k), { kind, split }) : null);

  const trainStep = path.join(dir, AUGMENTED_EXTRA_FILES.trainStep);
  return {
    folder: dir,
    augmented: fs.existsSync(path.join(dir, AUGMENTED_EXTRA_FILES.manifest)),
    training,
    eval: model('eval', 'eval'),
    optimizer: model('optimizer', 'optimizer'),
    trainStep: fs.existsSync(trainStep) ? inspectModelFile(trainStep, { kind: 'train_step', split }) : null,
    checkpoint: state ? checkpointReport(file('checkpoint'), state) : null,
    missing: Object.values(ARTIFACT_FILES).filter((f) => !fs.existsSync(path.join(dir, f))),
    problems: state && training ? consistency(state, training) : [],
  };
}

function listOnnx(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => n.endsWith('.onnx')).sort();
  } catch {
    return [];
  }
}

function tensorReport(t: CheckpointTensor): CheckpointTensorReport {
  return { name: t.name, type: dtypeInfo(t.dataType)?.ort ?? dataTypeName(t.dataType).toLowerCase(), shape: [...t.dims], elements: t.dims.reduce((a, d) => a * d, 1) };
}

/** A checkpoint's contents as report data (no tensor values). */
export function checkpointReport(file: string, s: CheckpointState): CheckpointReport {
  return {
    file,
    format: s.format,
    version: s.version ?? null,
    nominal: s.nominal === true,
    trainable: s.trainable.map(tensorReport),
    frozen: s.frozen.map(tensorReport),
    optimizerGroups: (s.optimizer?.groups ?? []).map((g) => ({
      name: g.name,
      step: g.step.toString(),
      initialLearningRate: g.initialLearningRate,
      params: g.params.length,
    })),
    properties: Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v])),
  };
}

/**
 * The checkpoint must hold the training model's parameter inputs with their shapes and types, nothing else, and
 * agree on which are trainable (the training model has a gradient buffer exactly for those).
 */
function consistency(state: CheckpointState, training: ModelReport): string[] {
  const buffered = new Set(training.inputs.filter((i) => i.role === 'grad_buffer').map((i) => i.name.slice(0, -GRAD_BUFFER_SUFFIX.length)));
  const expected = training.inputs
    .filter((i) => i.role === 'trainable' || i.role === 'frozen' || buffered.has(i.name))
    .map((i) => ({ name: i.name, dims: (i.shape ?? []).map((d) => (typeof d === 'number' ? d : -1)), dataType: dtypeFromOrt(i.type) ?? 0 }));
  const problems = checkpointMismatches(state, expected).map((m) => m.message);
  for (const t of state.trainable) {
    if (!buffered.has(t.name) && expected.some((e) => e.name === t.name)) {
      problems.push(`${t.name}: trainable in the checkpoint, but ${ARTIFACT_FILES.training} has no gradient buffer for it`);
    }
  }
  for (const t of state.frozen) {
    if (buffered.has(t.name)) problems.push(`${t.name}: frozen in the checkpoint, but ${ARTIFACT_FILES.training} accumulates a gradient for it`);
  }
  return problems;
}

const GRAD_BUFFER_SUFFIX = '_grad.accumulation.buffer';
