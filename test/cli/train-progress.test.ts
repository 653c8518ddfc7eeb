/** The progress bar: in-place redraws on a terminal (throttled), plain lines elsewhere, notes that do not garble it. */
import test from 'ava';
import { ProgressBar, formatDuration, formatProgressLine } from '../../src/cli/progress.js';

const u = (step: number, total = 100) => ({ step, total, loss: 2 / step, lr: 1e-3, samplesPerSecond: 1234.5, etaSeconds: (total - step) * 0.5 });

test('formatProgressLine › with and without a bar › step, loss, lr, samples/s, ETA', (t) => {
  t.is(formatProgressLine(u(25), { width: 10 }), '[###-------]  25/100  loss 0.0800  lr 1.00e-3  1235 samples/s  ETA 0:38');
  t.is(formatProgressLine(u(7), { width: 0 }), 'step   7/100  loss 0.2857  lr 1.00e-3  1235 samples/s  ETA 0:47');
  t.is(formatProgressLine({ ...u(50), loss: NaN, samplesPerSecond: 12.34 }, { width: 4, startStep: 40 }), '[#---]  50/100  loss NaN  lr 1.00e-3  12.3 samples/s  ETA 0:25');
});

test('formatDuration › seconds › m:ss and h:mm:ss', (t) => {
  t.deepEqual([0, 59.4, 61, 3600, 3725, -1, Infinity].map(formatDuration), ['0:00', '0:59', '1:01', '1:00:00', '1:02:05', '?', '?']);
});

test('ProgressBar › not a terminal › about ten plain lines and always the last', (t) => {
  let out = '';
  const bar = new ProgressBar({ write: (s) => (out += s), tty: false });
  for (let s = 1; s <= 95; s++) bar.update(u(s, 95));
  bar.note('eval at step 95: loss 0.1');
  bar.done();
  const lines = out.trimEnd().split('\n');
  t.is(lines.length, 11);
  t.regex(lines[0], /^step 10\/95 /);
  t.regex(lines[9], /^step 95\/95 /);
  t.is(lines[10], 'eval at step 95: loss 0.1');
  t.false(out.includes('\r'));
});

test('ProgressBar › a terminal › redraws in place, throttled by the clock, final step always drawn', (t) => {
  let out = '';
  let now = 0;
  const bar = new ProgressBar({ write: (s) => (out += s), tty: true, width: 8, fps: 10, now: () => now });
  for (let s = 1; s <= 20; s++) {
    now += 30; // 33 updates/s, drawn at most 10/s
    bar.update(u(s, 20));
  }
  const draws = out.split('\r').filter(Boolean);
  t.true(draws.length >= 5 && draws.length <= 8, `${draws.length} redraws`);
  t.true(draws.every((d) => d.endsWith('\x1b[K')), 'each redraw erases the rest of the line');
  t.regex(draws[draws.length - 1], /^\[########\] 20\/20 /);
  const before = out.length;
  bar.note('eval: ok');
  t.is(out.slice(before), `\r\x1b[Keval: ok\n${draws[draws.length - 1]}`, 'the note gets its own line, then the bar comes back');
  bar.done();
  t.true(out.endsWith('\n'));
});
