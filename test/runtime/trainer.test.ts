/**
 * The loop's control flow against a recording test double: which session calls happen, in what order, with
 * which batches; logging, evaluation cadence, resume position, errors. The numerics (k micro-batches == one big
 * batch) are in trainer-accumulation.test.ts, on a real augmented artifact set.
 */
import test from 'ava';
import { OnnxTrainError } from '../../src/errors.js';
import type { HostTensor } from '../../src/runtime/engine.js';
import { countCorrect, evaluate, train, type Feeds, type TrainerSession } from '../../src/runtime/trainer.js';

const LOSS = 'loss';

/** Loss of a batch = its id (feeds.x[0]); records every call. */
class FakeSession implements TrainerSession {
  step: bigint;
  readonly manifest = { lossOutput: LOSS };
  calls: string[] = [];
  skippedUpdates = 0;
  private lr = 0.5;
  constructor(step = 0n) { this.step = step; }
  private loss(feeds: Feeds): Record<string, HostTensor> {
    return { [LOSS]: { type: 'float32', dims: [], data: Float32Array.of(Number(feeds.x.data[0])) } };
  }
  async trainStep(feeds: Feeds) { this.calls.push(`fused(${feeds.x.data[0]})`); this.step++; return this.loss(feeds); }
  async runTrainStep(feeds: Feeds) { this.calls.push(`train(${feeds.x.data[0]})`); return this.loss(feeds); }
  async runOptimizerStep() { this.calls.push('optim'); this.step++; }
  async lazyResetGrad() { this.calls.push('reset'); }
  getLearningRate() { return this.lr; }
}

const batch = (i: number): Feeds => ({ x: { type: 'float32', dims: [4, 1], data: Float32Array.of(i, 0, 0, 0) } });

test('train › k = 1 › one fused trainStep per update, loss and lr logged', async (t) => {
  const s = new FakeSession();
  const logs: number[][] = [];
  const r = await train({ session: s, trainBatches: batch, steps: 3, onLog: (l) => void logs.push([l.step, l.loss, l.lr, l.runStep, l.runSteps]) });
  t.deepEqual(s.calls, ['fused(0)', 'fused(1)', 'fused(2)']);
  t.deepEqual(logs, [[1, 0, 0.5, 1, 3], [2, 1, 0.5, 2, 3], [3, 2, 0.5, 3, 3]]);
  t.deepEqual([r.step, r.runSteps, r.samples, r.nextMicroBatch, r.aborted], [3, 3, 12, 3, false]);
});

test('train › k = 3 › runTrainStep ×3, runOptimizerStep, lazyResetGrad; logged loss is the micro-batch mean', async (t) => {
  const s = new FakeSession();
  const r = await train({ session: s, trainBatches: batch, steps: 2, gradientAccumulationSteps: 3 });
  t.deepEqual(s.calls, ['train(0)', 'train(1)', 'train(2)', 'optim', 'reset', 'train(3)', 'train(4)', 'train(5)', 'optim', 'reset']);
  t.deepEqual(r.history.map((h) => h.loss), [1, 4]);
  t.is(r.samples, 24);
  t.is(r.nextMicroBatch, 6);
});

test('train › a restored session › continues at its step with the matching micro-batch, to `steps` in total', async (t) => {
  const s = new FakeSession(4n);
  const r = await train({ session: s, trainBatches: batch, steps: 6, gradientAccumulationSteps: 2 });
  t.deepEqual(s.calls, ['train(8)', 'train(9)', 'optim', 'reset', 'train(10)', 'train(11)', 'optim', 'reset']);
  t.deepEqual(r.history.map((h) => [h.step, h.runStep, h.runSteps, h.maxSteps]), [[5, 1, 2, 6], [6, 2, 2, 6]]);
  const done = await train({ session: new FakeSession(6n), trainBatches: batch, steps: 6 });
  t.is(done.runSteps, 0, 'nothing left to do');
  const explicit = new FakeSession(4n);
  await train({ session: explicit, trainBatches: batch, steps: 5, firstMicroBatch: 100 });
  t.deepEqual(explicit.calls, ['fused(100)']);
});

test('train › evalEvery › evaluates at multiples of N with the step, onEval sees the metrics', async (t) => {
  const s = new FakeSession();
  const seen: number[] = [];
  const r = await train({
    session: s, trainBatches: batch, steps: 7, evalEvery: 3,
    evalFn: (step) => ({ loss: step * 10 }), onEval: (e) => void seen.push(e.metrics.loss),
  });
  t.deepEqual(r.evals.map((e) => e.step), [3, 6]);
  t.deepEqual(seen, [30, 60]);
});

