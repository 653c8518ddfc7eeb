import test from 'ava';
import { OnnxTrainError } from '../../../src/errors.js';
import { runAccumulatorCase } from '../../../src/runtime/host/conformance.js';
import { GradientAccumulator } from '../../../src/runtime/host/gradient-accumulator.js';
import { loadCases } from '../../ops/schedules/cases.js';

const cases = loadCases('accumulator.json');
if (!cases) {
  test.skip('GradientAccumulator › accumulator.json › MISSING ../shared/conformance/cases/accumulator.json', () => {});
} else {
  for (const c of cases) {
    test(`GradientAccumulator › ${String(c.id)} › conformance case passes`, (t) => {
      const r = runAccumulatorCase(c);
      t.true(r.pass, r.message);
    });
  }
}

const grads = (acc: GradientAccumulator) => acc.gradients.map((g) => (g ? Array.from(g) : null));

test('runAccumulatorCase › a wrong expectation › FORMAT.md message', (t) => {
  const c = {
    id: 'x', kind: 'accumulator', tolerance: { rtol: 1e-6, atol: 0 },
    script: [{ op: 'call', args: [[1, 2]], step: 1, gradients: [[1, 2.5]], error: null }],
  };
  t.deepEqual(runAccumulatorCase(c), { pass: false, message: 'script[0].gradients[0] [1] got 2 want 2.5' });
  const bad = { ...c, script: [{ op: 'push', step: 0, gradients: 'x', error: null }] };
  t.throws(() => runAccumulatorCase(bad), { instanceOf: OnnxTrainError, message: /script\[0\]\.op/ });
});

test('GradientAccumulator › before the first call › step 0, gradients throws, reset is a no-op', (t) => {
  const acc = new GradientAccumulator();
  t.is(acc.step, 0);
  t.throws(() => acc.gradients, { message: /^The accumulator should be called first to initialize the gradients/ });
  acc.reset();
  t.is(acc.step, 0);
});

test('GradientAccumulator › sums › float32, no averaging', (t) => {
  const acc = new GradientAccumulator();
  acc.call([[0.1, 1e8], new Float32Array([1, 2])]);
  acc.call([[0.2, 1], new Float32Array([3, 4])]);
  t.is(acc.step, 2);
  const [a, b] = acc.gradients;
  t.is(a?.[0], Math.fround(Math.fround(0.1) + Math.fround(0.2)));
  t.is(a?.[1], 1e8); // 1e8 + 1 rounds back to 1e8 in float32
  t.deepEqual(Array.from(b ?? []), [4, 6]);
});

test('GradientAccumulator › None gradients › stay None; a later gradient in a None slot is ignored', (t) => {
  const acc = new GradientAccumulator();
  acc.call([null, [1]]);
  acc.call([[5], [2]]);
  t.deepEqual(grads(acc), [null, [3]]);
  acc.call([[1], null]);
  t.deepEqual(grads(acc), [null, [3]]);
  t.is(acc.step, 3);
});

test('GradientAccumulator › length mismatch › upstream message, step unchanged, nothing added', (t) => {
  const acc = new GradientAccumulator();
  acc.call([[1]]);
  t.throws(() => acc.call([[1], [2]]), { message: /^Expected 1 gradients, but got 2/ });
  t.is(acc.step, 1);
  t.deepEqual(grads(acc), [[1]]);
});

test('GradientAccumulator › shape mismatch › refused before anything is added', (t) => {
  const acc = new GradientAccumulator();
  acc.call([[1], [1, 2]]);
  const e = t.throws(() => acc.call([[1], [1, 2, 3]]), { instanceOf: OnnxTrainError });
  t.is(e?.code, 'SHAPE_MISMATCH');
  t.deepEqual(grads(acc), [[1], [1, 2]]);
  t.is(acc.step, 1);
});

test('GradientAccumulator › first call with an empty list › counts, but the next call initialises', (t) => {
  const acc = new GradientAccumulator();
  acc.call([]);
  t.is(acc.step, 1);
  t.throws(() => acc.gradients);
  acc.call([[2]]);
  t.is(acc.step, 2);
  t.deepEqual(grads(acc), [[2]]);
});

test('GradientAccumulator › reset › zeroes sums and step, keeps sizes', (t) => {
  const acc = new GradientAccumulator();
  acc.call([[1, 2], null]);
  acc.reset();
  t.is(acc.step, 0);
  t.deepEqual(grads(acc), [[0, 0], null]);
});

test('GradientAccumulator › state save/load › resumed accumulation equals the uninterrupted one', (t) => {
  const calls = [[[0.1, 0.2], null], [[0.3, -0.7], [1]], [[1e-3, 3], [2]]] as const;
  const full = new GradientAccumulator();
  for (const c of calls) full.call(c as unknown as number[][]);
  const part = new GradientAccumulator();
  part.call(calls[0] as unknown as number[][]);
  const resumed = GradientAccumulator.fromState(JSON.parse(JSON.stringify(part.state())));
  for (const c of calls.slice(1)) resumed.call(c as unknown as number[][]);
  t.deepEqual(resumed.state(), full.state());
  t.deepEqual(GradientAccumulator.fromState(new GradientAccumulator().state()).state(),
    { format: 'onnx-train/gradient-accumulator@1', step: 0, gradients: null });
  t.throws(() => GradientAccumulator.fromState({ format: 'onnx-train/gradient-accumulator@1', step: -2, gradients: null }),
    { instanceOf: OnnxTrainError, message: /step/ });
});
