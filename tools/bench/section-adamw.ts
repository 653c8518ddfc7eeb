/**
 * Section 1: one AdamW step on N float32 params — onnx-train's optimizer graph on onnxruntime-node (1 and 2
 * intra-op threads) vs a hand-written JS loop, TensorFlow.js (wasm backend) and numpy — each as a multiple of the
 * memory-bandwidth bound measured in the same run (28 bytes/param at the single-core copy bandwidth of a memcpy
 * probe interleaved with them), and peak RSS over the 16 bytes/param an in-place implementation must hold.
 */
import { MALLOC_OPT_OUT, MALLOC_TUNING } from '../../src/runtime/process-env.js';
import { fmtBytes, fmtMs, fmtN, fmtX, interleave, median, startAll, summarize, textTable, type BenchWorker, type Summary } from './common.js';

export const BYTES_MOVED = 28; // read p, g, m, v; write p, m, v
export const BYTES_HELD = 16; // p, g, m, v

export interface AdamWImplResult {
  readonly impl: string;
  readonly label: string;
  readonly ms?: Summary;
  readonly xBound?: number;
  readonly peakRss?: number;
  readonly baselineRss?: number;
  readonly rssOverMin?: number;
  readonly rssAboveBaselineOverMin?: number;
  readonly checksum?: number;
  /** Updates applied in total (warm-up included). */
  readonly steps?: number;
  /** Minor page faults per timed step (memory faulted in afresh every step). */
  readonly faultsPerStep?: number;
  /** A configuration variant (not onnx-train as shipped): shown, but not used for the goals. */
  readonly variant?: boolean;
  readonly error?: string;
}

export interface AdamWSizeResult {
  readonly n: number;
  readonly rounds: number;
  readonly stepsPerRound: number;
  readonly copyBandwidth: number;
  readonly boundMs: number;
  readonly impls: readonly AdamWImplResult[];
  /** Largest relative difference of the param checksums from the JS loop's (among those that ran as many steps). */
  readonly checksumMaxRelDiff?: number;
}

export interface AdamWResult {
  readonly sizes: readonly AdamWSizeResult[];
  readonly goal: { readonly text: string; readonly met: boolean; readonly details: readonly string[] };
}

interface ImplSpec { readonly label: string; readonly impl: string; readonly args: readonly string[]; readonly key: string; readonly env?: Record<string, string | undefined>; readonly variant?: boolean }

/** glibc's own malloc behaviour: the tuning variables removed and opted out of. */
const GLIBC_DEFAULTS: Record<string, string | undefined> = { MALLOC_MMAP_THRESHOLD_: undefined, MALLOC_TRIM_THRESHOLD_: undefined, [MALLOC_OPT_OUT]: 'default' };

/**
 * onnx-train as shipped runs with glibc's malloc tuned (the CLI restarts itself with MALLOC_TUNING; see
 * src/runtime/process-env.ts): onnxruntime-node returns every output in a fresh buffer, which with glibc's defaults
 * is page-faulted in afresh every step. The glibc-defaults row shows a library process started without it; the
 * floor row runs the same graph on one cache-sized chunk (no DRAM traffic, no faults) scaled to N.
 */
const IMPLS: readonly ImplSpec[] = [
  { label: 'onnx-train (cpu, 1 thread)', impl: 'onnx-train', args: ['1'], key: 'onnx-train-1t', env: MALLOC_TUNING },
  { label: 'onnx-train (cpu, 2 threads)', impl: 'onnx-train', args: ['2'], key: 'onnx-train-2t', env: MALLOC_TUNING },
  { label: 'onnx-train (cpu, 1 thread, glibc malloc defaults)', impl: 'onnx-train', args: ['1'], key: 'onnx-train-1t-glibc', env: GLIBC_DEFAULTS, variant: true },
  { label: 'floor: the same graph on one 64 Ki-param chunk in cache, x N/64Ki (1 thread)', impl: 'onnx-train-chunk', args: ['1'], key: 'onnx-train-floor', env: MALLOC_TUNING, variant: true },
  { label: 'hand-written JS loop', impl: 'js', args: [], key: 'js' },
  { label: 'TensorFlow.js (wasm)', impl: 'tfjs-wasm', args: [], key: 'tfjs-wasm' },
  { label: 'numpy', impl: 'numpy', args: [], key: 'numpy' },
];

export interface AdamWPlan { readonly n: number; readonly rounds: number; readonly steps: number; readonly warmup: number }

export const DEFAULT_PLAN: readonly AdamWPlan[] = [
  { n: 1e6, rounds: 6, steps: 8, warmup: 5 },
  { n: 1e7, rounds: 4, steps: 2, warmup: 2 },
  { n: 5e7, rounds: 3, steps: 1, warmup: 1 },
];

