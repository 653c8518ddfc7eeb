/**
 * The TrainingSession runtime on real ORT artifacts: the ORT-compatible API (original artifacts lowered on the
 * fly), resume exactness, checkpoint mismatch reporting, the NaN/Inf policy, cpu vs wasm agreement.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TrainingSession, augmentInMemory, loadArtifactsFolder } from '../../src/runtime/node.js';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import type { HostTensor } from '../../src/runtime/engine.js';
import { batchFor, haveSet, rmTemp, setDir, SETS, tempDir } from '../helpers/artifact-sets.js';

const LORA = SETS.find((s) => s.name === 'lora-linear-mse')!;
const MNIST_DIR = path.resolve('fixtures/mnist-mlp-web');

function ortOptions(dir: string) {
  return {
    checkpointState: path.join(dir, 'checkpoint'),
    trainModel: path.join(dir, 'training_model.onnx'),
    evalModel: path.join(dir, 'eval_model.onnx'),
    optimizerModel: path.join(dir, 'optimizer_model.onnx'),
  };
}

const feedsOf = (b: Record<string, { type: string; dims: readonly number[]; data: unknown }>) => b as unknown as Record<string, HostTensor>;
const bits = (t: HostTensor) => Buffer.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).toString('base64');

test('TrainingSession › ORT-compatible create on original mnist artifacts › loss falls, names as ORT', async (t) => {
  const s = await TrainingSession.create(ortOptions(MNIST_DIR), { executionProviders: ['cpu'] });
  t.deepEqual([...s.trainingInputNames], ['input', 'labels']);
  t.is(s.trainingOutputNames[0], 'onnx::loss::8');
  t.true(s.evalOutputNames.includes('onnx::loss::8'));
  t.is(await s.getParametersSize(true), 397510);
  const batch = feedsOf(batchFor(SETS[0], s.manifest.inputs, 3));
  const first = Number((await s.runEvalStep(batch))['onnx::loss::8'].data[0]);
  for (let i = 0; i < 15; i++) {
    await s.runTrainStep(batch);
    await s.runOptimizerStep();
    await s.lazyResetGrad();
  }
  const last = Number((await s.runEvalStep(batch))['onnx::loss::8'].data[0]);
  t.true(last < first * 0.8, `${first} -> ${last}`);
  t.is(s.step, 15n);
  await s.release();
});

test('TrainingSession › contiguous parameters and gradients › round trip exactly', async (t) => {
  const s = await TrainingSession.create(ortOptions(MNIST_DIR), { executionProviders: ['cpu'] });
  const p = await s.getContiguousParameters(true);
  t.is(p.data.length, 397510);
  const changed = (p.data as Float32Array).map((x) => x * 0.5);
  await s.loadParametersBuffer(new Uint8Array(changed.buffer), true);
  t.deepEqual(Array.from((await s.getContiguousParameters(true)).data.slice(0, 5) as Float32Array), Array.from(changed.slice(0, 5)));
  const err = await t.throwsAsync(s.loadParametersBuffer(new Uint8Array(12), true));
  t.regex(err!.message, /need 1590040/);
  await s.runTrainStep(feedsOf(batchFor(SETS[0], s.manifest.inputs, 1)));
  const g = await s.getContiguousGradients();
  t.true((g.data as Float32Array).some((x) => x !== 0));
  await s.setContiguousGradients(new Float32Array(g.data.length));
  await s.runOptimizerStep(); // zero gradients with zero moments: AdamW leaves params unchanged (wd 0)
  t.deepEqual(Array.from((await s.getContiguousParameters(true)).data.slice(0, 5) as Float32Array), Array.from(changed.slice(0, 5)));
  await s.release();
});

for (const fused of [false, true]) {
  test(`TrainingSession › resume (${fused ? 'fused' : 'train+optimizer'}) › k steps == j + save/load + (k-j), bit-identical`, async (t) => {
    if (!haveSet(LORA.name)) return t.fail('../shared/artifacts/lora-linear-mse is missing');
    const dir = tempDir('ot-resume-');
    try {
      const ckpt = await readCheckpoint(path.join(setDir(LORA.name), 'checkpoint'));
      const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(setDir(LORA.name), f)));
      const bundle = await augmentInMemory({ training: read('training_model.onnx'), eval: read('eval_model.onnx'), optimizer: read('optimizer_model.onnx'), checkpoint: ckpt }, { optimizer: 'adamw_torch' as never, weightDecay: 0.01 } as never);
      const batches = [1, 2, 3, 4, 5, 6].map((k) => feedsOf(batchFor(LORA, bundle.manifest.inputs, k)));
      const step = async (s: TrainingSession, b: Record<string, HostTensor>) => {
        if (fused) return s.trainStep(b);
        await s.runTrainStep(b); await s.runOptimizerStep(); await s.lazyResetGrad();
      };
      const straight = await TrainingSession.fromBundleNode(bundle);
      straight.setLearningRate(0.01);
      for (const b of batches) await step(straight, b);
      const first = await TrainingSession.fromBundleNode(bundle);
      first.setLearningRate(0.01);
      for (const b of batches.slice(0, 3)) await step(first, b);
      const file = path.join(dir, 'ckpt');
      await first.saveCheckpoint(file);
      await first.release();
      const resumed = await TrainingSession.fromBundleNode({ ...bundle, checkpoint: await readCheckpoint(file) });
      t.is(resumed.step, 3n);
      t.is(resumed.getLearningRate(), Math.fround(0.01));
      resumed.setLearningRate(0.01);
      for (const b of batches.slice(3)) await step(resumed, b);
      for (const p of bundle.manifest.parameters) t.is(bits(resumed.getParameter(p.name)), bits(straight.getParameter(p.name)), p.name);
      for (const st of bundle.manifest.optimizer.state) t.is(bits(resumed.getOptimizerState(st.param, st.slot)), bits(straight.getOptimizerState(st.param, st.slot)), st.input);
      t.is(resumed.step, 6n);
      await Promise.all([straight.release(), resumed.release()]);
    } finally {
      rmTemp(dir);
    }
  });
}

test('TrainingSession › mismatching checkpoint › names every bad tensor, creates nothing', async (t) => {
  const ckpt = await readCheckpoint(path.join(MNIST_DIR, 'checkpoint'));
  const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(MNIST_DIR, f)));
  const bundle = await augmentInMemory({ training: read('training_model.onnx'), eval: read('eval_model.onnx'), optimizer: read('optimizer_model.onnx'), checkpoint: ckpt });
  const bad = structuredClone(bundle.checkpoint);
  bad.trainable = bad.trainable.filter((x) => x.name !== 'fc2.bias');
  bad.trainable[0] = { ...bad.trainable[0], dims: [784, 500] };
  bad.trainable.push({ name: 'extra', dataType: 1, dims: [1], data: new Uint8Array(4) });
  const err = await t.throwsAsync(TrainingSession.fromBundleNode({ ...bundle, checkpoint: bad }));
  t.regex(err!.message, /missing parameter "fc2\.bias"/);
  t.regex(err!.message, /"fc1\.weight": checkpoint shape \[784,500\]/);
  t.regex(err!.message, /"extra", which the model does not use/);
});

test('TrainingSession › NaN gradients › error by default, skip counts and keeps the params', async (t) => {
  const ckpt = await readCheckpoint(path.join(MNIST_DIR, 'checkpoint'));
  const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(MNIST_DIR, f)));
  const bundle = await augmentInMemory({ training: read('training_model.onnx'), eval: read('eval_model.onnx'), optimizer: read('optimizer_model.onnx'), checkpoint: ckpt });
  const batch = feedsOf(batchFor(SETS[0], bundle.manifest.inputs, 1));
  (batch.input.data as Float32Array)[0] = NaN;
  const strict = await TrainingSession.fromBundleNode(bundle);
  await strict.runTrainStep(batch);
  const err = await t.throwsAsync(strict.runOptimizerStep());
  t.regex(err!.message, /NaN or infinite/);
  const lenient = await TrainingSession.fromBundleNode(bundle, { nonFinite: 'skip' });
  const before = lenient.getParameter('fc1.weight');
  await lenient.trainStep(batch);
  await lenient.runTrainStep(batch);
  await lenient.runOptimizerStep();
  t.is(lenient.skippedUpdates, 2);
  t.is(lenient.step, 0n);
  t.is(bits(lenient.getParameter('fc1.weight')), bits(before));
  await Promise.all([strict.release(), lenient.release()]);
});

test('TrainingSession › cpu vs wasm › same training trajectory within conformance tolerance', async (t) => {
  const ckpt = await readCheckpoint(path.join(MNIST_DIR, 'checkpoint'));
  const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(MNIST_DIR, f)));
  const bundle = await augmentInMemory({ training: read('training_model.onnx'), eval: read('eval_model.onnx'), optimizer: read('optimizer_model.onnx'), checkpoint: ckpt });
  const losses: number[][] = [];
  const finals: Float32Array[] = [];
  for (const ep of ['cpu', 'wasm'] as const) {
    const s = await TrainingSession.fromBundleNode(bundle, { executionProviders: [ep] });
    const l: number[] = [];
    for (let k = 0; k < 5; k++) l.push(Number((await s.trainStep(feedsOf(batchFor(SETS[0], bundle.manifest.inputs, k))))['onnx::loss::8'].data[0]));
    losses.push(l);
    finals.push(s.getParameter('fc2.bias').data as Float32Array);
    await s.release();
  }
  for (let k = 0; k < 5; k++) t.true(Math.abs(losses[0][k] - losses[1][k]) <= 1e-4 * Math.abs(losses[0][k]), `step ${k}: ${losses[0][k]} vs ${losses[1][k]}`);
  for (let i = 0; i < finals[0].length; i++) t.true(Math.abs(finals[0][i] - finals[1][i]) <= 1e-5 + 1e-3 * Math.abs(finals[0][i]));
});

test('TrainingSession › augmented folder › create(folder) and saveCheckpoint as safetensors', async (t) => {
  const dir = tempDir('ot-folder-');
  try {
    const { augment } = await import('../../src/transforms/augment.js');
    const { nodeAugmentEnv } = await import('../../src/cli/commands/augment.js');
    await augment(MNIST_DIR, { out: path.join(dir, 'aug') } as never, nodeAugmentEnv());
    const s = await TrainingSession.create(path.join(dir, 'aug'));
    await s.trainStep(feedsOf(batchFor(SETS[0], s.manifest.inputs, 1)));
    await s.saveCheckpoint(path.join(dir, 'c.safetensors'));
    const back = await loadArtifactsFolder(path.join(dir, 'aug'), path.join(dir, 'c.safetensors'));
    t.is(back.checkpoint.format, 'safetensors');
    t.is(back.checkpoint.optimizer?.groups[0].step, 1n);
    await s.release();
  } finally {
    rmTemp(dir);
  }
});

test('TrainingSession › fused steps with double-buffered outputs › same trajectory as train+optimizer runs', async (t) => {
  const ckpt = await readCheckpoint(path.join(MNIST_DIR, 'checkpoint'));
  const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(MNIST_DIR, f)));
  const bundle = await augmentInMemory({ training: read('training_model.onnx'), eval: read('eval_model.onnx'), optimizer: read('optimizer_model.onnx'), checkpoint: ckpt });
  const fused = await TrainingSession.fromBundleNode(bundle);
  const split = await TrainingSession.fromBundleNode(bundle);
  for (let k = 0; k < 6; k++) {
    const b = feedsOf(batchFor(SETS[0], bundle.manifest.inputs, k));
    await fused.trainStep(b, ['onnx::loss::8']);
    await split.runTrainStep(b); await split.runOptimizerStep(); await split.lazyResetGrad();
  }
  for (const p of bundle.manifest.parameters) {
    const a = fused.getParameter(p.name).data as Float32Array, c = split.getParameter(p.name).data as Float32Array;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - c[i]) / (1e-6 + Math.abs(c[i])));
    t.true(worst < 1e-4, `${p.name}: ${worst}`);
  }
  t.is(fused.step, 6n);
  await Promise.all([fused.release(), split.release()]);
});
