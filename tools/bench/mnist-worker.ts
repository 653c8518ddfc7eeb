/**
 * One MNIST MLP train-step implementation (batch B, AdamW) in its own process, served over the bench worker
 * protocol (common.ts). Every step: batch k of the shared ring (mnist-setup.ts), one fused forward + backward +
 * update, the loss read back on the host. The time of a step is everything between having the batch and
 * having the loss and the new weights.
 *
 * Usage: tsx tools/bench/mnist-worker.ts <impl> <arg> <batch>
 *   ot <cpu|wasm> <threads>   onnx-train: TrainingSession.create on the real artifacts (lowered on the fly), trainStep()
 *   bare <threads>            the same lowered train_step.onnx on a bare onnxruntime-node session (feeds prepared once,
 *                             outputs fed back as the next inputs): what the runtime adds is the difference
 *   hand <cpu|wasm> <threads> the hand-written fused graph (mnist-handbuilt.ts) on bare onnxruntime-node / -web
 *   tfjs <idiomatic|tuned>    TensorFlow.js, wasm backend (mnist-tfjs.ts)
 */
import * as os from 'node:os';
import { TrainingSession } from '../../src/runtime/node.js';
import { now, serveWorker, type WorkerHandler } from './common.js';
import { HAND_PARAMS, buildHandTrainStep } from './mnist-handbuilt.js';
import { adamHyper, batchRing, initialWeights, loweredMnist, mnistPaths, RING, type Batch } from './mnist-setup.js';

const [impl, a1, a2, a3] = process.argv.slice(2);

/** wasm threads as onnx-train's createEngine picks them (half the cores, at most 4). */
export const WASM_THREADS = Math.min(4, Math.max(1, Math.ceil((typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length) / 2)));

interface Stepper {
  step(b: Batch): Promise<number> | number;
  facts: Record<string, unknown>;
}

type OrtTensor = import('onnxruntime-node').Tensor;
/** The part of onnxruntime-node / onnxruntime-web this loop uses (both have it, with the same shapes). */
interface OrtModule {
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(bytes: Uint8Array, opts: Record<string, unknown>): Promise<{ run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> }> };
}

type InitTensor = { type: 'float32' | 'int64'; data: Float32Array | BigInt64Array; dims: readonly number[] };

/** Minimal ORT loop shared by `bare` and `hand`: feeds prepared once, outputs become the next inputs. */
async function ortLoop(
  ort: OrtModule,
  ep: 'cpu' | 'wasm',
  bytes: Uint8Array,
  threads: number,
  ring: Batch[],
  init: Record<string, InitTensor>,
  feedBack: Record<string, string>,
  lossName: string,
  stepName: string,
): Promise<Stepper> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  const feeds: Record<string, OrtTensor> = {};
  for (const [k, t] of Object.entries(init)) feeds[k] = new ort.Tensor(t.type, t.data, t.dims);
  const images = ring.map((b) => new ort.Tensor('float32', b.images, b.images4.dims));
  const labels = ring.map((b) => new ort.Tensor('int64', b.labels, b.labels4.dims));
  const stepData = BigInt64Array.of(0n);
  feeds[stepName] = new ort.Tensor('int64', stepData, [1]);
  let k = 0;
  return {
    facts: {},
    async step() {
      const i = k % RING;
      stepData[0] = BigInt(++k);
      feeds.input = images[i];
      feeds.labels = labels[i];
      const out = await session.run(feeds);
      for (const [o, input] of Object.entries(feedBack)) feeds[input] = out[o];
      return (out[lossName].data as Float32Array)[0];
    },
  };
}

