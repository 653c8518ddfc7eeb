/** com.microsoft::NegativeLogLikelihoodLossInternal (opset-12 function registration); see nll-internal-common.ts. */
import type { LoweringRule } from '../rule.js';
import { lowerNllInternal, nllInternalProblem } from './nll-internal-common.js';

export const negativeLogLikelihoodLossInternal: LoweringRule = {
  op: 'com.microsoft::NegativeLogLikelihoodLossInternal',
  check: nllInternalProblem,
  lower: lowerNllInternal,
};
