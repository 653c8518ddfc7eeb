/** The core lowering rules (losses, accumulation, ReluGrad, Scale), keyed by `domain::OpType`. */
import type { LoweringRule } from '../rule.js';
import { inPlaceAccumulatorV2 } from './in-place-accumulator-v2.js';
import { negativeLogLikelihoodLossInternal } from './negative-log-likelihood-loss-internal.js';
import { negativeLogLikelihoodLossInternal2 } from './negative-log-likelihood-loss-internal2.js';
import { reluGrad } from './relu-grad.js';
import { scale } from './scale.js';
import { softmaxCrossEntropyLossGrad } from './softmax-cross-entropy-loss-grad.js';
import { softmaxCrossEntropyLossInternal } from './softmax-cross-entropy-loss-internal.js';
import { softmaxCrossEntropyLossInternalGrad } from './softmax-cross-entropy-loss-internal-grad.js';

const rules = [
  inPlaceAccumulatorV2,
  softmaxCrossEntropyLossGrad,
  softmaxCrossEntropyLossInternal,
  softmaxCrossEntropyLossInternalGrad,
  negativeLogLikelihoodLossInternal,
  negativeLogLikelihoodLossInternal2,
  reluGrad,
  scale,
];

export const CORE_RULES: Readonly<Record<string, LoweringRule>> = Object.fromEntries(rules.map((r) => [r.op, r]));

export { IN_PLACE_ACCUMULATOR_V2 } from './in-place-accumulator-v2.js';
