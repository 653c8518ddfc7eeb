/**
 * com.microsoft::ReluGrad(dY, X) → dX = dY where X > 0, else 0.
 *
 * ORT's gradient builder passes the Relu *output* Y when it is stashed (Y > 0 ⇔ X > 0, so both give the same
 * result). Lowering: `Where(Greater(X, 0), dY, 0)`, which keeps dY's values bit-exact.
 * Source: training_op_defs.cc (schema), cpu/activation/activations_grad.cc (kernel).
 */
import type { LoweringRule } from '../rule.js';
import { firstDtype, floatTypeProblem, missingInputs, typed } from './common.js';

export const reluGrad: LoweringRule = {
  op: 'com.microsoft::ReluGrad',
  check(n, ctx) {
    return missingInputs(n, { 0: 'dY', 1: 'X' }) ?? floatTypeProblem(firstDtype(ctx, n.input(0), n.input(1)), 'dY/X');
  },
  lower(n, ctx) {
    const b = ctx.b;
    const T = firstDtype(ctx, n.input(0), n.input(1));
    const dY = typed(n.inputs[0], T, ctx);
    const x = typed(n.inputs[1], T, ctx);
    return [b.op.Where(b.op.Greater(x, 0), dY, 0)];
  },
};
