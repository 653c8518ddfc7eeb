/**
 * transformers Trainer `gradient_accumulation_steps = k` on a real augmented artifact set (lora-linear-mse from
 * ../shared/artifacts, read in place): k micro-batches of b rows give the update of one batch of k·b rows, because
 * the loss is a mean and the session averages the k accumulated gradients ('mean'). Checked with plain SGD (where a
 * wrong scale would show directly — Adam's first steps hide it) and with AdamW + global-norm clipping (clipping must
 * see the accumulated gradient).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { augmentFolder } from '../../src/cli/commands/augment.js';
import type { HostTensor } from '../../src/runtime/engine.js';
import { TrainingSession } from '../../src/runtime/node.js';
import { train, type Feeds } from '../../src/runtime/trainer.js';
import { ARTIFACTS } from '../helpers/paths.js';
import { randn, rng } from '../helpers/rng.js';

const SRC = path.join(ARTIFACTS, 'lora-linear-mse');
const have = fs.existsSync(path.join(SRC, 'training_model.onnx'));
if (!have) console.log(`trainer accumulation tests skipped: ${SRC} is missing`);
const realTest = have ? test.serial : test.skip;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-acc-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

const K = 4;
const MICRO = 3;
const STEPS = 3;
// One big batch per update: rows [u·K·MICRO, (u+1)·K·MICRO) of a fixed random dataset.
const r = rng(11);
const ROWS = STEPS * K * MICRO;
const X = randn(r, ROWS * 10);
const Y = randn(r, ROWS * 2);
const rows = (start: number, n: number): Feeds => ({
  input: { type: 'float32', dims: [n, 10], data: X.slice(start * 10, (start + n) * 10) },
  target: { type: 'float32', dims: [n, 2], data: Y.slice(start * 2, (start + n) * 2) },
});

async function paramsAfter(folder: string, k: number, accumulation: 'sum' | 'mean'): Promise<Float32Array> {
  const s = await TrainingSession.create(folder, { executionProviders: ['cpu'], gradientAccumulation: accumulation });
  try {
    const b = ROWS / STEPS / k;
    await train({ session: s, steps: STEPS, gradientAccumulationSteps: k, trainBatches: (i) => rows(i * b, b) });
    assertStep(s.step);
    return (await s.getContiguousParameters()).data as Float32Array;
  } finally {
    await s.release();
  }
}
function assertStep(step: bigint): void {
  if (step !== BigInt(STEPS)) throw new Error(`expected step ${STEPS}, got ${step}`);
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(b[i])));
  return m;
}
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const cases = [
  { name: 'sgd lr 0.02', opts: { optimizer: 'sgd', learningRate: 0.02 } },
  { name: 'adamw_torch + max_grad_norm 0.5 + linear warmup', opts: { optimizer: 'adamw_torch', learningRate: 0.05, weightDecay: 0.01, maxGradNorm: 0.5, lrSchedulerType: 'linear', warmupSteps: 1, numTrainingSteps: 3 } },
] as const;

for (const c of cases) {
  realTest(`train › gradientAccumulationSteps ${K} (${c.name}) › ${K} micro-batches of ${MICRO} == one batch of ${K * MICRO}, within 1e-5`, async (t) => {
    const folder = path.join(tmp, c.name.replace(/\W+/g, '-'));
    await augmentFolder(SRC, { out: folder, ...c.opts });
    const init = await (async () => {
      const s = await TrainingSession.create(folder, { executionProviders: ['cpu'] });
      const p = (await s.getContiguousParameters()).data as Float32Array;
      await s.release();
      return p;
    })();
    const big = await paramsAfter(folder, 1, 'mean');
    const acc = await paramsAfter(folder, K, 'mean');
    t.true(maxAbsDiff(big, init) > 1e-3, 'training moved the parameters');
    const d = maxRelDiff(acc, big);
    t.log(`max relative difference ${d.toExponential(2)}, moved ${maxAbsDiff(big, init).toExponential(2)}`);
    t.true(d < 1e-5, `max relative difference ${d}`);
    if (c.opts.optimizer === 'sgd') {
      // The check is sensitive: summing instead of averaging gives a clearly different result.
      const summed = await paramsAfter(folder, K, 'sum');
      t.true(maxRelDiff(summed, big) > 1e-2, 'sum ≠ mean');
    }
  });
}

realTest('train › k = 1 on the fused train_step and k = 1 on separate graphs › same parameters', async (t) => {
  const folder = path.join(tmp, 'fused-vs-split');
  await augmentFolder(SRC, { out: folder, optimizer: 'adamw', learningRate: 0.01 });
  const run = async (loadFused: boolean) => {
    const s = await TrainingSession.create(folder, { executionProviders: ['cpu'], loadFused });
    await train({ session: s, steps: 4, trainBatches: (i) => rows(i * 6, 6) });
    const p = (await s.getContiguousParameters()) as HostTensor;
    await s.release();
    return p.data as Float32Array;
  };
  const d = maxRelDiff(await run(false), await run(true));
  t.true(d < 1e-5, `max relative difference ${d}`);
});
