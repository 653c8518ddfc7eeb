/**
 * The web demo (web/) in headless Chromium: Debian's chromium driven by playwright-core, WebGPU from SwiftShader,
 * the built page served with COOP/COEP by tools/web/serve.ts. On WebGPU and on wasm the page trains the MNIST MLP
 * through TrainingSession; the checks:
 * - the training loss goes down and the held-out accuracy reaches 85 %;
 * - WebGPU: ORT's own placement report (its verbose log, read from the browser console here, independently of the
 *   page's parser) puts every node of every model on WebGpuExecutionProvider;
 * - WebGPU: a training step copies only the loss back to the host, feeds every parameter and moment from a GPU
 *   buffer, and device memory stays at two generations of state (no leak);
 * - a digit drawn with the mouse is classified, and a screenshot of the page is saved to test/web/artifacts/;
 * - the exported model and checkpoint load in onnxruntime-node / the ODTC reader and agree with the page.
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium). Builds web/dist first when it is stale (tools/web/build.ts).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeOdtc } from '../../src/checkpoint/odtc.js';
import { onnxType } from '../../src/onnx/schema.js';
import type { ModelProto } from '../../src/onnx/types.js';
import { loadMnist } from '../../src/runtime/data/mnist.js';
import { chromiumProblem, launchBrowser, type Browser } from '../../tools/web/browser.js';
import { buildWeb } from '../../tools/web/build.js';
import { serveStatic, type StaticServer } from '../../tools/web/serve.js';

const ARTIFACTS = path.resolve('test', 'web', 'artifacts');
/**
 * Short runs: the machine has 2 cores and a software GPU (SwiftShader: about 1 s per step). Training is deterministic
 * (fixed initial weights and batch order); 100 steps reach about 89 % on both EPs.
 */
const STEPS = 100;
const BATCH = 64;

let server: StaticServer | undefined;
const exported: Record<string, { model: string; checkpoint: string; probs: number[][]; steps: number }> = {};

