/**
 * Section 2: the MNIST MLP train step (784-500-10, batch 64, AdamW) — onnx-train on the real mnist-mlp-web
 * artifacts (lowered on the fly by TrainingSession.create, fused step) on cpu (1 and 2 intra-op threads) and wasm,
 * against TensorFlow.js (wasm backend; idiomatic and tuned), the hand-written fused graph on bare
 * onnxruntime-node / -web, and the same lowered train_step.onnx on a bare onnxruntime-node session. Every
 * implementation runs in its own process; blocks of steps are interleaved round by round.
 */
import { fmtMs, fmtX, interleave, median, startAll, summarize, textTable, type Summary } from './common.js';

export interface MnistImpl {
  readonly key: string;
  readonly label: string;
  readonly group: 'onnx-train' | 'reference' | 'tfjs';
  readonly args: readonly string[];
  /** Steps per round (about the same wall time per block for every implementation). */
  readonly steps: number;
}

export const MNIST_IMPLS = (batch: number): MnistImpl[] => [
  { key: 'ot-cpu2', label: 'onnx-train, cpu, 2 threads', group: 'onnx-train', args: ['ot', 'cpu', '2', String(batch)], steps: 15 },
  { key: 'ot-cpu1', label: 'onnx-train, cpu, 1 thread', group: 'onnx-train', args: ['ot', 'cpu', '1', String(batch)], steps: 12 },
  { key: 'ot-wasm', label: 'onnx-train, wasm (onnxruntime-web)', group: 'onnx-train', args: ['ot', 'wasm', '1', String(batch)], steps: 6 },
  { key: 'bare-cpu2', label: 'same train_step.onnx, bare onnxruntime-node session, 2 threads', group: 'reference', args: ['bare', '2', String(batch)], steps: 15 },
  { key: 'hand-cpu2', label: 'hand-written fused graph, onnxruntime-node, 2 threads', group: 'reference', args: ['hand', 'cpu', '2', String(batch)], steps: 15 },
  { key: 'hand-cpu1', label: 'hand-written fused graph, onnxruntime-node, 1 thread', group: 'reference', args: ['hand', 'cpu', '1', String(batch)], steps: 12 },
  { key: 'hand-wasm', label: 'hand-written fused graph, onnxruntime-web wasm', group: 'reference', args: ['hand', 'wasm', '1', String(batch)], steps: 6 },
  { key: 'tfjs-tuned', label: 'TensorFlow.js wasm, tuned (explicit gradients)', group: 'tfjs', args: ['tfjs', 'tuned', String(batch)], steps: 6 },
  { key: 'tfjs-idiomatic', label: 'TensorFlow.js wasm, idiomatic (optimizer.minimize)', group: 'tfjs', args: ['tfjs', 'idiomatic', String(batch)], steps: 3 },
];

/** Reference numbers measured earlier on this machine kind (from the issue), ms/step. */
export const EARLIER: Record<string, number> = { 'tfjs-idiomatic': 27.6, 'tfjs-tuned': 6.8, 'hand-cpu2': 2.43, 'hand-cpu1': 3.65, 'hand-wasm': 5.9 };

export interface MnistImplResult {
  readonly key: string;
  readonly label: string;
  readonly group: MnistImpl['group'];
  readonly ms?: Summary;
  readonly samplesPerSec?: number;
  readonly threads?: number;
  readonly peakRss?: number;
  readonly steps?: number;
  /** Loss after the first update and at step `lossAtStep` (same batches everywhere). */
  readonly firstLoss?: number;
  readonly lossAtStep?: number;
  readonly nodes?: number;
  readonly earlierMs?: number;
  readonly error?: string;
}

export interface MnistResult {
  readonly batch: number;
  readonly rounds: number;
  readonly lossStep: number;
  readonly impls: readonly MnistImplResult[];
  /** ot-cpu2 / other, by key (median ratio; < 1 = onnx-train faster). */
  readonly vsOtCpu2: Record<string, number>;
  readonly goal: { readonly text: string; readonly met: boolean; readonly detail: string };
}

export async function benchMnist(opts: { batch: number; rounds: number; warmupSteps: number }, log: (s: string) => void): Promise<MnistResult> {
  const impls = MNIST_IMPLS(opts.batch);
  log(`MNIST MLP train step, batch ${opts.batch}: starting ${impls.length} workers`);
  const { workers, failed } = await startAll(impls.map((i) => ({ label: i.key, script: 'mnist-worker.ts', args: i.args })), log);
  try {
    const warm = await interleave(workers, 1, (l) => Math.min(opts.warmupSteps, impls.find((i) => i.key === l)!.steps * 3));
    for (const [l, e] of warm.errors) failed.set(l, e);
    const live = workers.filter((w) => !failed.has(w.label));
    log(`MNIST: ${opts.rounds} rounds, interleaved`);
    const r = await interleave(live, opts.rounds, (l) => impls.find((i) => i.key === l)!.steps, (line) => { if (!line.includes('round') || /round (1|\d*0)\//.test(line)) log(line); });
    for (const [l, e] of r.errors) failed.set(l, e);
    const infos = new Map<string, Record<string, unknown>>();
    for (const w of live) if (!failed.has(w.label)) infos.set(w.label, await w.info());
    // Every implementation ran a different number of steps; compare the losses at a step all of them reached.
    const lossStep = Math.min(...[...infos.values()].map((i) => Number(i.steps)));
    const out: MnistImplResult[] = impls.map((i) => {
      const err = failed.get(i.key);
      if (err) return { key: i.key, label: i.label, group: i.group, error: err, earlierMs: EARLIER[i.key] };
      const info = infos.get(i.key)!;
      const ms = summarize(r.times.get(i.key)!);
      const losses = info.losses as number[];
      return {
        key: i.key, label: i.label, group: i.group, ms, samplesPerSec: opts.batch / (ms.median / 1e3), threads: info.threads as number | undefined,
        peakRss: Number(info.peakRss), steps: Number(info.steps), firstLoss: losses[0], lossAtStep: losses[lossStep - 1],
        nodes: info.nodes as number | undefined, earlierMs: EARLIER[i.key],
      };
    });
    const ot = out.find((x) => x.key === 'ot-cpu2')?.ms?.median ?? NaN;
    const vsOtCpu2: Record<string, number> = {};
    for (const x of out) if (x.ms) vsOtCpu2[x.key] = ot / x.ms.median;
    const met = ot <= 1.6;
    log(`\nMNIST MLP train step, batch ${opts.batch} (median of ${opts.rounds} interleaved rounds)`);
    log(textTable(['implementation', 'ms/step', 'p25-p75', 'samples/s', 'onnx-train cpu2 / this', `loss @${lossStep}`, 'earlier'],
      out.map((x) => x.error ? [x.label, 'failed', x.error.slice(0, 50), '', '', '', ''] : [
        x.label, fmtMs(x.ms!.median), `${fmtMs(x.ms!.p25)}-${fmtMs(x.ms!.p75)}`, x.samplesPerSec!.toFixed(0), fmtX(vsOtCpu2[x.key]),
        x.lossAtStep!.toFixed(4), x.earlierMs ? fmtMs(x.earlierMs) : '',
      ])));
    log('');
    return {
      batch: opts.batch, rounds: opts.rounds, lossStep, impls: out, vsOtCpu2,
      goal: { text: 'MNIST train step from the lowered real artifacts <= 1.6 ms at 2 threads', met, detail: `${fmtMs(ot)} median (${median(r.blocks.get('ot-cpu2') ?? []).toFixed(2)} ms median of block medians)` },
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}
