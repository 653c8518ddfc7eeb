/**
 * The demo page: train the MNIST MLP with onnx-train's TrainingSession on onnxruntime-web (WebGPU by default,
 * wasm as fallback or by choice), watch the loss, draw digits, export the model and checkpoint, and compare with
 * TensorFlow.js. Everything the UI does is also on `window.onnxTrain` (what test/web drives).
 */
import type { NodePlacement } from '../../src/runtime/adapters/web-gpu-state.js';
import { LossChart } from './chart.js';
import { DrawPad } from './draw.js';
import { download, exportAll } from './export.js';
import { loadMnist, type Mnist } from './mnist.js';
import { createTrainer, fetchBundle, loadOrt, webgpuAvailable, type Trainer, type WebDeviceEp } from './runtime.js';
import { loadTf, trainTf, type MlpWeights } from './tfjs-mlp.js';
import { argmax, evaluate, predict, train, type EvalResult, type TrainResult } from './train.js';

const ASSETS = new URL('./', location.href).href;
const ARTIFACTS = `${ASSETS}artifacts/mnist-mlp/`;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface BenchRow {
  runtime: 'onnx-train' | 'tfjs';
  backend: WebDeviceEp;
  /** Best round. */
  samplesPerSec: number;
  median: number;
  rounds: number[];
  firstLoss: number;
  lastLoss: number;
  steps: number;
  batch: number;
}

interface PageState {
  ep: WebDeviceEp;
  /** Why the page is not on the backend the URL asked for (no WebGPU adapter). */
  fallback?: string;
  step: number;
  losses: number[];
  lastEval?: EvalResult;
  lastTrain?: TrainResult;
  /** Host <-> device traffic of the last training step. */
  lastStep?: { uploads: Record<string, number>; downloads: Record<string, number>; deviceFeeds: string[] };
  error?: string;
}

const state: PageState = { ep: 'webgpu', step: 0, losses: [] };
let trainer: Trainer | undefined;
let mnist: Mnist | undefined;
let busy = false;
let stopRequested = false;
let sampleIndex = 0;
const chart = new LossChart($('chart'));
const pad = new DrawPad($('pad'));

function status(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.className = error ? 'status error' : 'status';
}

function setBusy(b: boolean): void {
  busy = b;
  for (const id of ['train', 'reset', 'export-model', 'export-ckpt', 'bench']) ($(id) as HTMLButtonElement).disabled = b || !trainer;
  ($('stop') as HTMLButtonElement).disabled = !b;
}

function modelName(t: Trainer, model: Uint8Array): string {
  const m = t.bundle.models;
  const f = t.bundle.manifest.files;
  return model === m.trainStep ? f.trainStep ?? 'train_step' : model === m.training ? f.training : model === m.optimizer ? f.optimizer : model === m.eval ? f.eval : 'model';
}

/** Placement per model file (ORT's "Node placements" report). */
function placements(): Record<string, readonly NodePlacement[]> {
  const out: Record<string, readonly NodePlacement[]> = {};
  if (trainer) for (const p of trainer.engine.placements) out[modelName(trainer, p.model)] = p.report;
  return out;
}

function showPlacement(): void {
  const p = placements();
  const parts = Object.entries(p).map(([file, r]) => {
    if (r.length === 1) return `${file}: all ${r[0].count} nodes on ${r[0].ep.replace('ExecutionProvider', '')}`;
    return `${file}: ${r.map((x) => `${x.count} on ${x.ep.replace('ExecutionProvider', '')}${x.nodes.length && x.ep.startsWith('CPU') ? ` (${x.nodes.join(', ')})` : ''}`).join(', ')}`;
  });
  const allDevice = Object.values(p).every((r) => r.length === 1 && !r[0].ep.startsWith('CPU'));
  const el = $('placement');
  el.textContent = `Node placement (ORT log) — ${parts.join(' · ')}`;
  el.className = `small${state.ep === 'webgpu' && allDevice ? ' ok' : ''}`;
}

