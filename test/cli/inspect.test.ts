/**
 * `onnx-train inspect` on the four real ORT artifact sets: the ops it says need lowering must be exactly those the
 * sets' README lists (counts included), and the parameter counts those of its overview table.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'ava';
import type { ArtifactsReport, ModelReport } from '../../src/inspect/index.js';
import { ARTIFACTS, ARTIFACT_SETS, REPO, STACK_LINE, cli } from './helpers.js';

const README = fs.readFileSync(path.join(ARTIFACTS, 'README.md'), 'utf8');

/** The README's table row for `set` under `heading`, as cells. */
function readmeRow(heading: string, set: string): string[] {
  const section = README.slice(README.indexOf(heading));
  const row = section.split('\n').find((l) => l.startsWith(`| ${set} `) || l.startsWith(`| \`${set}/\` `));
  if (!row) throw new Error(`README: no row for ${set} under "${heading}"`);
  return row.split('|').slice(1, -1).map((c) => c.trim());
}

/** "com.microsoft: A x4, B x1; ai.onnx (non-standard): **C x1**" → {"com.microsoft::A": 4, …}. */
function readmeLoweringOps(set: string): Record<string, number> {
  // Drop emphasis and parenthesised notes ("(non-standard)", "(1-D conv, group 1)", "(forward!)").
  const cell = readmeRow('## Ops that need lowering', set)[1]!.replace(/\*\*/g, '').replace(/\s*\([^)]*\)/g, '');
  const out: Record<string, number> = {};
  for (const part of cell.split(';')) {
    const m = /^\s*([\w.]+):\s*(.+)$/.exec(part);
    if (!m) throw new Error(`README: cannot read "${part}"`);
    for (const item of m[2]!.split(',')) {
      const im = /^\s*(\w+) x(\d+)\s*$/.exec(item);
      if (!im) throw new Error(`README: cannot read "${item}"`);
      out[`${m[1]}::${im[1]}`] = Number(im[2]);
    }
  }
  return out;
}

/** "397,510 / 0" → [397510, 0]. */
function readmeParams(set: string): [number, number] {
  const cells = readmeRow('## Overview', set);
  const cell = cells.find((c) => /^[\d,]+ \/ [\d,]+$/.test(c))!;
  const [a, b] = cell.split('/').map((x) => Number(x.trim().replace(/,/g, '')));
  return [a!, b!];
}

type ArtifactsJson = { format: string; type: 'artifacts'; report: ArtifactsReport };
const cache = new Map<string, Promise<ArtifactsJson>>();
/** `inspect --json` of a folder, one process per folder for the whole file. */
const inspectJson = (target: string) => {
  let p = cache.get(target);
  if (!p) {
    p = cli(['inspect', '--json', target]).then((r) => {
      if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as ArtifactsJson;
    });
    cache.set(target, p);
  }
  return p;
};

for (const set of ARTIFACT_SETS) {
  test(`inspect › ${set} › reports exactly the ops the README says need lowering`, async (t) => {
    const { format, type, report } = await inspectJson(path.join(ARTIFACTS, set));
    t.is(format, 'onnx-train/inspect@1');
    t.is(type, 'artifacts');
    const training = report.training!;
    t.is(training.kind, 'training');
    const got = Object.fromEntries(training.nonStandard.map((o) => [`${o.domain}::${o.op}`, o.count]));
    t.deepEqual(got, readmeLoweringOps(set));
    // Every optimizer model is a single com.microsoft::AdamWOptimizer node.
    t.deepEqual(report.optimizer!.nonStandard.map((o) => [o.domain, o.op, o.count]), [['com.microsoft', 'AdamWOptimizer', 1]]);
    t.deepEqual(report.eval!.nonStandard, [], 'eval models are standard ONNX');
  });

  test(`inspect › ${set} › trainable / frozen parameter counts match the README`, async (t) => {
    const { report } = await inspectJson(path.join(ARTIFACTS, set));
    const [trainable, frozen] = readmeParams(set);
    for (const m of [report.training!, report.eval!] as ModelReport[]) {
      t.is(m.parameters!.trainable!.elements, trainable, `${m.file} trainable`);
      t.is(m.parameters!.frozen!.elements, frozen, `${m.file} frozen`);
    }
    t.deepEqual(report.problems, [], 'checkpoint and training model agree');
  });
}

