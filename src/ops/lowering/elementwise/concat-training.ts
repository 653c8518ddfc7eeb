/**
 * ms::ConcatTraining (inputs…; axis) → (concat_result, per_input_length int64[n]). ORT's ConcatReplacement
 * turns every Concat of a training graph into it; the lengths feed SplitTraining in the backward pass.
 * Lowered to Concat plus, when the second output is used, the inputs' sizes along `axis`: constants where
 * ctx.shapes knows them, Gather(Shape(input), [axis]) otherwise.
 */
import type { Value } from '../../../builder/index.js';
import type { LoweringRule } from '../rule.js';
import { msOp, normAxis, req, wantsOutput } from './support.js';

export const lowerConcatTraining: LoweringRule = {
  op: msOp('ConcatTraining'),
  check: (n) => {
    if (n.inputs.length === 0 || n.inputs.some((i) => i === '')) return 'ConcatTraining needs at least one input and no blank inputs';
    return n.attr('axis') === undefined ? 'required attribute "axis" missing' : undefined;
  },
  lower: (n, ctx) => {
    const b = ctx.b;
    const axis = n.attrInt('axis', 0);
    const xs = n.inputs.map((_, i) => req(ctx, n, i));
    const y = b.op.Concat(xs, axis);
    if (!wantsOutput(n, 1)) return [y, undefined];
    const sizes = xs.map((x) => {
      const s = ctx.shapes.shape(x.name);
      const d = s ? s[normAxis(axis, s.length)] : undefined;
      return typeof d === 'number' && d >= 0 ? d : undefined;
    });
    if (sizes.every((d) => d !== undefined)) return [y, b.i64(sizes as number[])];
    const parts: Value[] = xs.map((x, i) => (sizes[i] !== undefined ? b.i64([sizes[i]!]) : b.op.Gather(b.op.Shape(x), b.i64([axis]))));
    return [y, parts.length === 1 ? parts[0] : b.op.Concat(parts, 0)];
  },
};