function snapshotStep(): NonNullable<PageState['lastStep']> {
  const s = trainer!.engine.stats;
  state.lastStep = { uploads: { ...s.lastUploads }, downloads: { ...s.lastDownloads }, deviceFeeds: [...s.lastDeviceFeeds] };
  return state.lastStep;
}

function showTransfer(): void {
  if (!trainer || !state.lastStep) return;
  const s = { lastUploads: state.lastStep.uploads, lastDownloads: state.lastStep.downloads, lastDeviceFeeds: state.lastStep.deviceFeeds };
  const kb = (b: number) => (b >= 1024 ? `${(b / 1024).toFixed(1)} KB` : `${b} B`);
  const up = Object.entries(s.lastUploads).map(([k, v]) => `${k} ${kb(v)}`).join(', ');
  const down = Object.entries(s.lastDownloads).map(([k, v]) => `${k} ${kb(v)}`).join(', ');
  $('transfer').textContent = state.ep === 'webgpu'
    ? `Last step: host → GPU ${up || 'nothing'}; GPU → host ${down || 'nothing'}; ${s.lastDeviceFeeds.length} inputs fed from GPU buffers. State on the GPU: ${(trainer.engine.deviceBytes / 2 ** 20).toFixed(1)} MB.`
    : `Last step: fed ${up || 'nothing'}; fetched ${down || 'nothing'}.`;
}

function showMetrics(): void {
  $('m-step').textContent = String(state.step);
  const last = state.losses.slice(-20);
  $('m-loss').textContent = last.length ? (last.reduce((a, b) => a + b, 0) / last.length).toFixed(4) : '–';
  $('m-acc').textContent = state.lastEval ? `${(state.lastEval.accuracy * 100).toFixed(1)} %` : '–';
  $('m-sps').textContent = state.lastTrain?.samplesPerSec ? state.lastTrain.samplesPerSec.toFixed(0) : '–';
}

async function newTrainer(): Promise<Trainer> {
  const threads = new URLSearchParams(location.search).get('threads');
  const ort = await loadOrt(state.ep, ASSETS, threads ? Number(threads) : undefined);
  const bundle = await fetchBundle(ARTIFACTS);
  return createTrainer(ort, state.ep, bundle, { recordPlacement: new URLSearchParams(location.search).get('placement') !== '0' });
}

async function doTrain(steps: number, batch: number): Promise<{ train: TrainResult; eval: EvalResult }> {
  if (!trainer || !mnist) throw new Error('not ready');
  setBusy(true);
  stopRequested = false;
  try {
    status(`Training ${steps} steps on ${state.ep}…`);
    const startBatch = state.step;
    const r = await train(trainer.session, mnist, {
      steps, batch, startBatch,
      shouldStop: () => stopRequested,
      onStep: (s) => {
        state.step++;
        state.losses.push(s.loss);
        snapshotStep();
        chart.push(s.loss);
        if (s.step % 10 === 0) { showMetrics(); showTransfer(); }
      },
    });
    state.lastTrain = r;
    status(`Evaluating on ${mnist.test.count} held-out digits…`);
    state.lastEval = await evaluate(trainer.session, mnist.test);
    showMetrics();
    showTransfer();
    status(`Trained ${r.steps} steps (${(r.ms / 1000).toFixed(1)} s); test accuracy ${(state.lastEval.accuracy * 100).toFixed(1)} % on ${state.lastEval.count} digits.`);
    await predictPad();
    return { train: r, eval: state.lastEval };
  } finally {
    setBusy(false);
  }
}

async function predictPad(): Promise<{ digit: number; probs: number[] } | undefined> {
  if (!trainer) return undefined;
  const img = pad.toMnist();
  if (!img) { $('pred').textContent = '–'; $('bars').innerHTML = ''; return undefined; }
  const probs = await predict(trainer.session, img);
  const digit = argmax(probs);
  $('pred').textContent = String(digit);
  $('bars').innerHTML = probs.map((p, d) => `<div><span>${d}</span><i style="width:${(p * 100).toFixed(1)}%"></i><span>${(p * 100).toFixed(1)}%</span></div>`).join('');
  return { digit, probs };
}

