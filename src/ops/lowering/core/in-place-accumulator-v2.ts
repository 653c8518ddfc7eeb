/**
 * com.microsoft::InPlaceAccumulatorV2(accumulation_buffer, value, overwrite_flag?) → (updated_flag,
 * accumulation_buffer_out?).
 *
 * ORT's kernel (cpu/optimizer/gradient_control.cc) aliases the buffer: `buffer[:] = overwrite ? value :
 * buffer + value`, then writes `true` to updated_flag; onnxblock wires the graph input `lazy_reset_grad` as the
 * flag and exposes only the bool output (`<param>_grad.accumulation.out`). A stock runtime cannot alias, so the
 * lowering computes the new buffer explicitly,
 *   `new = Where(overwrite, value, buffer + value)`   (just `buffer + value` without a flag),
 * declares it as the new value of the buffer input (`ctx.updateState`, exposed by the pass as graph output
 * `<buffer>.out`), returns it for the optional second output, and returns a constant `true` bool[1] for the
 * flag. `value` is cast to the buffer's type when they differ (T_GRAD ≠ T, e.g. fp16 gradients into fp32
 * buffers), as the kernel does.
 */
import { DataType } from '../../../onnx/dtypes.js';
import type { LoweringRule } from '../rule.js';
import { floatTypeProblem, missingInputs, typed } from './common.js';

export const IN_PLACE_ACCUMULATOR_V2 = 'com.microsoft::InPlaceAccumulatorV2';

export const inPlaceAccumulatorV2: LoweringRule = {
  op: IN_PLACE_ACCUMULATOR_V2,
  check(n, ctx) {
    const missing = missingInputs(n, { 0: 'accumulation_buffer', 1: 'value' });
    if (missing) return missing;
    const problem = floatTypeProblem(ctx.shapes.dtype(n.inputs[0]), 'accumulation_buffer');
    if (problem) return problem;
    if (ctx.updateState && !ctx.b.graph.isGraphInput(n.inputs[0])) {
      return `accumulation_buffer "${n.inputs[0]}" is not a graph input, so its in-place update cannot be returned to the caller`;
    }
    const flag = n.input(2);
    if (flag && ctx.shapes.dtype(flag) !== undefined && ctx.shapes.dtype(flag) !== DataType.BOOL) return 'overwrite_flag is not bool';
    return undefined;
  },
  lower(n, ctx) {
    const b = ctx.b;
    const T = ctx.shapes.dtype(n.inputs[0])!;
    const buffer = typed(n.inputs[0], T, ctx);
    let value = typed(n.inputs[1], undefined, ctx);
    if (ctx.shapes.dtype(value.name) !== T) value = b.op.Cast(value, T);
    const sum = b.op.Add(buffer, value);
    const flag = n.input(2);
    const updated = flag ? b.op.Where(typed(flag, DataType.BOOL), value, sum) : sum;
    ctx.updateState?.(buffer.name, updated);
    return [b.const([1], DataType.BOOL, [1]), updated];
  },
};
