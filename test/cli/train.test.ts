/**
 * `onnx-train train` as users run it (a child process): resume exactness (N steps in one go == N/2, then --resume
 * for the rest: bit-identical parameters and optimizer state on CPU), the data formats, evaluation, host-side
 * schedules on an augmented folder, and user errors (exit 1, no stack).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { encodeSafetensors } from '../../src/checkpoint/safetensors.js';
import { DataType } from '../../src/checkpoint/dtype.js';
import { encodeNpy } from '../../src/runtime/data/npy.js';
import { getScheduler, valueAt, type ScheduleSpec } from '../../src/ops/schedules/index.js';
import { runCli } from '../../src/cli/main.js';
import { REPO, STACK_LINE, cli } from './helpers.js';
import { rng } from '../helpers/rng.js';

const MNIST = path.join(REPO, 'fixtures', 'mnist-mlp-web');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'train-cli-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A small random "MNIST": 96 samples of 784 pixels, labels 0..9.
const N = 96;
const r = rng(3);
const X = Float32Array.from({ length: N * 784 }, () => r());
const Y = BigInt64Array.from({ length: N }, () => BigInt(Math.floor(r() * 10)));
const xNpy = path.join(tmp, 'x.npy');
const yNpy = path.join(tmp, 'y.npy');
fs.writeFileSync(xNpy, encodeNpy({ type: 'float32', dims: [N, 784], data: X }));
fs.writeFileSync(yNpy, encodeNpy({ type: 'int64', dims: [N], data: Y }));

interface Metrics {
  history: { step: number; loss: number; lr: number }[];
  evals: { step: number; metrics: { loss: number; accuracy?: number } }[];
  summary: { steps: number };
}
const metrics = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as Metrics;

async function checkpointBytes(file: string) {
  const c = await readCheckpoint(file);
  const tensors = [...c.trainable, ...c.frozen].map((t) => [t.name, Buffer.from(t.data).toString('base64')]);
  const g = c.optimizer!.groups[0];
  const state = g.params.flatMap((p) => p.momentums.map((m) => [`${p.param}/${m.name}`, Buffer.from(m.data).toString('base64')]));
  return { step: g.step, tensors, state, cursor: c.properties['trainer.next_micro_batch'] };
}

const COMMON = ['--data', xNpy, '--labels', yNpy, '--batch-size', '16', '--optim', 'adamw_torch', '--learning-rate', '3e-3',
  '--lr-scheduler-type', 'linear', '--warmup-steps', '3', '--max-grad-norm', '1', '--seed', '5', '--quiet'];

for (const k of [1, 2]) {
  test.serial(`train › --stop-at 5 then --resume (gradient accumulation ${k}) › bit-identical to 10 steps in one go`, async (t) => {
    const args = [...COMMON, '--steps', '10', '--gradient-accumulation-steps', String(k)];
    const a = path.join(tmp, `full-${k}`);
    const b = path.join(tmp, `split-${k}`);
    const [full, half] = await Promise.all([
      cli(['train', MNIST, ...args, '--output-dir', a]),
      cli(['train', MNIST, ...args, '--stop-at', '5', '--output-dir', b]),
    ]);
    t.is(full.code, 0, full.stderr);
    t.is(half.code, 0, half.stderr);
    t.is((await checkpointBytes(path.join(b, 'checkpoint'))).step, 5n);
    const rest = await cli(['train', MNIST, ...args, '--resume', path.join(b, 'checkpoint'), '--output-dir', b]);
    t.is(rest.code, 0, rest.stderr);

    const ca = await checkpointBytes(path.join(a, 'checkpoint'));
    const cb = await checkpointBytes(path.join(b, 'checkpoint'));
    t.is(ca.step, 10n);
    t.is(cb.step, 10n);
    t.is(ca.cursor, BigInt(10 * k));
    t.deepEqual(cb.tensors, ca.tensors, 'parameters are bit-identical');
    t.deepEqual(cb.state, ca.state, 'optimizer state is bit-identical');
    t.true(ca.state.length >= 8, 'adamw_torch state was saved');
    const ma = metrics(a);
    const mb = metrics(b);
    t.deepEqual(mb.history, ma.history, 'the resumed run logged the same losses and learning rates; metrics.json spans both sessions');
    t.deepEqual(ma.history.map((h) => h.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // The in-graph schedule is what was logged: linear warmup 3 over 10 steps.
    const spec = getScheduler('linear', { baseLr: 3e-3, numWarmupSteps: 3, numTrainingSteps: 10 }) as ScheduleSpec;
    t.deepEqual(ma.history.map((h) => h.lr), ma.history.map((h) => valueAt(spec, h.step - 1)));
  });
}

test.serial('train › .safetensors data, JSON eval data, --eval-every, --json › evaluations logged, outputs written', async (t) => {
  const st = path.join(tmp, 'train.safetensors');
  fs.writeFileSync(st, encodeSafetensors({
    format: 'safetensors', frozen: [], properties: {},
    trainable: [
      { name: 'input', dataType: DataType.FLOAT, dims: [N, 784], data: new Uint8Array(X.buffer) },
      { name: 'labels', dataType: DataType.INT64, dims: [N], data: new Uint8Array(Y.buffer) },
    ],
  }));
  const evalJson = path.join(tmp, 'eval.json');
  const rows = 20;
  fs.writeFileSync(evalJson, JSON.stringify({
    input: Array.from({ length: rows }, (_, i) => Array.from(X.subarray(i * 784, (i + 1) * 784))),
    labels: Array.from(Y.subarray(0, rows), Number),
  }));
  const out = path.join(tmp, 'st');
  const run = await cli(['train', MNIST, '--data', st, '--eval-data', evalJson, '--eval-every', '4', '--steps', '12', '--batch-size', '32',
    '--optim', 'adamw', '--learning-rate', '1e-3', '--output-dir', out, '--json']);
  t.is(run.code, 0, run.stderr);
  const s = JSON.parse(run.stdout) as { steps: number; eval: { loss: number; accuracy: number; samples: number }; files: Record<string, string>; exportAccuracy: number; firstLoss: number; finalLoss: number };
  t.is(s.steps, 12);
  t.is(s.eval.samples, rows);
  t.is(s.exportAccuracy, s.eval.accuracy, 'the exported inference model agrees with the eval model');
  t.true(s.finalLoss < s.firstLoss, `loss decreased: ${s.firstLoss} -> ${s.finalLoss}`);
  for (const f of ['checkpoint', 'model', 'plot', 'metrics']) t.true(fs.existsSync(s.files[f]), f);
  t.true(fs.existsSync(path.join(s.files.artifacts, 'manifest.json')));
  t.deepEqual(metrics(out).evals.map((e) => e.step), [4, 8, 12]);
  t.regex(run.stderr, /augmented .* \(adamw\)/);
  t.regex(run.stderr, /eval at step 4: loss \d/);
  t.regex(run.stderr, /^step +12\/12 +loss \d\.\d{4} +lr 1\.00e-3 +\d+ samples\/s +ETA 0:00$/m, 'plain progress lines when stderr is not a terminal');
});

test.serial('train › an augmented folder with --lr-scheduler-type › the schedule runs on the host', async (t) => {
  const aug = path.join(tmp, 'aug-host');
  const first = await cli(['train', MNIST, '--data', xNpy, '--labels', yNpy, '--steps', '1', '--batch-size', '16', '--optim', 'sgd', '--output-dir', aug, '--quiet']);
  t.is(first.code, 0, first.stderr);
  const out = path.join(tmp, 'host-sched');
  const run = await cli(['train', path.join(aug, 'artifacts'), '--data', `input=${xNpy}`, '--data', `labels=${yNpy}`, '--steps', '6', '--batch-size', '16',
    '--learning-rate', '0.05', '--lr-scheduler-type', 'cosine', '--warmup-steps', '2', '--output-dir', out, '--quiet']);
  t.is(run.code, 0, run.stderr);
  const spec = getScheduler('cosine', { baseLr: 0.05, numWarmupSteps: 2, numTrainingSteps: 6 }) as ScheduleSpec;
  t.deepEqual(metrics(out).history.map((h) => h.lr), [0, 1, 2, 3, 4, 5].map((s) => valueAt(spec, s)));
  t.regex(run.stdout, /trained to step 6/);
});

test.serial('train › user mistakes › exit 1 with the fix, no stack trace', async (t) => {
  const aug = path.join(tmp, 'aug-host', 'artifacts');
  const cases: [string[], RegExp][] = [
    [['train', MNIST], /missing --data/],
    [['train', MNIST, '--data', xNpy], /no data for input\(s\) "labels"/],
    [['train', MNIST, '--data', path.join(tmp, 'missing.npy'), '--labels', yNpy], /data file not found/],
    [['train', MNIST, '--data', xNpy, '--labels', yNpy, '--steps', 'x'], /--steps needs an integer/],
    [['train', MNIST, '--data', xNpy, '--labels', yNpy, '--steps', '2', '--eval-every', '1', '--output-dir', path.join(tmp, 'e1')], /--eval-every needs evaluation data/],
    [['train', MNIST, '--data', xNpy, '--labels', yNpy, '--steps', '2', '--batch-size', '1000', '--output-dir', path.join(tmp, 'e2')], /batch size 1000 is larger than the 96 samples/],
    [['train', aug, '--data', xNpy, '--labels', yNpy, '--optim', 'adamw'], /already augmented.*--optim cannot change it/s],
    [['train', MNIST, '--data', xNpy, '--labels', yNpy, '--steps', '2', '--resume', path.join(tmp, 'full-1', 'checkpoint'), '--output-dir', path.join(tmp, 'e3')], /checkpoint is at step 10, which is not before --steps 2/],
  ];
  for (const [args, msg] of cases) {
    // In-process (the CLI's own entry point, without a child process): these fail before any training.
    const run = { code: 0, stdout: '', stderr: '' };
    run.code = await runCli(args, { io: { out: (x) => void (run.stdout += x), err: (x) => void (run.stderr += x) } });
    t.is(run.code, 1, `${args.join(' ')}\n${run.stderr}`);
    t.regex(run.stderr, msg, args.join(' '));
    t.notRegex(run.stderr, STACK_LINE);
  }
});
