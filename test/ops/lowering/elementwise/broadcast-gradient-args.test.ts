import test from 'ava';
import { lowerBroadcastGradientArgs } from '../../../../src/ops/lowering/elementwise/broadcast-gradient-args.js';
import { staticBroadcastAxes } from '../../../../src/ops/lowering/elementwise/broadcast-axes.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import type { Dim } from '../../../../src/ops/lowering/rule.js';
import { broadcastGradientArgs } from '../../../reference/elementwise.js';
import { i64, lower, lowerAndRun, nums, type InputSpec } from '../../../helpers/lowering.js';

const pairs: [number[], number[]][] = [
  [[2, 3, 4], [4]], [[4], [2, 3, 4]], [[2, 1, 4], [3, 1]], [[1], [1]], [[], [2, 3]], [[2, 3], []],
  [[5, 1, 1], [1, 4, 1]], [[2, 3], [2, 3]], [[1, 3], [2, 1]], [[3, 1, 5], [1, 1]], [[1, 1, 1], [7]],
];

const OUT = [['a_axes', DataType.INT64], ['b_axes', DataType.INT64]] as const;

for (const [a, b] of pairs) {
  const ref = broadcastGradientArgs(a, b);
  test(`BroadcastGradientArgs › ${JSON.stringify(a)} vs ${JSON.stringify(b)} › constant and runtime lowerings both give the kernel's descending axes`, async (t) => {
    // Constant inputs: resolved while lowering, no NonZero.
    const constant = { opType: 'BroadcastGradientArgs', inputs: [{ name: 'a', tensor: i64(a), constant: true }, { name: 'b', tensor: i64(b), constant: true }], outputs: OUT };
    t.false(lower(t, lowerBroadcastGradientArgs, constant).ops.includes('NonZero'));
    const c = await lowerAndRun(t, lowerBroadcastGradientArgs, constant);
    t.deepEqual([nums(c.a_axes), nums(c.b_axes)], [ref.a, ref.b]);
    // Runtime inputs: computed with NonZero.
    const runtime = { opType: 'BroadcastGradientArgs', inputs: [{ name: 'a', tensor: i64(a) }, { name: 'b', tensor: i64(b) }], outputs: OUT, knowledge: 'none' as const };
    t.true(lower(t, lowerBroadcastGradientArgs, runtime).ops.includes('NonZero'));
    const d = await lowerAndRun(t, lowerBroadcastGradientArgs, runtime);
    t.deepEqual([nums(d.a_axes), nums(d.b_axes)], [ref.a, ref.b]);
  });
}

test('BroadcastGradientArgs › Shape(X) inputs with symbolic dims › static only when the shapes decide every axis', async (t) => {
  const run = async (xa: number[], declA: Dim[], xb: number[], declB: Dim[]) => {
    const spec = {
      opType: 'BroadcastGradientArgs', outputs: OUT,
      inputs: [{ name: 'a', tensor: i64(xa), shapeOf: xa, declared: declA }, { name: 'b', tensor: i64(xb), shapeOf: xb, declared: declB }] as InputSpec[],
    };
    const out = await lowerAndRun(t, lowerBroadcastGradientArgs, spec);
    const ref = broadcastGradientArgs(xa, xb);
    t.deepEqual([nums(out.a_axes), nums(out.b_axes)], [ref.a, ref.b], `${xa} vs ${xb}`);
    return lower(t, lowerBroadcastGradientArgs, spec).ops.includes('NonZero') ? 'runtime' : 'static';
  };
  t.is(await run([4, 3], ['N', 3], [3], [3]), 'static');
  t.is(await run([4, 1], ['N', 1], [3], [3]), 'static');
  t.is(await run([4, 3], ['N', 3], [4, 3], ['N', 3]), 'static');
  // (1, N): the kernel's answer depends on whether N is 1, so it is computed at run time — and right for both.
  t.is(await run([1, 3], [1, 3], [4, 3], ['N', 3]), 'runtime');
  t.is(await run([1, 3], [1, 3], [1, 3], ['N', 3]), 'runtime');
  t.is(await run([2, 3], ['M', 3], [2, 3], ['N', 3]), 'runtime');
});

test('BroadcastGradientArgs › only b_axes requested › a_axes is not produced', async (t) => {
  const out = await lowerAndRun(t, lowerBroadcastGradientArgs, {
    opType: 'BroadcastGradientArgs', inputs: [{ name: 'a', tensor: i64([2, 3]) }, { name: 'b', tensor: i64([3]) }], outputs: [['', DataType.INT64], ['b_axes', DataType.INT64]], knowledge: 'none',
  });
  t.deepEqual(Object.keys(out), ['b_axes']);
  t.deepEqual(nums(out.b_axes), [0]);
});

test('BroadcastGradientArgs › staticBroadcastAxes › "reduce" mode also reduces a 1 paired with a symbol', (t) => {
  t.is(staticBroadcastAxes([1, 3], ['N', 3], 'exact'), undefined);
  t.deepEqual(staticBroadcastAxes([1, 3], ['N', 3], 'reduce'), { a: [0], b: [] });
  t.is(staticBroadcastAxes([2, 3], ['N', 3], 'reduce'), undefined);
  t.is(staticBroadcastAxes(['?1', 3], ['?2', 3], 'reduce'), undefined);
  t.is(staticBroadcastAxes([2, 3], [4, 3], 'exact'), undefined);
});
