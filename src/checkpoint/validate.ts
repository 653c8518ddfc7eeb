/**
 * Compares a checkpoint with what a model expects and reports *every* difference at once, so a user fixes
 * a wrong checkpoint in one go instead of one error per run.
 */
import { OnnxTrainError } from '../errors.js';
import { dataTypeName } from './dtype.js';
import { describeType } from './tensor-check.js';
import type { CheckpointState, CheckpointTensor, ExpectedTensor } from './types.js';

/** One difference between a checkpoint and the model's expectation. */
export interface CheckpointMismatch {
  kind: 'missing' | 'extra' | 'shape' | 'dtype' | 'optimizer';
  /** Parameter name. */
  name: string;
  /** Readable sentence, e.g. `fc1.weight: shape [500,784] in the model, [784,500] in the checkpoint`. */
  message: string;
}

const sameDims = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Lists all differences between the parameters of `state` (trainable and frozen together) and `expected`
 * (in `expected` order, then extras in checkpoint order): missing parameters, extra ones, wrong shape,
 * wrong dtype — and optimizer momentums whose parameter is unknown or whose shape/dtype differ from it.
 * Empty when everything matches.
 */
export function checkpointMismatches(state: CheckpointState, expected: readonly ExpectedTensor[]): CheckpointMismatch[] {
  const have = new Map<string, CheckpointTensor>();
  for (const t of [...state.trainable, ...state.frozen]) have.set(t.name, t);
  const want = new Set(expected.map((e) => e.name));
  const out: CheckpointMismatch[] = [];
  for (const e of expected) {
    const t = have.get(e.name);
    if (t === undefined) {
      out.push({ kind: 'missing', name: e.name, message: `${e.name}: missing from the checkpoint (model expects ${describeType(e.dataType, e.dims)})` });
      continue;
    }
    if (!sameDims(t.dims, e.dims)) {
      out.push({ kind: 'shape', name: e.name, message: `${e.name}: shape [${e.dims.join(',')}] in the model, [${t.dims.join(',')}] in the checkpoint` });
    }
    if (t.dataType !== e.dataType) {
      out.push({
        kind: 'dtype',
        name: e.name,
        message: `${e.name}: type ${dataTypeName(e.dataType)} in the model, ${dataTypeName(t.dataType)} in the checkpoint`,
      });
    }
  }
  for (const t of have.values()) {
    if (!want.has(t.name)) {
      out.push({ kind: 'extra', name: t.name, message: `${t.name}: in the checkpoint (${describeType(t.dataType, t.dims)}) but not in the model` });
    }
  }
  for (const g of state.optimizer?.groups ?? []) {
    for (const p of g.params) {
      const param = have.get(p.param);
      for (const m of p.momentums) {
        if (param === undefined) {
          out.push({ kind: 'optimizer', name: p.param, message: `${p.param}: optimizer state "${m.name}" (group "${g.name}") for a parameter the checkpoint does not have` });
        } else if (!sameDims(m.dims, param.dims) || m.dataType !== param.dataType) {
          out.push({
            kind: 'optimizer',
            name: p.param,
            message: `${p.param}: optimizer state "${m.name}" is ${describeType(m.dataType, m.dims)}, the parameter is ${describeType(param.dataType, param.dims)}`,
          });
        }
      }
    }
  }
  return out;
}

/**
 * Throws OnnxTrainError('SHAPE_MISMATCH') listing every mismatch from {@link checkpointMismatches}, one per
 * line; returns quietly when the checkpoint fits. `where` (e.g. the checkpoint path) is shown in the message.
 */
export function validateAgainst(state: CheckpointState, expected: readonly ExpectedTensor[], where?: string): void {
  const problems = checkpointMismatches(state, expected);
  if (problems.length === 0) return;
  const counts = (['missing', 'extra', 'shape', 'dtype', 'optimizer'] as const)
    .map((k) => [k, problems.filter((p) => p.kind === k).length] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  throw new OnnxTrainError(
    'SHAPE_MISMATCH',
    `checkpoint does not match the model (${counts}):\n${problems.map((p) => `    - ${p.message}`).join('\n')}`,
    'use the checkpoint generated together with this model, or regenerate the artifacts',
    where,
  );
}
