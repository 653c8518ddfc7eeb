/**
 * Section 3, one artifact set per process: lower + augment an original ORT artifacts folder in memory (what
 * `onnx-train augment` builds, with the standard node wiring), open it with TrainingSession (cpu), and time the
 * fused train step at the requested batch sizes on synthetic data (deterministic; float inputs in [0, 1), int64
 * labels alternating 0/1, valid for any classifier with >= 2 classes).
 *
 * Usage: tsx tools/bench/artifacts-worker.ts <folder> <threads>
 * Requests: {op: 'measure', batch, warmup, steps} -> {times, loss}.
 */
import { nodeAugmentEnv } from '../../src/cli/commands/augment.js';
import type { HostTensor } from '../../src/runtime/engine.js';
import { TrainingSession, bundleOfSet } from '../../src/runtime/node.js';
import { readOrtArtifacts } from '../../src/transforms/artifacts.js';
import { buildAugmented } from '../../src/transforms/augment.js';
import { now, serveWorker, type WorkerHandler } from './common.js';

const [folder, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const facts: Record<string, unknown> = {};

function synthetic(s: TrainingSession, batch: number): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  for (const i of s.manifest.inputs) {
    const dims = i.shape.map((d) => (typeof d === 'number' ? d : batch));
    const n = dims.reduce((a, b) => a * b, 1);
    if (i.dtype === 'int64') feeds[i.name] = { type: 'int64', dims, data: BigInt64Array.from({ length: n }, (_, k) => BigInt(k % 2)) };
    else if (i.dtype === 'float32') feeds[i.name] = { type: 'float32', dims, data: Float32Array.from({ length: n }, rnd) };
    else throw new Error(`input "${i.name}" is ${i.dtype}; the benchmark feeds float32 and int64 only`);
  }
  return feeds;
}

async function setup(): Promise<WorkerHandler> {
  const warnings: string[] = [];
  let t0 = now();
  const a = readOrtArtifacts(folder);
  const set = await buildAugmented(a, { onWarning: (w) => warnings.push(w) }, nodeAugmentEnv({ checkLoads: false }));
  const bundle = bundleOfSet(set);
  facts.lowerMs = now() - t0;
  facts.randomInit = set.randomInit;
  facts.warnings = warnings;
  facts.fused = !!bundle.models.trainStep;
  facts.trainStepNodes = set.trainStep?.graph.nodes.length;
  facts.trainableParams = set.checkpoint.trainable.reduce((n, t) => n + t.dims.reduce((a2, b) => a2 * b, 1), 0);
  facts.frozenParams = set.checkpoint.frozen.reduce((n, t) => n + t.dims.reduce((a2, b) => a2 * b, 1), 0);
  t0 = now();
  const s = await TrainingSession.fromBundleNode(bundle, { executionProviders: ['cpu'], intraOpNumThreads: threads, loadEval: false });
  facts.createMs = now() - t0;
  facts.inputs = s.manifest.inputs.map((i) => `${i.name} ${i.dtype}[${i.shape.join(',')}]`);
  return {
    run: () => { throw new Error('use {op: "measure"}'); },
    info: () => facts,
    async call(req) {
      if (req.op !== 'measure') throw new Error(`unknown op ${String(req.op)}`);
      const feeds = synthetic(s, Number(req.batch));
      let loss = NaN;
      for (let j = 0; j < Number(req.warmup); j++) await s.trainStep(feeds);
      const times: number[] = [];
      for (let j = 0; j < Number(req.steps); j++) {
        const t1 = now();
        const out = await s.trainStep(feeds);
        times.push(now() - t1);
        loss = Number(out[s.manifest.lossOutput].data[0]);
      }
      return { times, loss };
    },
  };
}

void serveWorker(setup, () => ({ folder, threads }));
