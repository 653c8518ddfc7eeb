/**
 * com.microsoft::Scale(input, scale; scale_down) → input · scale (scale_down = 0, default) or input / scale
 * (scale_down = 1). `scale` is a scalar or 1-element tensor of any numeric type; the output keeps input's type
 * and shape.
 *
 * ORT emits it in the gradients of ReduceMean (scale = Size(X) / Size(dY), int64), GlobalAveragePool (a
 * constant H·W) and mean-reduced losses. Lowering: Cast the scale to input's type, reshape it to a scalar (so a
 * [1]-shaped scale cannot turn a scalar input into [1]), then Mul or Div.
 * Source: training_op_defs.cc (schema), cpu/math/scale.cc (kernel).
 */
import { dtypeName } from '../../../onnx/dtypes.js';
import type { LoweringRule } from '../rule.js';
import { floatTypeProblem, missingInputs, typed } from './common.js';

export const scale: LoweringRule = {
  op: 'com.microsoft::Scale',
  check(n, ctx) {
    const missing = missingInputs(n, { 0: 'input', 1: 'scale' });
    if (missing) return missing;
    const problem = floatTypeProblem(ctx.shapes.dtype(n.inputs[0]), 'input');
    if (problem) return problem;
    const sd = n.attrInt('scale_down', 0);
    if (sd !== 0 && sd !== 1) return `scale_down=${sd} (must be 0 or 1)`;
    const st = ctx.shapes.dtype(n.inputs[1]);
    if (st === undefined) return 'the element type of scale is unknown';
    if (st === 8 || st === 9) return `scale has element type ${dtypeName(st)}`;
    return undefined;
  },
  lower(n, ctx) {
    const b = ctx.b;
    const T = ctx.shapes.dtype(n.inputs[0])!;
    const x = typed(n.inputs[0], T, ctx);
    let s = typed(n.inputs[1], undefined, ctx);
    if (ctx.shapes.dtype(s.name) !== T) s = b.op.Cast(s, T);
    if (ctx.shapes.rank(n.inputs[1]) !== 0) s = b.op.Reshape(s, []);
    return [n.attrInt('scale_down', 0) === 1 ? b.op.Div(x, s) : b.op.Mul(x, s)];
  },
};