test('inspect › checkpoints › format, version and tensor lists as the README says', async (t) => {
  const mnist = (await inspectJson(path.join(ARTIFACTS, 'mnist-mlp-web'))).report;
  t.like(mnist.checkpoint, { format: 'odtc', version: 1, nominal: false, optimizerGroups: [] });
  t.deepEqual(mnist.checkpoint!.trainable.map((x) => x.name), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  t.deepEqual(mnist.checkpoint!.trainable[0], { name: 'fc1.weight', type: 'float32', shape: [500, 784], elements: 392000 });
  const seizure = (await inspectJson(path.join(ARTIFACTS, 'seizureguard-cnn1d'))).report;
  t.like(seizure.checkpoint, { format: 'odtc', version: 2 });
  t.is(seizure.checkpoint!.trainable.length, 4);
  t.is(seizure.checkpoint!.frozen.length, 6);
  const resnet = (await inspectJson(path.join(ARTIFACTS, 'resnet50-conv0'))).report;
  t.is(resnet.checkpoint, null);
  t.deepEqual(resnet.missing, ['checkpoint']);
  t.is(resnet.training!.parameters!.source, 'shapes');
  t.is(resnet.eval!.parameters!.source, 'training model');
});

test('inspect › one model › I/O with symbolic dims, roles, opsets, producer', async (t) => {
  const r = await cli(['inspect', '--json', path.join(ARTIFACTS, 'mnist-mlp-web', 'training_model.onnx')]);
  t.is(r.code, 0, r.stderr);
  const { type, report } = JSON.parse(r.stdout) as { type: string; report: ModelReport };
  t.is(type, 'model');
  t.like(report, { kind: 'training', irVersion: 7, producer: { name: 'pytorch', version: '2.1.2' } });
  t.deepEqual(report.opsets.find((o) => o.domain === 'ai.onnx'), { domain: 'ai.onnx', version: 14 });
  t.deepEqual(report.inputs[0], { name: 'input', type: 'float32', shape: ['batch_size', 784], role: 'input' });
  t.deepEqual(report.inputs[2], { name: 'fc1.weight', type: 'float32', shape: [500, 784], role: 'trainable' });
  t.deepEqual(report.inputs.at(-1), { name: 'lazy_reset_grad', type: 'bool', shape: [1], role: 'lazy_reset_grad' });
  t.deepEqual(report.outputs[0], { name: 'onnx::loss::8', type: 'float32', shape: [] });
  t.is(report.parameters!.trainable!.elements, 397510);
  t.deepEqual(report.ops.filter((o) => o.domain === 'ai.onnx').map((o) => `${o.op} x${o.count}`),
    ['Gemm x5', 'Identity x2', 'ReduceSum x2', 'Relu x1', 'SoftmaxCrossEntropyLoss x1']);
  const relu = report.nonStandard.find((o) => o.op === 'ReluGrad')!;
  t.is(relu.nodes.length, 1);
});

test('inspect › json › stable: the same bytes twice', async (t) => {
  const target = path.join(ARTIFACTS, 'lora-linear-mse');
  const [a, b] = await Promise.all([cli(['inspect', '--json', target]), cli(['inspect', '--json', target])]);
  t.is(a.code, 0);
  t.is(a.stdout, b.stdout);
  t.deepEqual(JSON.parse(a.stdout), await inspectJson(target));
});

test('inspect › text › readable summary of an artifact set', async (t) => {
  const r = await cli(['inspect', path.join(ARTIFACTS, 'resnet50-conv0')]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /missing: checkpoint/);
  t.regex(r.stdout, /ai\.onnx::MaxPoolGrad\s+x1\s+not an ONNX operator/);
  t.regex(r.stdout, /com\.microsoft::BatchNormInternal\s+x53/);
  t.regex(r.stdout, /9,408 trainable \(1 tensor\), 25,619,624 frozen \(298 tensors\)/);
  t.regex(r.stdout, /… \d+ more .*--json lists all/, 'long input lists are summarised');
});

// --- bad input: exit 1, the file named, no stack -------------------------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-train-inspect-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
const model = fs.readFileSync(path.join(ARTIFACTS, 'mnist-mlp-web', 'training_model.onnx'));
let seed = 7;
const random = Uint8Array.from({ length: 4096 }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
const badInputs: [string, string, (p: string) => void, RegExp][] = [
  ['truncated model', 'truncated.onnx', (p) => fs.writeFileSync(p, model.subarray(0, 1500)), /truncated|not a valid ONNX/],
  ['random bytes', 'random.onnx', (p) => fs.writeFileSync(p, random), /not a valid ONNX/],
  ['a text file', 'notes.txt', (p) => fs.writeFileSync(p, 'these are my notes about the model\n'), /not a valid ONNX|not an ONNX model/],
  ['an empty file', 'empty.onnx', (p) => fs.writeFileSync(p, ''), /empty/],
  ['a folder without models', 'nomodels', (p) => { fs.mkdirSync(p); fs.writeFileSync(path.join(p, 'README.md'), 'x'); }, /no ONNX training artifacts/],
  ['a missing path', 'missing.onnx', () => {}, /no such file/],
];
for (const [name, file, make, re] of badInputs) {
  test(`inspect › ${name} › exit 1 naming the file, no stack`, async (t) => {
    const p = path.join(tmp, file);
    make(p);
    const r = await cli(['inspect', p]);
    t.is(r.code, 1);
    t.true(r.stderr.startsWith(`error: ${p}: `), r.stderr);
    t.regex(r.stderr, re);
    t.regex(r.stderr, /fix: /);
    t.notRegex(r.stderr, STACK_LINE);
    t.is(r.stdout, '');
  });
}

test('inspect › artifacts with a corrupt checkpoint › exit 1 naming the checkpoint', async (t) => {
  const dir = path.join(tmp, 'corrupt-ckpt');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(ARTIFACTS, 'lora-linear-mse', 'training_model.onnx'), path.join(dir, 'training_model.onnx'));
  fs.writeFileSync(path.join(dir, 'checkpoint'), fs.readFileSync(path.join(ARTIFACTS, 'lora-linear-mse', 'checkpoint')).subarray(0, 100));
  const r = await cli(['inspect', dir]);
  t.is(r.code, 1);
  t.regex(r.stderr, new RegExp(`${path.join(dir, 'checkpoint').replace(/[/\\.]/g, '\\$&')}`));
  t.notRegex(r.stderr, STACK_LINE);
});

test('inspect › augmented folder › says so and lists train_step.onnx', async (t) => {
  const dir = path.join(tmp, 'augmented');
  fs.mkdirSync(dir);
  for (const f of ['training_model.onnx', 'eval_model.onnx', 'optimizer_model.onnx', 'checkpoint']) {
    fs.copyFileSync(path.join(ARTIFACTS, 'lora-linear-mse', f), path.join(dir, f));
  }
  fs.copyFileSync(path.join(ARTIFACTS, 'lora-linear-mse', 'eval_model.onnx'), path.join(dir, 'train_step.onnx'));
  fs.writeFileSync(path.join(dir, 'manifest.json'), '{}');
  const { report } = await inspectJson(dir);
  t.true(report.augmented);
  t.is(report.trainStep!.kind, 'train_step');
  t.is(report.trainStep!.parameters!.trainable!.elements, 46);
  t.false((await inspectJson(path.join(ARTIFACTS, 'lora-linear-mse'))).report.augmented);
});

test('fixtures › demo set › is a byte copy of the shared artifacts', (t) => {
  for (const f of ['checkpoint', 'training_model.onnx', 'eval_model.onnx', 'optimizer_model.onnx', 'SOURCE.md']) {
    t.true(fs.readFileSync(path.join(REPO, 'fixtures', 'mnist-mlp-web', f)).equals(fs.readFileSync(path.join(ARTIFACTS, 'mnist-mlp-web', f))), f);
  }
});
