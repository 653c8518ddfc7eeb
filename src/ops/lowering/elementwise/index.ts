/**
 * Lowering rules for the ONNX Runtime training ops that are element-wise, activation, indexing or shape ops,
 * keyed by `domain::OpType` as `Node.qualifiedOp` writes it (com.microsoft::GeluGrad, …).
 *
 * ELEMENTWISE_RULES covers every such op a stock runtime cannot run. OPTIONAL_ELEMENTWISE_RULES holds rewrites of
 * ops stock onnxruntime-node already runs (training-mode standard Dropout), for execution providers that lack
 * them; a pass should apply those only when asked.
 */
import type { LoweringRule } from '../rule.js';
import { lowerBiasFastGeluGradDx } from './bias-fast-gelu-grad-dx.js';
import { lowerBiasGelu } from './bias-gelu.js';
import { lowerBiasGeluGradDx } from './bias-gelu-grad-dx.js';
import { lowerBitmaskDropout } from './bitmask-dropout.js';
import { lowerBitmaskDropoutGrad } from './bitmask-dropout-grad.js';
import { lowerBroadcastGradientArgs } from './broadcast-gradient-args.js';
import { lowerConcatTraining } from './concat-training.js';
import { lowerDivGrad } from './div-grad.js';
import { lowerDropoutTraining } from './dropout.js';
import { lowerDropoutGrad } from './dropout-grad.js';
import { lowerFastGelu } from './fast-gelu.js';
import { lowerFastGeluGrad } from './fast-gelu-grad.js';
import { lowerFusedMatMul } from './fused-matmul.js';
import { lowerGatherElementsGrad } from './gather-elements-grad.js';
import { lowerGatherGrad } from './gather-grad.js';
import { lowerGelu } from './gelu.js';
import { lowerGeluGrad } from './gelu-grad.js';
import { lowerLeakyReluGrad } from './leaky-relu-grad.js';
import { lowerLogSoftmaxGrad } from './log-softmax-grad.js';
import { lowerLogSoftmaxGrad13 } from './log-softmax-grad-13.js';
import { lowerQuickGelu } from './quick-gelu.js';
import { lowerQuickGeluGrad } from './quick-gelu-grad.js';
import { lowerReduceSumTraining } from './reduce-sum-training.js';
import { lowerSigmoidGrad } from './sigmoid-grad.js';
import { lowerSliceGrad } from './slice-grad.js';
import { lowerSoftmaxGrad } from './softmax-grad.js';
import { lowerSoftmaxGrad13 } from './softmax-grad-13.js';
import { lowerSplitTraining } from './split-training.js';
import { lowerTanhGrad } from './tanh-grad.js';

const table = (rules: readonly LoweringRule[]): Record<string, LoweringRule> => Object.fromEntries(rules.map((r) => [r.op, r]));

export const ELEMENTWISE_RULES: Record<string, LoweringRule> = table([
  // softmax family
  lowerSoftmaxGrad13, lowerLogSoftmaxGrad13, lowerSoftmaxGrad, lowerLogSoftmaxGrad,
  // dropout
  lowerDropoutGrad, lowerBitmaskDropout, lowerBitmaskDropoutGrad,
  // GELU family (forward contribs too: stock ORT runs them, but not every EP / runtime does)
  lowerGelu, lowerBiasGelu, lowerFastGelu, lowerQuickGelu,
  lowerGeluGrad, lowerFastGeluGrad, lowerQuickGeluGrad, lowerBiasGeluGradDx, lowerBiasFastGeluGradDx,
  // other activations
  lowerSigmoidGrad, lowerTanhGrad, lowerLeakyReluGrad,
  // linear algebra, indexing, shapes
  lowerFusedMatMul, lowerGatherGrad, lowerGatherElementsGrad, lowerSliceGrad,
  lowerConcatTraining, lowerSplitTraining,
  lowerBroadcastGradientArgs, lowerDivGrad, lowerReduceSumTraining,
]);

export const OPTIONAL_ELEMENTWISE_RULES: Record<string, LoweringRule> = table([lowerDropoutTraining]);

export {
  lowerBiasFastGeluGradDx, lowerBiasGelu, lowerBiasGeluGradDx, lowerBitmaskDropout, lowerBitmaskDropoutGrad,
  lowerBroadcastGradientArgs, lowerConcatTraining, lowerDivGrad, lowerDropoutTraining, lowerDropoutGrad, lowerFastGelu,
  lowerFastGeluGrad, lowerFusedMatMul, lowerGatherElementsGrad, lowerGatherGrad, lowerGelu, lowerGeluGrad,
  lowerLeakyReluGrad, lowerLogSoftmaxGrad, lowerLogSoftmaxGrad13, lowerQuickGelu, lowerQuickGeluGrad,
  lowerReduceSumTraining, lowerSigmoidGrad, lowerSliceGrad, lowerSoftmaxGrad, lowerSoftmaxGrad13, lowerSplitTraining,
  lowerTanhGrad,
};
