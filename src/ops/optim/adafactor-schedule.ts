/**
 * The equivalent of transformers `AdafactorSchedule(optimizer, initial_lr=0.0)` / `get_adafactor_schedule`: a
 * reporting proxy that a Trainer logs as "the learning rate" of an Adafactor run. Upstream `get_lr` returns
 * `initial_lr` before any gradient exists and afterwards `Adafactor._get_lr(group, state)` of the group's first
 * parameter — the step size ℓ that parameter used in the latest update, which the Adafactor graph outputs as
 * `<first param>.lr_used`. (Meaningful with `relative_step=True`, which ignores the external lr.)
 */
import { OnnxTrainError } from '../../errors.js';
import type { OptimizerIO } from './io.js';

/** The graph output that AdafactorSchedule reports: `lr_used` of the first parameter. */
export function adafactorScheduleOutput(io: OptimizerIO): string {
  const name = io.params[0]?.extras.lr_used;
  if (io.optimizer.type !== 'adafactor' || !name) {
    throw new OnnxTrainError('BAD_ARGUMENT', `AdafactorSchedule needs an Adafactor graph, got ${io.optimizer.type}`, 'build the graph with {type: "adafactor"}');
  }
  return name;
}

/**
 * The lr AdafactorSchedule reports: `initialLr` (default 0) before the first update (`outputs` undefined), else the
 * first parameter's `lr_used` from the latest update's outputs.
 */
export function adafactorScheduleLr(io: OptimizerIO, outputs?: Readonly<Record<string, { readonly data: ArrayLike<number> | ArrayLike<bigint> }>>, initialLr = 0): number {
  const name = adafactorScheduleOutput(io);
  if (!outputs) return initialLr;
  const t = outputs[name];
  if (!t) throw new OnnxTrainError('BAD_ARGUMENT', `the outputs have no "${name}"`, 'pass the outputs of the latest update (fetch every output)');
  return Number(t.data[0]);
}
