/**
 * com.microsoft::LayerNormalizationGrad(Y_grad, X, scale, mean, inv_std_dev) -> (X_grad, scale_grad,
 * bias_grad); attribute axis (−1). The gradient of LayerNormalization given its saved Mean and InvStdDev.
 * Upstream: ORT's function body in training_op_defs.cc and the CPU kernel orttraining/training_ops/cpu/nn/
 * layer_norm.cc, with X flattened to [rows, cols] at `axis` and x̂ = (X − mean)·inv_std_dev:
 *   bias_grad = Σ_rows dY,  scale_grad = Σ_rows dY·x̂,  B = dY·scale·inv_std_dev,
 *   X_grad = B − mean_cols(B) − x̂·mean_cols(B·x̂).
 *
 * Lowering: Flatten(·, axis) of X and dY, mean / inv_std_dev reshaped to [rows, 1], scale to [1, cols];
 * scale_grad and bias_grad reshaped to Shape(scale), X_grad to Shape(X). No static dims needed. Computed in
 * float64 for float64 X, else float32 (the kernel's U), outputs cast back to the types of X and scale.
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
  for (let i = 0; i < 5; i++) if (!n.input(i)) return 'LayerNormalizationGrad needs its five inputs Y_grad, X, scale, mean, inv_std_dev';
  const tooOld = opsetReason(ctx, MIN_OPSET, 'the LayerNormalizationGrad lowering');
  if (tooOld) return tooOld;
  const r = rankOf(ctx, n.input(1));
  if (r !== undefined) {
    const axes = trailingAxes(n.attrInt('axis', -1), r);
    if (typeof axes === 'string') return axes;
  }
  return floatTypeReason(ctx, n, [0, 1, 2, 3, 4]) ?? true;
}

function lower(n: Node, ctx: LoweringContext): (Value | undefined)[] {
  planned(plan(n, ctx), n);
  const { b } = ctx;
  const [dy, x, scale, mean, invStd] = [0, 1, 2, 3, 4].map((i) => inputValue(ctx, n, i)!);
  const axis = n.attrInt('axis', -1);
  const t = dtypeOf(ctx, n.input(1));
  const v = dtypeOf(ctx, n.input(2));
  const ct = statisticsType(t, DataType.FLOAT);
  const rows = (val: Value) => b.op.Reshape(castTo(b, val, ct), [-1, 1]);

  const dy2 = b.op.Flatten(castTo(b, dy, ct), axis);
  const needXhat = wanted(n, 0) || wanted(n, 1);
  const inv = needXhat ? rows(invStd) : undefined;
  const xhat = needXhat ? b.op.Mul(b.op.Sub(b.op.Flatten(castTo(b, x, ct), axis), rows(mean)), inv!) : undefined;
  const scaleShape = b.op.Shape(scale);
  const colsToScale = (val: Value) => castTo(b, b.op.Reshape(b.op.ReduceSum(val, [0], 0), scaleShape), v);

  let dX: Value | undefined;
  if (wanted(n, 0)) {
    const bTerm = b.op.Mul(b.op.Mul(dy2, b.op.Reshape(castTo(b, scale, ct), [1, -1])), inv!);
    const cMean = b.op.ReduceMean(b.op.Mul(bTerm, xhat!), [1], 1);
    const dx2 = b.op.Sub(b.op.Sub(bTerm, b.op.ReduceMean(bTerm, [1], 1)), b.op.Mul(xhat!, cMean));
    dX = castTo(b, b.op.Reshape(dx2, b.op.Shape(x)), t);
  }
  return [
    dX,
    wanted(n, 1) ? colsToScale(b.op.Mul(dy2, xhat!)) : undefined,
    wanted(n, 2) ? colsToScale(dy2) : undefined,
  ];
}

export const layerNormalizationGrad: LoweringRule = {
  op: `${MS_DOMAIN}::LayerNormalizationGrad`,
  minOpset: MIN_OPSET,
  check: (n, ctx) => {
    const p = plan(n, ctx);
    return typeof p === 'string' ? p : undefined;
  },
  lower,
};