function showTestDigit(i: number): number {
  if (!mnist) throw new Error('not ready');
  const k = i % mnist.test.count;
  pad.show(mnist.test.images.subarray(k * 784, (k + 1) * 784));
  return Number(mnist.test.labels[k]);
}

async function doExport(): Promise<{ model: Uint8Array; checkpoint: Uint8Array }> {
  if (!trainer) throw new Error('not ready');
  return exportAll(trainer.bundle.inferenceTemplate, trainer.session, trainer.engine);
}

/**
 * onnx-train and TensorFlow.js on this page's backend: same MLP, initial weights, batches and Adam settings.
 * `rounds` alternate the two (ORT, tfjs, ORT, tfjs, …) so that background load hits both alike; each row carries
 * every round's samples/s and reports the best (the least disturbed run) and the median.
 */
async function doBench(steps: number, batch: number, rounds = 1): Promise<BenchRow[]> {
  if (!mnist) throw new Error('not ready');
  setBusy(true);
  try {
    const runs: Record<'onnx-train' | 'tfjs', TrainResult[]> = { 'onnx-train': [], tfjs: [] };
    let init: MlpWeights | undefined;
    let lr = 1e-3;
    for (let round = 0; round < rounds; round++) {
      status(`Benchmark round ${round + 1}/${rounds}: onnx-train on ${state.ep}…`);
      const fresh = await newTrainer();
      init ??= Object.fromEntries(fresh.bundle.manifest.parameters.map((p) => [p.name, fresh.session.getParameter(p.name)])) as unknown as MlpWeights;
      lr = fresh.bundle.manifest.optimizer.lr;
      try {
        runs['onnx-train'].push(await train(fresh.session, mnist, { steps, batch }));
      } finally {
        await fresh.session.release();
      }
      status(`Benchmark round ${round + 1}/${rounds}: TensorFlow.js on ${state.ep}…`);
      const tf = await loadTf(state.ep, ASSETS);
      runs.tfjs.push(await trainTf(tf, init, mnist, { steps, batch, lr }));
    }
    const rows: BenchRow[] = (['onnx-train', 'tfjs'] as const).map((runtime) => {
      const rs = runs[runtime];
      const sps = rs.map((r) => r.samplesPerSec).sort((a, b) => a - b);
      const last = rs[rs.length - 1];
      return {
        runtime, backend: state.ep, steps, batch,
        samplesPerSec: sps[sps.length - 1], median: sps[Math.floor((sps.length - 1) / 2)], rounds: rs.map((r) => r.samplesPerSec),
        firstLoss: last.losses[0], lastLoss: last.losses[last.losses.length - 1],
      };
    });
    $('bench-table').querySelector('tbody')!.innerHTML += rows.map((r) => `<tr><td>${r.runtime}</td><td>${r.backend}</td><td>${r.samplesPerSec.toFixed(0)}</td><td>${r.firstLoss.toFixed(3)} → ${r.lastLoss.toFixed(3)}</td></tr>`).join('');
    const ratio = rows[0].samplesPerSec / rows[1].samplesPerSec;
    status(`Benchmark done: onnx-train / TensorFlow.js = ${ratio.toFixed(2)}× on ${state.ep} (best of ${rounds}; ${steps} steps of ${batch}, first 5 untimed).`);
    return rows;
  } finally {
    setBusy(false);
  }
}

function bytesToBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** What test/web and tools/bench drive. */
const api = {
  state,
  ready: undefined as unknown as Promise<void>,
  train: (steps: number, batch = 64) => doTrain(steps, batch),
  evaluate: async (limit?: number) => evaluate(trainer!.session, mnist!.test, 500, limit),
  placements,
  transfer: () => ({ ...trainer!.engine.stats, deviceBytes: trainer!.engine.deviceBytes }),
  showTestDigit,
  predictPad,
  exportBase64: async () => { const e = await doExport(); return { model: bytesToBase64(e.model), checkpoint: bytesToBase64(e.checkpoint) }; },
  /** Class probabilities for test digits [from, from + n) with the current weights (to compare with an exported model). */
  predictTest: async (from: number, n: number) => {
    const out: number[][] = [];
    for (let i = from; i < from + n; i++) out.push(await predict(trainer!.session, mnist!.test.images.subarray(i * 784, (i + 1) * 784)));
    return out;
  },
  bench: (steps: number, batch = 64, rounds = 1) => doBench(steps, batch, rounds),
  /** One training step outside the UI loop; returns the transfer record of that step. */
  step: async (batch = 64) => {
    await train(trainer!.session, mnist!, { steps: 1, batch, startBatch: state.step++ });
    return { ...snapshotStep(), deviceBytes: trainer!.engine.deviceBytes };
  },
};
(window as unknown as { onnxTrain: typeof api }).onnxTrain = api;

async function init(): Promise<void> {
  const asked = new URLSearchParams(location.search).get('ep');
  const gpu = await webgpuAvailable();
  if (asked === 'wasm') state.ep = 'wasm';
  else if (gpu) state.ep = 'webgpu';
  else { state.ep = 'wasm'; state.fallback = 'this browser offers no WebGPU adapter'; }
  ($('ep') as HTMLSelectElement).value = state.ep;
  ($('ep') as HTMLSelectElement).addEventListener('change', (e) => {
    const u = new URL(location.href);
    u.searchParams.set('ep', (e.target as HTMLSelectElement).value);
    location.href = u.href;
  });
  status(`Loading onnxruntime-web (${state.ep}), the artifacts and the digits…`);
  const [t, m] = await Promise.all([newTrainer(), loadMnist(`${ASSETS}data/mnist.bin`)]);
  trainer = t;
  mnist = m;
  showPlacement();
  setBusy(false);
  status(`Ready on ${state.ep}${state.fallback ? ` (WebGPU unavailable: ${state.fallback})` : ''}: ${m.train.count} training and ${m.test.count} test digits.`);
  sampleIndex = 0;
  showTestDigit(sampleIndex);

  $('train').addEventListener('click', () => { void doTrain(Number(($('steps') as HTMLInputElement).value), Number(($('batch') as HTMLInputElement).value)).catch(fail); });
  $('stop').addEventListener('click', () => { stopRequested = true; });
  $('reset').addEventListener('click', () => {
    void (async () => {
      setBusy(true);
      await trainer!.session.release();
      trainer = await newTrainer();
      Object.assign(state, { step: 0, losses: [], lastEval: undefined, lastTrain: undefined });
      chart.reset();
      showMetrics();
      setBusy(false);
      status('Weights reset to the initial checkpoint.');
    })().catch(fail);
  });
  $('clear').addEventListener('click', () => { pad.clear(); $('pred').textContent = '–'; $('bars').innerHTML = ''; });
  $('sample').addEventListener('click', () => { showTestDigit(++sampleIndex); void predictPad().catch(fail); });
  pad.onStroke = () => { if (!busy) void predictPad().catch(fail); };
  $('export-model').addEventListener('click', () => { void doExport().then((e) => download(e.model, 'mnist-mlp.onnx')).catch(fail); });
  $('export-ckpt').addEventListener('click', () => { void doExport().then((e) => download(e.checkpoint, 'checkpoint')).catch(fail); });
  $('bench').addEventListener('click', () => { void doBench(Number(($('bench-steps') as HTMLInputElement).value), Number(($('batch') as HTMLInputElement).value)).catch(fail); });
}

function fail(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  state.error = msg;
  status(msg, true);
  setBusy(false);
  console.error(e);
}

api.ready = init().catch((e) => { fail(e); throw e; });