async function makeStepper(batch: number, ring: Batch[]): Promise<Stepper> {
  const hyper = await adamHyper();
  if (impl === 'ot') {
    const ep = a1 as 'cpu' | 'wasm';
    const threads = Number(a2);
    const s = await TrainingSession.create(mnistPaths, { executionProviders: [ep], intraOpNumThreads: threads });
    return {
      facts: { ep, threads: ep === 'wasm' ? WASM_THREADS : threads },
      async step(b) {
        const out = await s.trainStep({ input: b.images4, labels: b.labels4 });
        return (out[s.manifest.lossOutput].data as Float32Array)[0];
      },
    };
  }
  if (impl === 'bare') {
    const threads = Number(a1);
    const ort = await import('onnxruntime-node');
    const bundle = await loweredMnist();
    const m = bundle.manifest;
    const ts = m.trainStep!;
    const w = await initialWeights();
    const init: Record<string, InitTensor> = {
      'fc1.weight': { type: 'float32', data: w.fc1w, dims: [500, 784] }, 'fc1.bias': { type: 'float32', data: w.fc1b, dims: [500] },
      'fc2.weight': { type: 'float32', data: w.fc2w, dims: [10, 500] }, 'fc2.bias': { type: 'float32', data: w.fc2b, dims: [10] },
    };
    for (const s of m.optimizer.state) init[s.input] = { type: 'float32', data: new Float32Array(s.shape.reduce((x, y) => x * y, 1)), dims: s.shape };
    if (ts.lrInput) init[ts.lrInput] = { type: 'float32', data: Float32Array.of(m.optimizer.lr), dims: [1] };
    const feedBack: Record<string, string> = {};
    for (const [p, o] of Object.entries(ts.paramOutputs)) feedBack[o] = p;
    for (const [si, o] of Object.entries(ts.stateOutputs)) feedBack[o] = si;
    const st = await ortLoop(ort as unknown as OrtModule, 'cpu', bundle.models.trainStep!, threads, ring, init, feedBack, m.lossOutput, ts.stepInput);
    return { ...st, facts: { threads } };
  }
  if (impl === 'hand') {
    const ep = a1 as 'cpu' | 'wasm';
    const threads = ep === 'wasm' ? WASM_THREADS : Number(a2);
    let ort: typeof import('onnxruntime-node') | typeof import('onnxruntime-web');
    if (ep === 'wasm') {
      const web = await import('onnxruntime-web');
      web.env.wasm.numThreads = threads;
      web.env.logLevel = 'error';
      ort = web;
    } else {
      ort = await import('onnxruntime-node');
    }
    const { bytes, nodes } = buildHandTrainStep(batch, hyper);
    const w = await initialWeights();
    const data: Record<string, Float32Array> = { 'fc1.weight': w.fc1w, 'fc1.bias': w.fc1b, 'fc2.weight': w.fc2w, 'fc2.bias': w.fc2b };
    const init: Record<string, InitTensor> = { lr: { type: 'float32', data: Float32Array.of(hyper.lr), dims: [1] } };
    const feedBack: Record<string, string> = {};
    for (const p of HAND_PARAMS) {
      const n = p.shape.reduce((x: number, y: number) => x * y, 1);
      init[p.name] = { type: 'float32', data: data[p.name], dims: p.shape };
      init[`${p.name}.m`] = { type: 'float32', data: new Float32Array(n), dims: p.shape };
      init[`${p.name}.v`] = { type: 'float32', data: new Float32Array(n), dims: p.shape };
      feedBack[`${p.name}.out`] = p.name;
      feedBack[`${p.name}.m.out`] = `${p.name}.m`;
      feedBack[`${p.name}.v.out`] = `${p.name}.v`;
    }
    const st = await ortLoop(ort as unknown as OrtModule, ep, bytes, threads, ring, init, feedBack, 'loss', 'step');
    return { ...st, facts: { ep, threads, nodes } };
  }
  if (impl === 'tfjs') {
    const { tfjsMlp } = await import('./mnist-tfjs.js');
    const t = await tfjsMlp(a1 as 'idiomatic' | 'tuned', await initialWeights(), hyper, batch);
    return { facts: { backend: t.backend, kind: a1 }, step: (b) => t.step(b) };
  }
  throw new Error(`unknown impl ${impl}`);
}

async function setup(): Promise<WorkerHandler> {
  const batch = Number(impl === 'bare' || impl === 'tfjs' ? a2 : a3);
  const ring = batchRing(batch);
  const s = await makeStepper(batch, ring);
  let k = 0;
  const losses: number[] = [];
  return {
    async run(steps) {
      const times: number[] = [];
      for (let j = 0; j < steps; j++) {
        const b = ring[k % RING];
        const t0 = now();
        const loss = await s.step(b);
        times.push(now() - t0);
        losses.push(loss);
        k++;
      }
      return times;
    },
    info: () => ({ ...s.facts, steps: k, losses }),
  };
}

void serveWorker(setup, () => ({ impl, args: [a1, a2, a3] }));
