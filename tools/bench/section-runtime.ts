/**
 * Section 4: the runtime itself, on the MNIST fused step (cpu).
 * - Per-step overhead of TrainingSession.trainStep over a bare run of the same onnxruntime-node session (same
 *   train_step.onnx, same feeds), alternating step by step in one process: the time each spends outside ORT's
 *   session.run (a wrapper times the native run), plus the runtime's own JS work alone (stub engine).
 * - RSS over 1,000 fused steps: after a warm-up long enough for ORT's arena and malloc to settle (RSS climbs for
 *   the first few hundred steps, then stays flat) and at the end, from samples every 100 steps; growth in % and
 *   the trend; the same after a full GC, and the JS heap after GC (what a leak of JS objects would show in).
 */
import { BenchWorker, fmtBytes, fmtMs, median, summarize, textTable, type Summary } from './common.js';

export interface OverheadResult {
  readonly threads: number;
  readonly pairs: number;
  readonly session: Summary;
  readonly bare: Summary;
  readonly logic: Summary;
  /** Median time per step outside ORT's session.run, µs: TrainingSession / the bare loop. */
  readonly sessionOutsideUs: number;
  readonly bareOutsideUs: number;
  /** sessionOutsideUs - bareOutsideUs. */
  readonly overheadUs: number;
  /** Cross-check: median of the paired whole-step differences (session - bare), µs; noisy on a loaded machine. */
  readonly pairedUs: number;
  /** overheadUs as a % of the bare step's median. */
  readonly overheadPct: number;
  readonly logicUs: number;
  readonly goal: { readonly text: string; readonly met: boolean };
}

export interface RssResult {
  readonly steps: number;
  readonly warmup: number;
  readonly gcAvailable: boolean;
  /** RSS after warm-up and at the end (medians of the first / last three samples, no forced GC). */
  readonly start: number;
  readonly end: number;
  readonly growthPct: number;
  /** RSS right after a full GC, after warm-up and at the end. */
  readonly gcStart: number;
  readonly gcEnd: number;
  readonly gcGrowthPct: number;
  readonly maxRaw: number;
  readonly heapStart: number;
  readonly heapEnd: number;
  readonly samples: readonly { step: number; raw: number }[];
  /** Least-squares slope of the RSS samples, % of the start per 1,000 steps. */
  readonly trendPctPer1000: number;
  readonly ms: Summary;
  readonly goal: { readonly text: string; readonly met: boolean };
}

export async function benchOverhead(opts: { threads: number; batch: number; pairs: number }, log: (s: string) => void): Promise<OverheadResult> {
  log(`Runtime overhead (one process, cpu ${opts.threads} threads: TrainingSession.trainStep and a bare run of its own ORT session, alternating step by step)`);
  const w = await BenchWorker.start('overhead', 'runtime-worker.ts', ['overhead', String(opts.threads), String(opts.batch)]);
  try {
    await w.request({ op: 'pairs', steps: 30 }); // warm-up
    const chunk = 50;
    const S = { total: [] as number[], outside: [] as number[] }, B = { total: [] as number[], outside: [] as number[] };
    const diffs: number[] = [];
    for (let done = 0; done < opts.pairs; done += chunk) {
      const r = await w.request({ op: 'pairs', steps: Math.min(chunk, opts.pairs - done) });
      const s = r.session as typeof S, b = r.bare as typeof B;
      S.total.push(...s.total); S.outside.push(...s.outside);
      B.total.push(...b.total); B.outside.push(...b.outside);
      s.total.forEach((x, i) => diffs.push(x - b.total[i]));
    }
    const logicT = (await w.request({ op: 'block', which: 'logic', steps: 2000 })).times as number[];
    const session = summarize(S.total), bare = summarize(B.total), logic = summarize(logicT.slice(200));
    const sessionOutside = summarize(S.outside), bareOutside = summarize(B.outside);
    // Primary: time outside ORT's run, TrainingSession minus the bare loop — measured within each step, so machine
    // load (which mostly lands inside the native run) does not drown it. Cross-check: paired step differences.
    const overheadUs = (sessionOutside.median - bareOutside.median) * 1e3;
    const pairedUs = median(diffs) * 1e3;
    const overheadPct = (overheadUs / 1e3 / bare.median) * 100;
    log(textTable(['per step', 'median', 'p25-p75', 'outside ORT run (median)'], [
      ['TrainingSession.trainStep', fmtMs(session.median), `${fmtMs(session.p25)}-${fmtMs(session.p75)}`, `${(sessionOutside.median * 1e3).toFixed(1)} µs`],
      ['bare run of the same ORT session', fmtMs(bare.median), `${fmtMs(bare.p25)}-${fmtMs(bare.p75)}`, `${(bareOutside.median * 1e3).toFixed(1)} µs`],
      ['runtime JS work alone (stub engine)', `${(logic.median * 1e3).toFixed(1)} µs`, `${(logic.p25 * 1e3).toFixed(1)}-${(logic.p75 * 1e3).toFixed(1)} µs`, ''],
    ]));
    log(`overhead: ${overheadUs.toFixed(0)} µs = ${overheadPct.toFixed(1)}% of the bare step (outside-run time, session - bare, over ${S.total.length} pairs; ` +
      `cross-check, median of paired whole-step differences: ${pairedUs.toFixed(0)} µs)\n`);
    return {
      threads: opts.threads, pairs: S.total.length, session, bare, logic, sessionOutsideUs: sessionOutside.median * 1e3, bareOutsideUs: bareOutside.median * 1e3,
      overheadUs, pairedUs, overheadPct, logicUs: logic.median * 1e3,
      goal: { text: 'runtime overhead <= 5% of the step', met: overheadPct <= 5 },
    };
  } finally {
    await w.close();
  }
}