test('train › lrAt, clock, samplesOf › lr from the schedule at the completed-step count; rate and ETA from the clock', async (t) => {
  let clock = 0;
  const s = new FakeSession(10n);
  const r = await train({
    session: s, trainBatches: batch, steps: 14, lrAt: (k) => k / 100, samplesOf: () => 50,
    now: () => (clock += 250), // every update takes 250 ms
  });
  t.deepEqual(r.history.map((h) => h.lr), [0.1, 0.11, 0.12, 0.13]);
  t.deepEqual(r.history.map((h) => h.samplesPerSecond), [200, 200, 200, 200]);
  t.deepEqual(r.history.map((h) => h.etaSeconds), [0.75, 0.5, 0.25, 0]);
  t.is(r.trainSeconds, 1);
});

test('train › iterators and async iterables › consumed in order; running out is a clear error', async (t) => {
  const s = new FakeSession();
  await train({ session: s, trainBatches: [batch(7), batch(8)], steps: 2 });
  t.deepEqual(s.calls, ['fused(7)', 'fused(8)']);
  async function* gen() { for (let i = 20; i < 22; i++) yield batch(i); }
  const a = new FakeSession();
  await train({ session: a, trainBatches: gen(), steps: 1, gradientAccumulationSteps: 2 });
  t.deepEqual(a.calls, ['train(20)', 'train(21)', 'optim', 'reset']);
  await t.throwsAsync(train({ session: new FakeSession(), trainBatches: [batch(1)], steps: 2 }), { instanceOf: OnnxTrainError, message: /ran out after 1 micro-batch/ });
});

test('train › bad options › OnnxTrainError', async (t) => {
  const s = new FakeSession();
  await t.throwsAsync(train({ session: s, trainBatches: batch, steps: 1, gradientAccumulationSteps: 0 }), { message: /gradient_accumulation_steps must be a positive integer/ });
  await t.throwsAsync(train({ session: s, trainBatches: batch, steps: 1.5 }), { message: /steps must be/ });
  await t.throwsAsync(train({ session: s, trainBatches: batch, steps: 1, evalEvery: 2 }), { message: /no evalFn/ });
  t.deepEqual(s.calls, []);
});

test('train › abort signal › stops before the next update', async (t) => {
  const s = new FakeSession();
  const ac = new AbortController();
  const r = await train({ session: s, trainBatches: batch, steps: 10, signal: ac.signal, onLog: (l) => { if (l.step === 2) ac.abort(); } });
  t.deepEqual([r.step, r.aborted], [2, true]);
});

test('evaluate › a classifier › batch-size-weighted loss and detected top-1 accuracy', async (t) => {
  const session = {
    manifest: { lossOutput: LOSS, evalOutputs: [LOSS, 'logits'] },
    async runEvalStep(feeds: Feeds) {
      const n = feeds.labels.dims[0];
      // predicts class 1 for every row
      const logits = new Float32Array(n * 3).map((_, i) => (i % 3 === 1 ? 1 : 0));
      return { [LOSS]: { type: 'float32', dims: [], data: Float32Array.of(n) }, logits: { type: 'float32', dims: [n, 3], data: logits } } as Record<string, HostTensor>;
    },
  };
  const b = (labels: number[]): Feeds => ({
    x: { type: 'float32', dims: [labels.length, 2], data: new Float32Array(labels.length * 2) },
    labels: { type: 'int64', dims: [labels.length], data: BigInt64Array.from(labels.map(BigInt)) },
  });
  const m = await evaluate(session, [b([1, 1, 0]), b([2])]);
  t.is(m.samples, 4);
  t.is(m.loss, (3 * 3 + 1 * 1) / 4);
  t.is(m.accuracy, 0.5);
  const noAcc = await evaluate(session, [b([1])], { accuracy: false });
  t.false('accuracy' in noAcc);
  await t.throwsAsync(evaluate(session, []), { message: /no batches/ });
});

test('countCorrect › ties and shapes › first maximum wins; mismatched sizes throw', (t) => {
  const logits: HostTensor = { type: 'float32', dims: [2, 2], data: Float32Array.of(1, 1, 0, 2) };
  t.is(countCorrect(logits, { type: 'int64', dims: [2], data: BigInt64Array.of(0n, 1n) }), 2);
  t.throws(() => countCorrect(logits, { type: 'int64', dims: [3], data: new BigInt64Array(3) }), { message: /do not match/ });
});
