/**
 * Lowering rules for the ONNX Runtime training ops of convolution, pooling and normalisation, keyed by
 * `domain::OpType` (the default domain is written `ai.onnx`, as `Node.qualifiedOp` does). Ops ORT registers
 * in the default domain (MaxPoolGrad, AveragePoolGrad, LayerNormalization below opset 17,
 * SimplifiedLayerNormalization) are also listed under com.microsoft, where some producers put them.
 */
import type { LoweringRule } from '../rule.js';
import { averagePoolGrad, averagePoolGradMs } from './average-pool-grad.js';
import { batchNormInternal } from './batch-norm-internal.js';
import { batchNormalizationGrad } from './batch-normalization-grad.js';
import { convGrad } from './conv-grad.js';
import { layerNormalization, layerNormalizationMs } from './layer-normalization.js';
import { layerNormalizationGrad } from './layer-normalization-grad.js';
import { maxPoolGrad, maxPoolGradMs } from './max-pool-grad.js';
import { simplifiedLayerNormalization, simplifiedLayerNormalizationMs } from './simplified-layer-normalization.js';
import { simplifiedLayerNormalizationGrad } from './simplified-layer-normalization-grad.js';

const rules: readonly LoweringRule[] = [
  convGrad,
  maxPoolGrad, maxPoolGradMs,
  averagePoolGrad, averagePoolGradMs,
  batchNormInternal,
  batchNormalizationGrad,
  layerNormalization, layerNormalizationMs,
  layerNormalizationGrad,
  simplifiedLayerNormalization, simplifiedLayerNormalizationMs,
  simplifiedLayerNormalizationGrad,
];

/** Every conv/pool/norm rule by its `op` key. */
export const CONV_NORM_RULES: Record<string, LoweringRule> = Object.fromEntries(rules.map((r) => [r.op, r]));