test.before(async (t) => {
  const problem = chromiumProblem();
  if (problem) throw new Error(problem);
  const b = await buildWeb({ log: (s) => t.log(s) });
  if (b.built) t.log(`built the page in ${(b.ms / 1000).toFixed(0)} s`);
  server = await serveStatic();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

test.after.always(async () => {
  await server?.close();
});

interface PageTrain {
  train: { losses: number[]; samplesPerSec: number; steps: number };
  eval: { accuracy: number; loss: number; count: number };
}

type Api = Record<string, (...a: never[]) => Promise<unknown>> & { ready: Promise<void>; state: { ep: string; fallback?: string } };

async function openPage(ep: 'webgpu' | 'wasm'): Promise<Browser> {
  const b = await launchBrowser();
  await b.page.goto(`${server!.url}?ep=${ep}`);
  await b.page.evaluate(() => (window as unknown as { onnxTrain: Api }).onnxTrain.ready);
  return b;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** ORT's "Node placements" reports in the console: one entry per session, [ep, count, nodes listed]. */
function placementReports(lines: readonly string[]): { ep: string; count: number }[][] {
  const reports: { ep: string; count: number }[][] = [];
  for (const l of lines) {
    if (/VerifyEachNodeIsAssignedToAnEp\] Node placements/.test(l)) reports.push([]);
    const m = /(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(l);
    if (m && reports.length) reports[reports.length - 1].push({ ep: m[1], count: Number(m[2]) });
  }
  return reports;
}

async function trainAndCheck(t: import('ava').ExecutionContext, ep: 'webgpu' | 'wasm'): Promise<Browser> {
  const b = await openPage(ep);
  const st = await b.page.evaluate(() => (window as unknown as { onnxTrain: Api }).onnxTrain.state);
  t.is(st.ep, ep, `the page runs on ${ep}${st.fallback ? ` (fell back: ${st.fallback})` : ''}`);
  const t0 = Date.now();
  const r = await b.page.evaluate(([s, bs]) => (window as unknown as { onnxTrain: { train(s: number, b: number): Promise<PageTrain> } }).onnxTrain.train(s, bs), [STEPS, BATCH] as const);
  const first = mean(r.train.losses.slice(0, 10));
  const last = mean(r.train.losses.slice(-10));
  t.log(`${ep}: ${r.train.steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s (${r.train.samplesPerSec.toFixed(0)} samples/s); loss ${first.toFixed(3)} -> ${last.toFixed(3)}; test accuracy ${(r.eval.accuracy * 100).toFixed(1)} % on ${r.eval.count}`);
  t.is(r.train.steps, STEPS);
  t.true(r.train.losses.every(Number.isFinite), 'every loss is finite');
  t.true(first > 1.5, `the initial loss is near ln 10 (${first})`);
  t.true(last < 0.6 * first, `the loss goes down: mean of the first 10 steps ${first.toFixed(3)}, of the last 10 ${last.toFixed(3)}`);
  t.true(r.eval.count > 1000, 'evaluated on the held-out split');
  t.true(r.eval.accuracy >= 0.85, `held-out accuracy ${(r.eval.accuracy * 100).toFixed(1)} % >= 85 %`);
  return b;
}

async function exportFromPage(b: Browser, ep: string, steps: number): Promise<void> {
  const e = await b.page.evaluate(() => (window as unknown as { onnxTrain: { exportBase64(): Promise<{ model: string; checkpoint: string }> } }).onnxTrain.exportBase64());
  const probs = await b.page.evaluate(() => (window as unknown as { onnxTrain: { predictTest(f: number, n: number): Promise<number[][]> } }).onnxTrain.predictTest(0, 32));
  exported[ep] = { ...e, probs, steps };
}

test.serial('web › webgpu › trains to 85 % with every node on the WebGPU EP and the state on the GPU', async (t) => {
  const b = await trainAndCheck(t, 'webgpu');
  try {
    // ORT's placement report, straight from its log lines in the console.
    const reports = placementReports(b.console);
    t.is(reports.length, 4, 'one placement report per model (training, optimizer, eval, train_step)');
    for (const r of reports) {
      t.deepEqual(r.map((x) => x.ep), ['WebGpuExecutionProvider'], `every node on WebGPU: ${JSON.stringify(r)}`);
    }
    t.false(b.console.some((l) => /placed on \[CPUExecutionProvider\]|Candidate for fallback CPU execution/.test(l)), 'no CPU fallback in the log');
    const pagePlacements = await b.page.evaluate(() => (window as unknown as { onnxTrain: { placements(): Record<string, { ep: string; count: number }[]> } }).onnxTrain.placements());
    t.deepEqual(Object.keys(pagePlacements).sort(), ['eval_model.onnx', 'optimizer_model.onnx', 'train_step.onnx', 'training_model.onnx']);
    t.true(pagePlacements['train_step.onnx'][0].count > 50, 'the fused step is the big graph');

    // State stays on the GPU: a step uploads the batch (and the step counter / lr), downloads only the loss.
    type Step = { uploads: Record<string, number>; downloads: Record<string, number>; deviceFeeds: string[]; deviceBytes: number };
    const steps: Step[] = [];
    for (let i = 0; i < 3; i++) steps.push(await b.page.evaluate(() => (window as unknown as { onnxTrain: { step(): Promise<Step> } }).onnxTrain.step()));
    const manifest = JSON.parse(fs.readFileSync(path.resolve('web', 'public', 'artifacts', 'mnist-mlp', 'manifest.json'), 'utf8'));
    const stateNames = [...manifest.parameters.map((p: { name: string }) => p.name), ...manifest.optimizer.state.map((s: { input: string }) => s.input)];
    const stateBytes = [...manifest.parameters, ...manifest.optimizer.state].reduce((a: number, p: { shape: number[] }) => a + 4 * p.shape.reduce((x, y) => x * y, 1), 0);
    for (const s of steps) {
      t.deepEqual(s.downloads, { [manifest.lossOutput]: 4 }, 'only the loss (one float32) comes back');
      t.deepEqual(Object.keys(s.uploads).sort(), ['input', 'labels', 'lr', 'step'], 'only the batch, the step and the lr go up');
      t.deepEqual([...s.deviceFeeds].sort(), [...stateNames].sort(), 'every parameter and moment is fed from a GPU buffer');
      t.true(s.deviceBytes <= 2 * stateBytes, `device memory holds at most two generations of state (${s.deviceBytes} <= 2 x ${stateBytes})`);
    }

    // Draw a "1" with the mouse; the page classifies it.
    const pad = (await b.page.locator('#pad').boundingBox())!;
    await b.page.click('#clear');
    await b.page.mouse.move(pad.x + pad.width * 0.52, pad.y + pad.height * 0.15);
    await b.page.mouse.down();
    for (let k = 1; k <= 12; k++) await b.page.mouse.move(pad.x + pad.width * (0.52 - 0.01 * k / 12), pad.y + pad.height * (0.15 + 0.7 * k / 12));
    await b.page.mouse.up();
    await b.page.waitForFunction(() => document.getElementById('pred')?.textContent !== '–');
    t.is(await b.page.textContent('#pred'), '1', 'a drawn vertical stroke reads as 1');

    await exportFromPage(b, 'webgpu', STEPS + steps.length);
    await b.page.click('#sample');
    await b.page.waitForTimeout(300);
    const shot = path.join(ARTIFACTS, 'webgpu-after-training.png');
    await b.page.screenshot({ path: shot, fullPage: true });
    t.true(fs.statSync(shot).size > 10_000, `screenshot saved: ${shot}`);
  } finally {
    fs.writeFileSync(path.join(ARTIFACTS, 'webgpu-console.log'), b.console.join('\n'));
    await b.close();
  }
});

test.serial('web › wasm › trains to 85 % on the WebAssembly EP', async (t) => {
  const b = await trainAndCheck(t, 'wasm');
  try {
    const reports = placementReports(b.console);
    t.is(reports.length, 4);
    await exportFromPage(b, 'wasm', STEPS);
    await b.page.screenshot({ path: path.join(ARTIFACTS, 'wasm-after-training.png'), fullPage: true });
  } finally {
    await b.close();
  }
});

test.serial('web › export › the model and checkpoint from the page load outside the browser and agree with it', async (t) => {
  const eps = Object.keys(exported);
  t.true(eps.length > 0, 'a training test exported');
  const { test: digits } = loadMnist();
  for (const ep of eps) {
    const e = exported[ep];
    const model = Buffer.from(e.model, 'base64');
    const ckpt = decodeOdtc(new Uint8Array(Buffer.from(e.checkpoint, 'base64')));
    t.is(ckpt.optimizer?.groups[0].step, BigInt(e.steps), `${ep}: the checkpoint holds the step count`);
    t.deepEqual(ckpt.trainable.map((p) => p.name).sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
    t.is(ckpt.optimizer?.groups[0].params.length, 4, `${ep}: AdamW moments are in the checkpoint`);
    // The exported model's weights are the checkpoint's.
    const proto = onnxType('ModelProto').decode(model) as unknown as ModelProto;
    for (const p of ckpt.trainable) {
      const init = proto.graph!.initializer!.find((i) => i.name === p.name)!;
      t.true(Buffer.from(init.raw_data!).equals(Buffer.from(p.data)), `${ep}: ${p.name} in the model equals the checkpoint`);
    }
    // onnxruntime-node runs it: same predictions as the page's eval session on the same digits.
    const s = await ort.InferenceSession.create(model);
    try {
      t.deepEqual(s.inputNames, ['input'], 'the exported model takes only the image (labels pruned)');
      const x = new ort.Tensor('float32', digits.images.slice(0, 32 * 784), [32, 784]);
      const out = await s.run({ input: x });
      const logits = out[s.outputNames[0]].data as Float32Array;
      let same = 0;
      let maxDiff = 0;
      for (let i = 0; i < 32; i++) {
        const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
        const m = Math.max(...row);
        const ex = row.map((v) => Math.exp(v - m));
        const z = ex.reduce((a, b) => a + b, 0);
        const probs = ex.map((v) => v / z);
        const arg = probs.indexOf(Math.max(...probs));
        if (arg === e.probs[i].indexOf(Math.max(...e.probs[i]))) same++;
        for (let c = 0; c < 10; c++) maxDiff = Math.max(maxDiff, Math.abs(probs[c] - e.probs[i][c]));
      }
      t.is(same, 32, `${ep}: onnxruntime-node and the page predict the same classes`);
      t.true(maxDiff < 1e-3, `${ep}: probabilities agree within 1e-3 (max diff ${maxDiff})`);
    } finally {
      await s.release();
    }
  }
});
