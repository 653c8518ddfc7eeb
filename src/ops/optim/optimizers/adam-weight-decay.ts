/**
 * `adam_weight_decay`: transformers (TF) `AdamWeightDecay` — a legacy Keras `Adam` whose `_resource_apply_dense`
 * first decays the selected variables with the scheduled lr (optimization_tf.py). All arithmetic float32.
 *
 *     g ← clipnorm: g·c/max(‖g‖, c)  |  global_clipnorm: g·c/max(‖G‖, c)     (Keras, not both)
 *     ℓ = schedule(float32(t − 1)) or the constant;  b1p = β1^t, b2p = β2^t
 *     use(name): p ← p − ℓ·p·weight_decay_rate                                  (before the Adam step)
 *     m ← m + (g − m)(1 − β1);  v ← v + (g² − v)(1 − β2);  amsgrad: v̂ ← max(v̂, v)
 *     p ← p − ℓ·sqrt(1 − b2p)/(1 − b1p) · m/(sqrt(v̂ or v) + epsilon)
 *
 * use(name): rate ≠ 0, and an `include_in_weight_decay` regex is found in the name, or no
 * `exclude_from_weight_decay` regex is. Defaults: learning_rate 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7,
 * amsgrad false, weight_decay_rate 0. State: `m`, `v`, `vhat` (amsgrad). Graph output `lr_t`: ℓ.
 * Chain: [clipByGlobalNorm | clipByNorm] → decayWeights(before) → scaleByAdam(tf) → scaleByLr.
 */
import { isOnnxTrainError, OnnxTrainError } from '../../../errors.js';
import { scheduleFromCase } from '../../schedules/from-case.js';
import { pyFloatRepr } from '../../schedules/py-format.js';
import { TF_SCHEDULE_TYPES, type ScheduleSpec } from '../../schedules/spec.js';
import { chain } from '../chain.js';
import type { AdamWeightDecaySpec } from '../spec.js';
import { clipByGlobalNorm } from '../transforms/clip-by-global-norm.js';
import { clipByNorm } from '../transforms/clip-by-norm.js';
import { decayWeights } from '../transforms/decay-weights.js';
import { scaleByAdam } from '../transforms/scale-by-adam.js';
import { scaleByLr } from '../transforms/scale-by-lr.js';
import type { Transform } from '../types.js';
import { bool, check, checkKeys, num, numOrNull, strings, type OptimizerDef } from './def.js';

/**
 * A TensorFlow schedule object with Keras's defaults filled in (`create_optimizer` min_lr_ratio 0 / power 1,
 * `tf_polynomial_decay` end 1e-4 / power 1 / cycle false, …); other schedule specs pass through as given.
 */
function tfSchedule(lr: ScheduleSpec): ScheduleSpec {
  if (!(TF_SCHEDULE_TYPES as readonly string[]).includes(lr.type)) return lr;
  try {
    return scheduleFromCase(lr, {}, 'learning_rate');
  } catch (e) {
    if (isOnnxTrainError(e) && e.code === 'BAD_CASE') {
      throw new OnnxTrainError('BAD_ARGUMENT', `"learning_rate": ${e.where ?? 'learning_rate'}: ${e.what}`, e.fix, 'optimizer adam_weight_decay');
    }
    throw e;
  }
}

/** The `adam_weight_decay` definition (see the module comment). */
export const ADAM_WEIGHT_DECAY: OptimizerDef<AdamWeightDecaySpec> = {
  type: 'adam_weight_decay',
  resolve(spec) {
    checkKeys(spec, ['learning_rate', 'beta_1', 'beta_2', 'epsilon', 'amsgrad', 'weight_decay_rate', 'include_in_weight_decay',
      'exclude_from_weight_decay', 'clipnorm', 'global_clipnorm', 'name']);
    const lr = spec.learning_rate ?? 1e-3;
    if (typeof lr !== 'number' && (typeof lr !== 'object' || lr === null || typeof (lr as { type?: unknown }).type !== 'string')) {
      throw new OnnxTrainError('BAD_ARGUMENT', `"learning_rate" must be a number or a schedule object, got ${JSON.stringify(lr)}`, undefined, 'optimizer adam_weight_decay');
    }
    const clipnorm = numOrNull(spec, 'clipnorm', null);
    const globalClipnorm = numOrNull(spec, 'global_clipnorm', null);
    check(!(clipnorm !== null && globalClipnorm !== null), 'adam_weight_decay', 'Cannot accept both `clipnorm` and `global_clipnorm`. Only one of them can be set.');
    if (clipnorm !== null) check(clipnorm >= 0, 'adam_weight_decay', `Expected clipnorm >= 0, received: ${pyFloatRepr(clipnorm)}`);
    if (globalClipnorm !== null) check(globalClipnorm >= 0, 'adam_weight_decay', `Expected global_clipnorm >= 0, received: ${pyFloatRepr(globalClipnorm)}`);
    return {
      type: 'adam_weight_decay', learning_rate: typeof lr === 'number' ? num(spec, 'learning_rate', 1e-3) : tfSchedule(lr as ScheduleSpec),
      beta_1: num(spec, 'beta_1', 0.9), beta_2: num(spec, 'beta_2', 0.999), epsilon: num(spec, 'epsilon', 1e-7),
      amsgrad: bool(spec, 'amsgrad', false), weight_decay_rate: num(spec, 'weight_decay_rate', 0),
      include_in_weight_decay: strings(spec, 'include_in_weight_decay') ?? null, exclude_from_weight_decay: strings(spec, 'exclude_from_weight_decay') ?? null,
      clipnorm, global_clipnorm: globalClipnorm,
    };
  },
  transform(spec, opts) {
    const parts: Transform[] = [];
    if (spec.clipnorm !== null && spec.clipnorm !== undefined) parts.push(clipByNorm({ clipnorm: spec.clipnorm }));
    if (spec.global_clipnorm !== null && spec.global_clipnorm !== undefined) parts.push(clipByGlobalNorm({ max_norm: spec.global_clipnorm, style: 'keras' }));
    parts.push(
      decayWeights({
        rate: spec.weight_decay_rate!, when: 'before', times: 'lr', precision: 'float32',
        select: { include: spec.include_in_weight_decay ?? undefined, exclude: spec.exclude_from_weight_decay ?? undefined, exclude_names: opts.noWeightDecay },
      }),
      scaleByAdam({
        b1: spec.beta_1!, b2: spec.beta_2!, eps: spec.epsilon!, eps_placement: 'root', bias_correction: 'always', amsgrad: spec.amsgrad!, moment_form: 'tf', hyper: 'float32', step_math: 'float32', slot_names: { m: 'm', v: 'v', vmax: 'vhat' },
      }),
      scaleByLr({ precision: 'float32' }),
    );
    return chain(...parts);
  },
  stepName: 'step',
  lrName: 'lr',
  lrSource: (spec) => spec.learning_rate ?? 1e-3,
  precision: 'float32',
  lrOutput: true,
  updateSignal: false,
  clipStyle: 'keras',
  flatUnsupported: (spec) => (spec.clipnorm !== null && spec.clipnorm !== undefined ? 'clipnorm clips each tensor by its own norm' : undefined),
};
