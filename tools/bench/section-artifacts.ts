/**
 * Section 3: fused train-step time (cpu, 2 threads) of every real artifact set in /work/shared/artifacts after
 * lowering, one process per set. A missing set, or one that fails, is recorded with the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchWorker, fmtBytes, fmtMs, summarize, textTable, type Summary } from './common.js';

export const ARTIFACTS_ROOT = process.env.ONNX_TRAIN_ARTIFACTS ?? '/work/shared/artifacts';

export interface SetPlan {
  readonly set: string;
  readonly batches: readonly number[];
  readonly warmup: number;
  readonly steps: number;
}

export const SET_PLANS: readonly SetPlan[] = [
  { set: 'mnist-mlp-web', batches: [64], warmup: 10, steps: 60 },
  { set: 'lora-linear-mse', batches: [64], warmup: 10, steps: 60 },
  { set: 'seizureguard-cnn1d', batches: [16], warmup: 3, steps: 15 },
  { set: 'resnet50-conv0', batches: [1, 2], warmup: 1, steps: 3 },
];

export interface SetResult {
  readonly set: string;
  readonly skipped?: string;
  readonly lowerMs?: number;
  readonly createMs?: number;
  readonly randomInit?: boolean;
  readonly trainableParams?: number;
  readonly frozenParams?: number;
  readonly trainStepNodes?: number;
  readonly peakRss?: number;
  readonly runs: readonly { batch: number; ms?: Summary; samplesPerSec?: number; loss?: number; error?: string }[];
}

export async function benchArtifacts(plans: readonly SetPlan[], threads: number, log: (s: string) => void): Promise<SetResult[]> {
  const out: SetResult[] = [];
  for (const p of plans) {
    const folder = path.join(ARTIFACTS_ROOT, p.set);
    if (!fs.existsSync(path.join(folder, 'training_model.onnx'))) {
      out.push({ set: p.set, skipped: `${folder}/training_model.onnx is missing`, runs: [] });
      log(`  ${p.set}: skipped (missing)`);
      continue;
    }
    let w: BenchWorker | undefined;
    try {
      w = await BenchWorker.start(p.set, 'artifacts-worker.ts', [folder, String(threads)], { timeoutMs: 600_000 });
      const runs: SetResult['runs'][number][] = [];
      for (const batch of p.batches) {
        try {
          const r = await w.request({ op: 'measure', batch, warmup: p.warmup, steps: p.steps }, 600_000);
          const ms = summarize(r.times as number[]);
          runs.push({ batch, ms, samplesPerSec: batch / (ms.median / 1e3), loss: Number(r.loss) });
        } catch (e) {
          runs.push({ batch, error: (e as Error).message });
        }
      }
      const info = await w.info();
      out.push({
        set: p.set, lowerMs: Number(info.lowerMs), createMs: Number(info.createMs), randomInit: Boolean(info.randomInit),
        trainableParams: Number(info.trainableParams), frozenParams: Number(info.frozenParams), trainStepNodes: Number(info.trainStepNodes),
        peakRss: Number(info.peakRss), runs,
      });
      log(`  ${p.set}: ${runs.map((r) => `batch ${r.batch} ${r.ms ? fmtMs(r.ms.median) : r.error}`).join(', ')}`);
    } catch (e) {
      out.push({ set: p.set, skipped: `failed: ${(e as Error).message}`, runs: [] });
      log(`  ${p.set}: failed: ${(e as Error).message}`);
    } finally {
      await w?.close();
    }
  }
  log(`\nReal artifact sets, fused train step (cpu, ${threads} threads)`);
  log(textTable(['set', 'batch', 'ms/step', 'samples/s', 'lower', 'session create', 'peak RSS'], out.flatMap((s) => s.skipped
    ? [[s.set, '', 'skipped', s.skipped.slice(0, 60), '', '', '']]
    : s.runs.map((r) => [s.set, String(r.batch), r.ms ? fmtMs(r.ms.median) : `failed: ${r.error?.slice(0, 40)}`, r.samplesPerSec?.toFixed(1) ?? '', fmtMs(s.lowerMs!), fmtMs(s.createMs!), fmtBytes(s.peakRss!)]))));
  log('');
  return out;
}
