/**
 * com.microsoft::SimplifiedLayerNormalizationGrad(Y_grad, X, scale, inv_std_var) -> (X_grad, scale_grad);
 * attribute axis (−1). The gradient of RMSNorm given its saved inv_std_var. Upstream kernel:
 * orttraining/training_ops/cpu/nn/layer_norm.cc (simplified=true), with X flattened to [rows, cols] at `axis`
 * and x̂ = X·inv_std_var:
 *   scale_grad = Σ_rows dY·x̂,  B = dY·scale·inv_std_var,  X_grad = B − x̂·mean_cols(B·x̂).
 *
 * Lowering: Flatten(·, axis), inv_std_var reshaped to [rows, 1], scale to [1, cols]; outputs reshaped to
 * Shape(X) / Shape(scale). No static dims needed. Computed in float64 for float64 X, else float32.
 */
import type { Value } from '../../../builder/index.js';
import { DataType } from '../../../onnx/dtypes.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext, LoweringRule } from '../rule.js';
import {
  MIN_OPSET, MS_DOMAIN, castTo, dtypeOf, floatTypeReason, inputValue, opsetReason, planned, rankOf, statisticsType,
  trailingAxes, wanted,
} from './common.js';

function plan(n: Node, ctx: LoweringContext): true | string {
  for (let i = 0; i < 4; i++) if (!n.input(i)) return 'SimplifiedLayerNormalizationGrad needs its four inputs Y_grad, X, scale, inv_std_var';
  const tooOld = opsetReason(ctx, MIN_OPSET, 'the SimplifiedLayerNormalizationGrad lowering');
  if (tooOld) return tooOld;
  const r = rankOf(ctx, n.input(1));
  if (r !== undefined) {
    const axes = trailingAxes(n.attrInt('axis', -1), r);
    if (typeof axes === 'string') return axes;
  }
  return floatTypeReason(ctx, n, [0, 1, 2, 3]) ?? true;
}

function lower(n: Node, ctx: LoweringContext): (Value | undefined)[] {
  planned(plan(n, ctx), n);
  const { b } = ctx;
  const [dy, x, scale, invStd] = [0, 1, 2, 3].map((i) => inputValue(ctx, n, i)!);
  const axis = n.attrInt('axis', -1);
  const t = dtypeOf(ctx, n.input(1));
  const ct = statisticsType(t, DataType.FLOAT);
  const dy2 = b.op.Flatten(castTo(b, dy, ct), axis);
  const inv = b.op.Reshape(castTo(b, invStd, ct), [-1, 1]);
  const xhat = b.op.Mul(b.op.Flatten(castTo(b, x, ct), axis), inv);

  let dX: Value | undefined;
  if (wanted(n, 0)) {
    const bTerm = b.op.Mul(b.op.Mul(dy2, b.op.Reshape(castTo(b, scale, ct), [1, -1])), inv);
    const dx2 = b.op.Sub(bTerm, b.op.Mul(xhat, b.op.ReduceMean(b.op.Mul(bTerm, xhat), [1], 1)));
    dX = castTo(b, b.op.Reshape(dx2, b.op.Shape(x)), t);
  }
  const dScale = wanted(n, 1)
    ? castTo(b, b.op.Reshape(b.op.ReduceSum(b.op.Mul(dy2, xhat), [0], 0), b.op.Shape(scale)), dtypeOf(ctx, n.input(2)))
    : undefined;
  return [dX, dScale];
}

export const simplifiedLayerNormalizationGrad: LoweringRule = {
  op: `${MS_DOMAIN}::SimplifiedLayerNormalizationGrad`,
  minOpset: MIN_OPSET,
  check: (n, ctx) => {
    const p = plan(n, ctx);
    return typeof p === 'string' ? p : undefined;
  },
  lower,
};
