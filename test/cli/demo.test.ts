/**
 * `onnx-train demo` (npm start) end to end, shortened: the bundled MNIST artifacts augmented, trained a few dozen
 * steps on real digits, evaluated, saved, exported, plotted — every output exists, the loss went down, the
 * exported model agrees with the eval model, and the summary says where everything went.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { cli } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-cli-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('demo › --steps 60 --eval-every 30 › outputs written, loss decreased, summary lists every path', async (t) => {
  const out = path.join(tmp, 'demo');
  const run = await cli(['demo', '--steps', '60', '--eval-every', '30', '--batch-size', '64', '--output-dir', out]);
  t.is(run.code, 0, run.stderr);

  const files = ['artifacts/manifest.json', 'artifacts/train_step.onnx', 'checkpoint', 'model.onnx', 'plot.svg', 'metrics.json'];
  for (const f of files) t.true(fs.existsSync(path.join(out, f)), f);

  const m = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as {
    history: { step: number; loss: number; lr: number }[];
    evals: { step: number; metrics: { loss: number; accuracy: number } }[];
    summary: { eval: { accuracy: number }; exportAccuracy: number; optimizer: string };
    config: { schedule: { type: string; num_warmup_steps: number; num_training_steps: number } };
  };
  t.is(m.history.length, 60);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(m.history.slice(0, 5).map((h) => h.loss));
  const last = mean(m.history.slice(-5).map((h) => h.loss));
  t.true(last < first * 0.6, `loss decreased: ${first} -> ${last}`);
  t.deepEqual(m.evals.map((e) => e.step), [30, 60]);
  t.true(m.summary.eval.accuracy > 0.6, `test accuracy ${m.summary.eval.accuracy} after 60 steps`);
  t.is(m.summary.exportAccuracy, m.summary.eval.accuracy, 'model.onnx gives the eval model\'s predictions');
  t.is(m.summary.optimizer, 'adamw');
  t.deepEqual([m.config.schedule.type, m.config.schedule.num_warmup_steps, m.config.schedule.num_training_steps], ['linear', 6, 60], 'HF linear warmup (ratio 0.1)');
  t.is(m.history[0].lr, 0, 'warmup starts at 0');
  t.true(Math.abs(Math.max(...m.history.map((h) => h.lr)) - 2e-3) < 1e-12, 'peak = --learning-rate default');

  const ckpt = await readCheckpoint(path.join(out, 'checkpoint'));
  t.is(ckpt.optimizer?.groups[0].step, 60n);

  const svg = fs.readFileSync(path.join(out, 'plot.svg'), 'utf8');
  t.regex(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.regex(svg, /<\/svg>\n$/);

  t.regex(run.stdout, /trained to step 60 /);
  t.regex(run.stdout, /test accuracy \d+\.\d\d%/);
  for (const label of ['augmented artifacts', 'checkpoint', 'inference model', 'loss/lr plot', 'metrics']) t.regex(run.stdout, new RegExp(`^  ${label.replace('/', '\\/')} +\\S`, 'm'), label);
  t.true(run.stdout.includes(path.join(out, 'model.onnx')) || run.stdout.includes(path.relative(process.cwd(), path.join(out, 'model.onnx'))));
  t.regex(run.stderr, /test at step 30: loss \d\.\d{4}, accuracy \d+\.\d\d%/);
  t.notRegex(run.stderr, /\r/, 'no carriage returns when stderr is not a terminal');
});

test('demo › --help › documents the HF-style flags and their defaults', async (t) => {
  const run = await cli(['demo', '--help']);
  t.is(run.code, 0);
  for (const flag of ['--optim', '--lr-scheduler-type', '--learning-rate', '--steps', '--ep', '--batch-size', '--seed', '--gradient-accumulation-steps', '--max-grad-norm', '--weight-decay', '--warmup-steps']) {
    t.true(run.stdout.includes(flag), flag);
  }
  t.regex(run.stdout, /--steps <n> +.*default 800/);
  t.regex(run.stdout, /--optim <[^>]+> +.*default adamw/);
});
