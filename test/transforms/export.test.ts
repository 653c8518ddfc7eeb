/**
 * exportInferencePass on the real ORT artifact sets: the exported model (weights baked in, loss branch removed
 * when there is a user output) gives the eval model's outputs for the same parameters.
 */
import test from 'ava';
import * as path from 'node:path';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { classifyTrainingModel, readOrtArtifacts } from '../../src/transforms/artifacts.js';
import { exportInferencePass } from '../../src/transforms/export.js';
import { OnnxTrainError } from '../../src/errors.js';
import { runModel, ort } from '../helpers/ort.js';
import { SETS, batchFor, haveSet, maxScaledDiff, setDir, tensorFromBytes } from '../helpers/artifact-sets.js';

for (const set of SETS.filter((s) => s.hasCheckpoint)) {
  test(`export › ${set.name} › exported model output == eval output with the checkpoint's parameters`, async (t) => {
    if (!haveSet(set.name)) return t.pass(`skipped: ${set.name} not in ../shared/artifacts`);
    const a = readOrtArtifacts(setDir(set.name));
    const ckpt = await readCheckpoint(a.paths.checkpoint!);
    const tensors = [...ckpt.trainable, ...ckpt.frozen];
    const iface = classifyTrainingModel(a.training, new Set(tensors.map((x) => x.name)));
    const r = exportInferencePass(a.eval!, tensors, { lossOutput: iface.lossOutput, parameters: iface.parameters.map((p) => p.name) });
    t.is(r.baked.length, tensors.length);
    const user = batchFor(set, iface.userInputs);
    const evalFeeds: Record<string, ort.Tensor> = { ...user };
    for (const x of tensors) evalFeeds[x.name] = tensorFromBytes(x);
    const ref = await runModel(a.eval!, evalFeeds);
    const feeds = Object.fromEntries(r.inputs.map((n) => [n, user[n]]));
    const got = await runModel(r.model, feeds);
    t.deepEqual(Object.keys(got).sort(), [...r.outputs].sort());
    for (const o of r.outputs) {
      t.true(maxScaledDiff(got[o].data as Float32Array, ref[o].data as Float32Array) <= 1e-6, `output ${o}`);
    }
    if (iface.userOutputs.length) {
      t.false(r.keptLoss);
      t.false(r.outputs.includes(iface.lossOutput), 'loss branch removed');
      t.false(r.inputs.some((n) => n === 'labels' || n === 'target'), 'label input dropped');
    } else {
      t.true(r.keptLoss, 'no other output: the loss is kept');
    }
  });
}

test('export › seizureguard-cnn1d › an untyped internal value (the logits) can be picked as the output', async (t) => {
  if (!haveSet('seizureguard-cnn1d')) return t.pass('skipped');
  const a = readOrtArtifacts(setDir('seizureguard-cnn1d'));
  const ckpt = await readCheckpoint(a.paths.checkpoint!);
  const tensors = [...ckpt.trainable, ...ckpt.frozen];
  const sce = a.eval!.graph.nodes.find((n) => n.opType === 'SoftmaxCrossEntropyLoss')!;
  const logits = sce.inputs[0];
  const r = exportInferencePass(a.eval!, tensors, { outputs: [logits] });
  t.deepEqual(r.inputs, ['input']);
  const set = SETS.find((s) => s.name === 'seizureguard-cnn1d')!;
  const iface = classifyTrainingModel(a.training, new Set(tensors.map((x) => x.name)));
  const user = batchFor(set, iface.userInputs);
  const got = await runModel(r.model, { input: user.input });
  t.deepEqual(got[logits].dims, [set.batch, 2]);
});

test('export › parameter with the wrong shape › SHAPE_MISMATCH naming it, nothing exported', async (t) => {
  if (!haveSet('mnist-mlp-web')) return t.pass('skipped');
  const a = readOrtArtifacts(setDir('mnist-mlp-web'));
  const ckpt = await readCheckpoint(path.join(setDir('mnist-mlp-web'), 'checkpoint'));
  const bad = ckpt.trainable.map((x) => (x.name === 'fc2.bias' ? { ...x, dims: [5], data: x.data.slice(0, 20) } : x));
  const e = t.throws(() => exportInferencePass(a.eval!, bad, { parameters: ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'] }));
  t.true(e instanceof OnnxTrainError && e.code === 'SHAPE_MISMATCH');
  t.regex(e!.message, /fc2\.bias/);
});

test('export › a parameter missing from the checkpoint › error naming it', async (t) => {
  if (!haveSet('mnist-mlp-web')) return t.pass('skipped');
  const a = readOrtArtifacts(setDir('mnist-mlp-web'));
  const ckpt = await readCheckpoint(path.join(setDir('mnist-mlp-web'), 'checkpoint'));
  const partial = ckpt.trainable.filter((x) => x.name !== 'fc1.weight');
  const e = t.throws(() => exportInferencePass(a.eval!, partial, { parameters: ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'] }));
  t.regex(e!.message, /no value for parameter "fc1\.weight"/);
});
