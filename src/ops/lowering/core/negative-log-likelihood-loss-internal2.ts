/** com.microsoft::NegativeLogLikelihoodLossInternal2 (opset-13 function registration, same semantics); see nll-internal-common.ts. */
import type { LoweringRule } from '../rule.js';
import { lowerNllInternal, nllInternalProblem } from './nll-internal-common.js';

export const negativeLogLikelihoodLossInternal2: LoweringRule = {
  op: 'com.microsoft::NegativeLogLikelihoodLossInternal2',
  check: nllInternalProblem,
  lower: lowerNllInternal,
};
