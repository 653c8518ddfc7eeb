/**
 * The augment, lower and export subcommands end to end through runCli: exit codes, what they print, and the
 * round trip augment → train (fused steps) → save checkpoint → export → same outputs as the eval model.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/command.js';
import { readCheckpoint, writeCheckpoint } from '../../src/checkpoint/io.js';
import { parseManifest } from '../../src/transforms/manifest.js';
import { readModel } from '../../src/onnx/io.js';
import { Model } from '../../src/ir/graph.js';
import { loadModel, ort } from '../helpers/ort.js';
import { SETS, batchFor, haveSet, maxScaledDiff, rmTemp, setDir, tempDir, tensorFromBytes } from '../helpers/artifact-sets.js';

const TMP = tempDir('onnx-train-cli-augment-');
test.after.always(() => rmTemp(TMP));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await runCli(argv, { io });
  return { code, out, err };
}

test('cli augment › lora-linear-mse › exit 0, writes the folder, --json prints the manifest', async (t) => {
  if (!haveSet('lora-linear-mse')) return t.pass('skipped');
  const out = path.join(TMP, 'lora');
  const r = await cli('augment', setDir('lora-linear-mse'), '--out', out, '--optimizer', 'adamw', '--learning-rate', '0.01',
    '--lr-scheduler-type', 'linear', '--warmup-steps', '1', '--num-training-steps', '20', '--max-grad-norm', '1', '--json');
  t.is(r.code, 0, r.err);
  const m = parseManifest(JSON.parse(r.out));
  t.is(m.optimizer.spec.type, 'adamw');
  t.is(m.optimizer.lr, 0.01);
  t.like(m.optimizer.schedule, { type: 'linear', num_warmup_steps: 1, num_training_steps: 20 });
  t.true(fs.existsSync(path.join(out, 'train_step.onnx')));
  const again = await cli('augment', setDir('lora-linear-mse'), '--out', out);
  t.is(again.code, 1);
  t.regex(again.err, /already exists/);
});

test('cli augment › bad flags › exit 1 with the flag named, nothing written', async (t) => {
  if (!haveSet('lora-linear-mse')) return t.pass('skipped');
  const out = path.join(TMP, 'bad');
  const r1 = await cli('augment', setDir('lora-linear-mse'), '--out', out, '--learning-rate', 'fast');
  t.is(r1.code, 1);
  t.regex(r1.err, /--learning-rate/);
  const r2 = await cli('augment', setDir('lora-linear-mse'), '--out', out, '--lr-scheduler-type', 'cosine');
  t.is(r2.code, 1);
  t.regex(r2.err, /num_warmup_steps|num_training_steps/);
  const r3 = await cli('augment', setDir('lora-linear-mse'));
  t.is(r3.code, 1);
  t.regex(r3.err, /--out/);
  t.false(fs.existsSync(out));
});

test('cli lower › training model › exit 0, lowered file loads in onnxruntime-node', async (t) => {
  if (!haveSet('mnist-mlp-web')) return t.pass('skipped');
  const out = path.join(TMP, 'mnist-lowered.onnx');
  const r = await cli('lower', path.join(setDir('mnist-mlp-web'), 'training_model.onnx'), '--out', out, '--json');
  t.is(r.code, 0, r.err);
  const rep = JSON.parse(r.out);
  t.is(rep.lowered['com.microsoft::InPlaceAccumulatorV2'], 4);
  const s = await loadModel(new Uint8Array(fs.readFileSync(out)));
  t.true(s.outputNames.includes('fc1.weight_grad.accumulation.buffer.out'));
  await s.release();
  const none = path.join(TMP, 'mnist-lowered-none.onnx');
  t.is((await cli('lower', path.join(setDir('mnist-mlp-web'), 'training_model.onnx'), '--out', none, '--accumulation', 'none', '--no-flags')).code, 0);
  const g = Model.fromProto(readModel(none)).graph;
  t.deepEqual(g.outputs.map((o) => o.name), ['onnx::loss::8', 'output', 'fc1.weight_grad', 'fc1.bias_grad', 'fc2.weight_grad', 'fc2.bias_grad']);
});

test('cli lower › an optimizer model (AdamWOptimizer has no lowering rule) › exit 1 naming the op', async (t) => {
  if (!haveSet('mnist-mlp-web')) return t.pass('skipped');
  const out = path.join(TMP, 'opt-lowered.onnx');
  const r = await cli('lower', path.join(setDir('mnist-mlp-web'), 'optimizer_model.onnx'), '--out', out);
  t.is(r.code, 1);
  t.regex(r.err, /AdamWOptimizer/);
  t.false(fs.existsSync(out));
});

test('cli export › augment → 3 fused steps → save → export: exported output == eval output with the trained weights', async (t) => {
  const set = SETS.find((s) => s.name === 'mnist-mlp-web')!;
  if (!haveSet(set.name)) return t.pass('skipped');
  const dir = path.join(TMP, 'mnist');
  t.is((await cli('augment', setDir(set.name), '--out', dir)).code, 0);
  const m = parseManifest(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
  const ckpt = await readCheckpoint(path.join(dir, 'checkpoint'));
  // train a little with the fused step
  const ts = await loadModel(new Uint8Array(fs.readFileSync(path.join(dir, 'train_step.onnx'))));
  const params: Record<string, ort.Tensor> = {};
  for (const x of [...ckpt.trainable, ...ckpt.frozen]) params[x.name] = tensorFromBytes(x);
  let state: Record<string, ort.Tensor> = {};
  for (const s of m.optimizer.state) state[s.input] = new ort.Tensor('float32', new Float32Array(s.shape.reduce((a, d) => a * d, 1)), [...s.shape]);
  const user = batchFor(set, m.inputs, 2);
  for (let k = 1; k <= 3; k++) {
    const r = await ts.run({ ...user, ...params, ...state, step: new ort.Tensor('int64', BigInt64Array.from([BigInt(k)]), [1]), lr: new ort.Tensor('float32', Float32Array.from([0.01]), [1]) });
    for (const [p, o] of Object.entries(m.trainStep!.paramOutputs)) params[p] = r[o];
    state = Object.fromEntries(Object.entries(m.trainStep!.stateOutputs).map(([i, o]) => [i, r[o]]));
  }
  await ts.release();
  const trained = path.join(TMP, 'mnist-trained.ckpt');
  const bytesOf = (x: ort.Tensor) => { const d = x.data as Float32Array; return new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice(); };
  await writeCheckpoint(trained, { ...ckpt, trainable: ckpt.trainable.map((x) => ({ ...x, data: bytesOf(params[x.name]) })) });

  const out = path.join(TMP, 'mnist-infer.onnx');
  const r = await cli('export', dir, '--checkpoint', trained, '--out', out);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /outputs output/);
  const exported = await loadModel(new Uint8Array(fs.readFileSync(out)));
  t.deepEqual(exported.inputNames, ['input']);
  const probe = batchFor(set, m.inputs, 9);
  const got = (await exported.run({ input: probe.input })).output;
  await exported.release();
  const evalModel = await loadModel(new Uint8Array(fs.readFileSync(path.join(dir, 'eval_model.onnx'))));
  const ref = (await evalModel.run({ ...probe, ...params })).output;
  await evalModel.release();
  t.true(maxScaledDiff(got.data as Float32Array, ref.data as Float32Array) <= 1e-6);
  // the weights really are the trained ones (not the original checkpoint's)
  t.true(maxScaledDiff(params['fc1.weight'].data as Float32Array, tensorFromBytes(ckpt.trainable[0]).data as Float32Array) > 0);
});

test('cli export › ORT folder whose eval model has only the loss › keeps the loss and says so', async (t) => {
  if (!haveSet('seizureguard-cnn1d')) return t.pass('skipped');
  const out = path.join(TMP, 'seizure.onnx');
  const r = await cli('export', setDir('seizureguard-cnn1d'), '--out', out);
  t.is(r.code, 0, r.err);
  t.regex(r.out, /loss was kept/);
  const s = await loadModel(new Uint8Array(fs.readFileSync(out)));
  t.deepEqual([...s.inputNames].sort(), ['input', 'labels']);
  await s.release();
  const missing = await cli('export', setDir('seizureguard-cnn1d'));
  t.is(missing.code, 1);
  t.regex(missing.err, /--out/);
});