export async function benchRss(opts: { threads: number; batch: number; warmup: number; steps: number }, log: (s: string) => void): Promise<RssResult> {
  log(`Runtime RSS over ${opts.steps} fused steps (cpu ${opts.threads} threads)`);
  const w = await BenchWorker.start('rss', 'runtime-worker.ts', ['rss', String(opts.threads), String(opts.batch)], { nodeArgs: ['--expose-gc'] });
  try {
    const r = await w.request({ op: 'rss', warmup: opts.warmup, steps: opts.steps }, 600_000);
    // RSS as the process has it, sampled every 100 steps (a forced GC makes malloc hand back a varying part of the
    // heap, so forced-GC samples jump between levels); start and end are the medians of the first and last three
    // samples, so one sample taken just before V8 collects does not decide the result.
    const samples = r.samples as { step: number; raw: number }[];
    const raw = [Number(r.rawStart), ...samples.map((x) => x.raw)];
    const start = median(raw.slice(0, 3)), end = median(raw.slice(-3));
    const growthPct = ((end - start) / start) * 100;
    const gcStart = Number(r.start), gcEnd = Number(r.end);
    // Least-squares trend of the samples taken during the run: a leak is a steady slope, noise is not.
    const xs = samples.map((x) => x.step), ys = samples.map((x) => x.raw);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / Math.max(1e-9, xs.reduce((a, x) => a + (x - mx) ** 2, 0));
    const trendPctPer1000 = ((slope * 1000) / start) * 100;
    const res: RssResult = {
      steps: opts.steps, warmup: opts.warmup, gcAvailable: Boolean(r.gcAvailable), start, end, growthPct, gcStart, gcEnd, gcGrowthPct: ((gcEnd - gcStart) / gcStart) * 100,
      maxRaw: Number(r.maxRaw), heapStart: Number(r.heapStart), heapEnd: Number(r.heapEnd), samples, trendPctPer1000, ms: summarize(r.times as number[]),
      goal: { text: 'RSS flat within 5% over 1,000 fused steps', met: Math.abs(growthPct) <= 5 },
    };
    const mib = (xs2: number[]) => xs2.map((x) => (x / 2 ** 20).toFixed(0)).join(', ');
    log(`RSS after ${opts.warmup} warm-up steps ${fmtBytes(start)}, after ${opts.steps} more ${fmtBytes(end)} (${growthPct >= 0 ? '+' : ''}${growthPct.toFixed(2)}%, trend ${trendPctPer1000.toFixed(2)}% per 1,000 steps); ` +
      `samples every 100 steps ${mib(raw)} MiB; after a full GC ${mib([gcStart])} -> ${mib([gcEnd])} MiB; JS heap after GC ${fmtBytes(res.heapStart)} -> ${fmtBytes(res.heapEnd)}; ${fmtMs(res.ms.median)}/step\n`);
    return res;
  } finally {
    await w.close();
  }
}

export interface ProfileResult {
  readonly threads: number;
  readonly steps: number;
  /** Median model_run time under profiling, µs. */
  readonly runUs: number;
  readonly kernelsPerRun: number;
  readonly byPart: Record<string, { us: number; kernels: number }>;
  readonly byOp: Record<string, number>;
}

/** ORT's profile of the lowered MNIST train step: where a step's kernel time goes. */
export async function benchProfile(opts: { threads: number; batch: number; warmup: number; steps: number }, log: (s: string) => void): Promise<ProfileResult> {
  const w = await BenchWorker.start('profile', 'runtime-worker.ts', ['profile', String(opts.threads), String(opts.batch)]);
  try {
    const r = await w.request({ op: 'profile', warmup: opts.warmup, steps: opts.steps }, 600_000);
    const res: ProfileResult = { threads: opts.threads, steps: opts.steps, runUs: Number(r.runUs), kernelsPerRun: Number(r.kernelsPerRun), byPart: r.byPart as ProfileResult['byPart'], byOp: r.byOp as ProfileResult['byOp'] };
    const total = Object.values(res.byPart).reduce((a, b) => a + b.us, 0);
    log(`ORT profile of the lowered train step (${opts.threads} threads, ${opts.steps} steps): run ${fmtMs(res.runUs / 1e3)} median, ${res.kernelsPerRun.toFixed(0)} kernels/run; kernel time by part: ` +
      Object.entries(res.byPart).map(([k, v]) => `${k} ${(v.us / 1e3).toFixed(2)} ms (${((100 * v.us) / total).toFixed(0)}%, ${v.kernels.toFixed(0)} kernels)`).join(', ') + '\n');
    return res;
  } finally {
    await w.close();
  }
}
