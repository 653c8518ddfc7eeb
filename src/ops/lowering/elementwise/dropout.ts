/**
 * Standard Dropout in training mode (opset ≥ 12, training_mode input true or runtime) → RandomUniformLike,
 * GreaterOrEqual, Where. Stock onnxruntime-node (CPU) runs training-mode Dropout natively (verified on 1.30),
 * so this rule is opt-in (OPTIONAL_ELEMENTWISE_RULES) for execution providers that lack it. check() declines
 * inference-mode Dropout, which needs no lowering.
 */
import type { LoweringRule } from '../rule.js';
import { emitTrainingDropout } from './dropout-math.js';
import { constScalar, input, missingInputs, onnxOp, req, typeReason, wantsOutput } from './support.js';

export const lowerDropoutTraining: LoweringRule = {
  op: onnxOp('Dropout'),
  check: (n, ctx) => {
    const missing = missingInputs(n, ['data']);
    if (missing) return missing;
    if (ctx.opset < 12) return `Dropout-${ctx.opset} has no training_mode input; nothing to lower`;
    const t = n.input(2);
    if (t === undefined || constScalar(ctx, t) === 0) return 'inference-mode Dropout is a standard op; nothing to lower';
    return typeReason(ctx, n, 0);
  },
  lower: (n, ctx) => {
    const t = n.input(2);
    const always = t !== undefined && constScalar(ctx, t) !== undefined;
    const seed = n.attrInt('seed');
    const { y, mask } = emitTrainingDropout(ctx, req(ctx, n, 0), input(ctx, n, 1), always ? undefined : input(ctx, n, 2), seed);
    return [y, wantsOutput(n, 1) ? mask : undefined];
  },
};
