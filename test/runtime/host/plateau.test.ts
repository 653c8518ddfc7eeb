import test from 'ava';
import { OnnxTrainError } from '../../../src/errors.js';
import { runPlateauCase } from '../../../src/runtime/host/conformance.js';
import { ReduceLROnPlateau } from '../../../src/runtime/host/plateau.js';
import { loadCases } from '../../ops/schedules/cases.js';

// ---------------------------------------------------------------------------------------------- conformance

const cases = loadCases('plateau.json');
if (!cases) {
  test.skip('ReduceLROnPlateau › plateau.json › MISSING ../shared/conformance/cases/plateau.json', () => {});
} else {
  for (const c of cases) {
    test(`ReduceLROnPlateau › ${String(c.id)} › conformance case passes`, (t) => {
      const r = runPlateauCase(c);
      t.true(r.pass, r.message);
    });
  }
}

test('runPlateauCase › a wrong expectation › FORMAT.md message naming tensor and index', (t) => {
  const c = {
    id: 'x', kind: 'plateau', kwargs: { patience: 0, factor: 0.5 }, initial_lrs: [1, 2], metrics: [1, 2],
    expect: [
      { lrs: [1, 2], best: 1, num_bad_epochs: 0, cooldown_counter: 0 },
      { lrs: [0.5, 2], best: 1, num_bad_epochs: 0, cooldown_counter: 0 },
    ],
    tolerance: { rtol: 1e-12, atol: 0 },
  };
  t.deepEqual(runPlateauCase(c), { pass: false, message: 'expect[1].lrs [1] got 1 want 2' });
});

test('runPlateauCase › malformed case › BAD_CASE naming the field', (t) => {
  const e = t.throws(() => runPlateauCase({ id: 'y', kind: 'plateau', kwargs: { patiance: 2 }, initial_lrs: [1],
    metrics: [], expect: [], tolerance: { rtol: 0, atol: 0 } }), { instanceOf: OnnxTrainError });
  t.is(e?.code, 'BAD_CASE');
  t.regex(e?.what ?? '', /^kwargs\.patiance/);
});

// ---------------------------------------------------------------------------------------------- semantics

test('ReduceLROnPlateau › constant metric, patience P › first reduction on the (P + 2)-th call', (t) => {
  const p = new ReduceLROnPlateau([1], { patience: 3 });
  const lrs = Array.from({ length: 6 }, () => p.step(5)[0]);
  t.deepEqual(lrs, [1, 1, 1, 1, 0.1, 0.1]);
});

test('ReduceLROnPlateau › cooldown › zeroes the bad count while counting down', (t) => {
  const p = new ReduceLROnPlateau([1], { patience: 0, cooldown: 2, factor: 0.5 });
  const seen = [9, 10, 10, 10, 10].map((m) => [p.step(m)[0], p.numBadEpochs, p.cooldownCounter]);
  t.deepEqual(seen, [[1, 0, 0], [0.5, 0, 2], [0.5, 0, 1], [0.5, 0, 0], [0.25, 0, 2]]);
});

test('ReduceLROnPlateau › eps › vetoes a tiny reduction but the counters still reset', (t) => {
  const p = new ReduceLROnPlateau([1e-8], { patience: 0, cooldown: 3, eps: 1e-8 });
  p.step(1);
  p.step(2);
  t.deepEqual(p.lrs, [1e-8]); // 1e-8 − 1e-9 < eps
  t.is(p.cooldownCounter, 3);
  t.is(p.numBadEpochs, 0);
});

test('ReduceLROnPlateau › min_lr per group › clamps each group', (t) => {
  const p = new ReduceLROnPlateau([1, 1], { patience: 0, min_lr: [0.5, 0] });
  p.step(1);
  p.step(1);
  t.deepEqual(p.lrs, [0.5, 0.1]);
});

test('ReduceLROnPlateau › rel threshold with negative metrics › a slightly worse value counts as better', (t) => {
  const p = new ReduceLROnPlateau([1], { threshold: 0.1 });
  p.step(-1);
  p.step(-0.95); // −0.95 < −1·(1 − 0.1) = −0.9
  t.is(p.best, -0.95);
  t.is(p.numBadEpochs, 0);
});

test('ReduceLROnPlateau › max/abs mode › improves only beyond best + threshold', (t) => {
  const p = new ReduceLROnPlateau([1], { mode: 'max', threshold_mode: 'abs', threshold: 0.1, patience: 5 });
  p.step(1);
  p.step(1.05);
  t.is(p.best, 1);
  t.is(p.numBadEpochs, 1);
  p.step(1.2);
  t.is(p.best, 1.2);
});

test('ReduceLROnPlateau › constructor errors › torch wording', (t) => {
  t.throws(() => new ReduceLROnPlateau([1], { factor: 1 }), { message: /^Factor should be < 1\.0\./ });
  t.throws(() => new ReduceLROnPlateau([1, 2], { min_lr: [0] }), { message: /^expected 2 min_lrs, got 1/ });
  t.throws(() => new ReduceLROnPlateau([1], { mode: 'up' as 'min' }), { message: /^mode up is unknown!/ });
  t.throws(() => new ReduceLROnPlateau([1], { threshold_mode: 'pct' as 'rel' }), { message: /^threshold mode pct is unknown!/ });
});

// ---------------------------------------------------------------------------------------------- state

test('ReduceLROnPlateau › state save/load › resumed run equals the uninterrupted one', (t) => {
  const metrics = [5, 4.8, 4.9, 4.85, 4.7, 4.75, 4.72, 4.71, 4.73, 4.74, 4.69, 4.7, 4.71, 4.72];
  const opts = { patience: 1, cooldown: 2, factor: 0.5, threshold_mode: 'abs', threshold: 0.05, min_lr: [0.01, 0] } as const;
  const full = new ReduceLROnPlateau([1, 3], opts);
  const fullTrace = metrics.map((m) => [...full.step(m)]);

  const first = new ReduceLROnPlateau([1, 3], opts);
  const trace = metrics.slice(0, 6).map((m) => [...first.step(m)]);
  const saved = JSON.parse(JSON.stringify(first.state()));
  const resumed = ReduceLROnPlateau.fromState(saved);
  trace.push(...metrics.slice(6).map((m) => [...resumed.step(m)]));
  t.deepEqual(trace, fullTrace);
  t.deepEqual(resumed.state(), full.state());
});

test('ReduceLROnPlateau › state before any step › best ±∞ survives JSON', (t) => {
  for (const mode of ['min', 'max'] as const) {
    const p = new ReduceLROnPlateau([1], { mode });
    const s = JSON.parse(JSON.stringify(p.state()));
    t.is(s.best, mode === 'min' ? 'Infinity' : '-Infinity');
    const q = new ReduceLROnPlateau([1], { mode });
    q.load(s);
    t.is(q.best, mode === 'min' ? Infinity : -Infinity);
  }
});

test('ReduceLROnPlateau › load of a mismatched or malformed state › BAD_CHECKPOINT naming the field', (t) => {
  const s = new ReduceLROnPlateau([1], { patience: 2 }).state();
  const e = t.throws(() => new ReduceLROnPlateau([1], { patience: 3 }).load(s), { instanceOf: OnnxTrainError });
  t.is(e?.code, 'BAD_CHECKPOINT');
  t.regex(e?.what ?? '', /patience/);
  t.throws(() => ReduceLROnPlateau.fromState({ ...s, num_bad_epochs: -1 }), { message: /num_bad_epochs/ });
  t.throws(() => ReduceLROnPlateau.fromState({ ...s, format: 'x' }), { message: /format/ });
});