async function oneSize(plan: AdamWPlan, log: (s: string) => void): Promise<AdamWSizeResult> {
  const { n } = plan;
  log(`AdamW N=${fmtN(n)}: starting workers`);
  const specs = [
    { label: 'copy', script: 'adamw-worker.ts', args: ['copy', String(n)] },
    ...IMPLS.map((i) => (i.impl === 'numpy'
      ? { label: i.key, script: 'adamw_numpy.py', args: [String(n)] }
      : { label: i.key, script: 'adamw-worker.ts', args: [i.impl, String(n), ...i.args], env: i.env })),
  ];
  const { workers, failed } = await startAll(specs, log);
  const byLabel = new Map<string, BenchWorker>(workers.map((w) => [w.label, w]));
  try {
    // Warm-up (JIT, first-touch page faults, ORT arena growth): not recorded. With malloc tuned, a few steps pass
    // before the heap has grown to hold every output buffer that is still waiting for V8's GC.
    const warm = await interleave(workers, 1, (l) => (l === 'copy' ? 2 : IMPLS.find((i) => i.key === l)?.env === MALLOC_TUNING ? Math.max(4, plan.warmup) : plan.warmup));
    for (const [l, e] of warm.errors) failed.set(l, e);
    const live = workers.filter((w) => !failed.has(w.label));
    log(`AdamW N=${fmtN(n)}: ${plan.rounds} rounds x ${plan.steps} step(s), interleaved`);
    const r = await interleave(live, plan.rounds, (l) => (l === 'copy' ? 3 : plan.steps), log);
    for (const [l, e] of r.errors) failed.set(l, e);
    const copy = byLabel.get('copy');
    const copyInfo = copy && !failed.has('copy') ? await copy.info() : undefined;
    const copyMs = median(r.times.get('copy') ?? []);
    const bandwidth = copyInfo ? Number(copyInfo.bytesPerCopy) / (copyMs / 1e3) : NaN;
    const boundMs = (BYTES_MOVED * n) / bandwidth * 1e3;
    const impls: AdamWImplResult[] = [];
    for (const i of IMPLS) {
      const err = failed.get(i.key);
      if (err) { impls.push({ impl: i.key, label: i.label, error: err, variant: i.variant }); continue; }
      const w = byLabel.get(i.key)!;
      const info = await w.info();
      const ms = summarize(r.times.get(i.key) ?? []);
      const peak = Number(info.peakRss);
      const base = Number(info.baselineRss);
      impls.push({
        impl: i.key, label: i.label, ms, xBound: ms.median / boundMs, peakRss: peak, baselineRss: base,
        rssOverMin: peak / (BYTES_HELD * n), rssAboveBaselineOverMin: (peak - base) / (BYTES_HELD * n), checksum: info.checksum === undefined ? undefined : Number(info.checksum),
        faultsPerStep: Number(info.faultsPerStep), variant: i.variant, steps: Number(info.steps),
      });
    }
    // Implementations that applied as many updates as the JS loop must hold the same parameters.
    const js = impls.find((x) => x.impl === 'js');
    const ref = js?.checksum;
    const diffs = impls.filter((x) => x.checksum !== undefined && Number.isFinite(x.checksum) && ref !== undefined && x.steps === js!.steps).map((x) => Math.abs(x.checksum! - ref!) / Math.max(1e-12, Math.abs(ref!)));
    const res: AdamWSizeResult = { n, rounds: plan.rounds, stepsPerRound: plan.steps, copyBandwidth: bandwidth, boundMs, impls, checksumMaxRelDiff: diffs.length ? Math.max(...diffs) : undefined };
    log(`\nAdamW N=${fmtN(n)}: copy bandwidth ${(bandwidth / 1e9).toFixed(1)} GB/s -> bound ${fmtMs(boundMs)} per step (28 B/param)`);
    log(textTable(['impl', 'median', 'p25-p75', 'x bound', 'faults/step', 'peak RSS', 'RSS / 16N', '(peak-base) / 16N'], impls.map((x) => x.error
      ? [x.label, 'failed', x.error.slice(0, 60), '', '', '', '', '']
      : [x.label, fmtMs(x.ms!.median), `${fmtMs(x.ms!.p25)}-${fmtMs(x.ms!.p75)}`, fmtX(x.xBound!), x.faultsPerStep!.toFixed(0), fmtBytes(x.peakRss!), fmtX(x.rssOverMin!), fmtX(x.rssAboveBaselineOverMin!)])));
    log('');
    return res;
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

export async function benchAdamW(plans: readonly AdamWPlan[], log: (s: string) => void): Promise<AdamWResult> {
  const sizes: AdamWSizeResult[] = [];
  for (const p of plans) sizes.push(await oneSize(p, log));
  const details: string[] = [];
  let met = true;
  for (const s of sizes) {
    const ours = s.impls.filter((x) => x.impl.startsWith('onnx-train') && !x.variant && x.ms);
    const best = ours.sort((a, b) => a.ms!.median - b.ms!.median)[0];
    if (!best) { met = false; details.push(`N=${fmtN(s.n)}: onnx-train did not run`); continue; }
    const peers = s.impls.filter((x) => !x.impl.startsWith('onnx-train') && x.ms);
    const fasterPeers = peers.filter((x) => x.ms!.median < best.ms!.median);
    const okBound = best.xBound! <= 2;
    if (!okBound || fasterPeers.length) met = false;
    details.push(`N=${fmtN(s.n)}: best onnx-train ${fmtX(best.xBound!)} the bound (${okBound ? 'within' : 'MISSES'} 2x)` +
      (fasterPeers.length ? `; slower than ${fasterPeers.map((x) => `${x.label} (${fmtX(x.xBound!)})`).join(', ')}` : '; ahead of every peer'));
  }
  return { sizes, goal: { text: 'onnx-train <= 2x the bandwidth bound and ahead of every peer', met, details } };
}
