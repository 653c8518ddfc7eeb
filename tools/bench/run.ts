/**
 * `npm run bench`: every benchmark in one run, measured side by side, written to bench/results.json and
 * bench/results.md (the table the README quotes), with readable tables on stdout as it goes.
 *
 *   1. AdamW step, N in {1e6, 1e7, 5e7}: onnx-train vs JS loop vs TensorFlow.js (wasm) vs numpy, against the
 *      memory-bandwidth bound of the same run; peak RSS over the 16 bytes/param minimum   (section-adamw.ts)
 *   2. MNIST MLP train step: onnx-train (cpu 1/2 threads, wasm) vs tfjs (idiomatic, tuned) vs a hand-written
 *      fused graph on bare onnxruntime-node / -web                                        (section-mnist.ts)
 *   3. fused train step of every real artifact set after lowering                         (section-artifacts.ts)
 *   4. runtime: per-step overhead over a bare ORT run, RSS over 1,000 steps               (section-runtime.ts)
 *   5. browser (Chromium) onnx-train vs tfjs, when tools/bench/web-bench.ts and chromium are there
 *
 * Environment: BENCH_QUICK=1 (small sizes, few repetitions) and BENCH_ONLY=adamw,mnist,artifacts,runtime,web
 * write to bench/tmp/ instead, so a partial run never replaces the committed record — unless BENCH_UPDATE=1 (with
 * BENCH_ONLY) asks to merge the re-measured sections into bench/results.*, dated. BENCH_RENDER=1 measures
 * nothing: it re-renders bench/results.md (and the goals) from bench/results.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BENCH_DIR, REPO_ROOT, fmtMs, fmtN, fmtX, now } from './common.js';
import { benchAdamW, DEFAULT_PLAN, type AdamWPlan } from './section-adamw.js';
import { benchArtifacts, SET_PLANS, type SetPlan } from './section-artifacts.js';
import { benchMnist } from './section-mnist.js';
import { benchOverhead, benchProfile, benchRss } from './section-runtime.js';
import { renderMarkdown, type Results } from './report.js';
import { graphTraffic } from './adamw-onnx.js';

const QUICK = process.env.BENCH_QUICK === '1';
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : undefined;
const want = (s: string) => !ONLY || ONLY.has(s);
const OUT_DIR = QUICK || ONLY ? path.join(REPO_ROOT, 'bench', 'tmp') : path.join(REPO_ROOT, 'bench');
const BATCH = 64;

const log = (s: string) => console.log(s);
const section = (title: string) => log(`\n=== ${title} ${'='.repeat(Math.max(0, 100 - title.length))}\n`);

function versions(): Record<string, string> {
  const v: Record<string, string> = {};
  for (const p of ['onnxruntime-node', 'onnxruntime-web', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) {
    try {
      // Read the file: some of these packages do not export ./package.json.
      v[p] = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', p, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      v[p] = 'missing';
    }
  }
  const py = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  v.numpy = py.status === 0 ? py.stdout.trim() : 'missing';
  return v;
}

/** The Results keys each BENCH_ONLY section writes. */
const SECTION_KEYS: Record<string, readonly (keyof Results)[]> = {
  adamw: ['adamw'], mnist: ['mnist', 'mnistProfile'], artifacts: ['artifacts'], runtime: ['runtime'], web: ['web'],
};

/**
 * BENCH_UPDATE=1 with BENCH_ONLY: replaces just the re-measured sections in bench/results.json (recording when),
 * recomputes the goals and rewrites results.md. Refuses a run whose sections failed, so a crash never erases data.
 */
function update(fresh: Results): void {
  if (!ONLY) throw new Error('BENCH_UPDATE=1 needs BENCH_ONLY=<sections> (a full run rewrites bench/results.* anyway)');
  if (fresh.errors.length) throw new Error(`not updating bench/results.json: ${fresh.errors.join('; ')}`);
  const dir = path.join(REPO_ROOT, 'bench');
  const prior = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as Results;
  const merged: Record<string, unknown> = { ...prior, updated: { ...(prior.updated ?? {}) } };
  for (const sec of ONLY) {
    const keys = SECTION_KEYS[sec];
    if (!keys) throw new Error(`unknown bench section "${sec}" (known: ${Object.keys(SECTION_KEYS).join(', ')})`);
    for (const k of keys) merged[k] = fresh[k];
    (merged.updated as Record<string, string>)[sec] = fresh.environment.date;
  }
  const out = { ...(merged as unknown as Results), goals: goals(merged as unknown as Results) };
  fs.writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify(out, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'results.md'), `${renderMarkdown(out)}\n`);
  log(`updated ${[...ONLY].join(', ')} in bench/results.json and rewrote bench/results.md`);
}

/** BENCH_RENDER=1: recompute the goals and rewrite results.md from bench/results.json (no measuring). */
function rerender(): void {
  const dir = path.join(REPO_ROOT, 'bench');
  const results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as Results;
  const out = { ...results, goals: goals(results) };
  fs.writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify(out, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'results.md'), `${renderMarkdown(out)}\n`);
  log(`rewrote bench/results.md from bench/results.json (measured ${results.environment.date})`);
}

async function main(): Promise<void> {
  if (process.env.BENCH_RENDER === '1') return rerender();
  const t0 = now();
  const errors: string[] = [];
  const environment: Results['environment'] = {
    date: new Date().toISOString(), cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memory: os.totalmem(), node: process.versions.node,
    versions: versions(), loadAvgStart: os.loadavg(), quick: QUICK,
  };
  log(`onnx-train benchmarks${QUICK ? ' (QUICK)' : ''}: ${environment.cpu}, ${environment.cores} cores, load average ${environment.loadAvgStart.map((x) => x.toFixed(1)).join(' ')}`);
  const results: { -readonly [K in keyof Results]: Results[K] } = { environment, goals: [], errors };

  const guard = async <T>(name: string, f: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (e) {
      errors.push(`${name}: ${(e as Error).message}`);
      log(`${name} FAILED: ${(e as Error).stack ?? e}`);
      return undefined;
    }
  };

  if (want('adamw')) {
    section('1. AdamW optimizer step');
    const plans: AdamWPlan[] = QUICK ? [{ n: 1e6, rounds: 3, steps: 4, warmup: 2 }, { n: 1e7, rounds: 2, steps: 1, warmup: 1 }] : [...DEFAULT_PLAN];
    const r = await guard('adamw', () => benchAdamW(plans, log));
    if (r) results.adamw = { ...r, graph: graphTraffic() };
  }
  if (want('mnist')) {
    section('2. MNIST MLP train step');
    results.mnist = await guard('mnist', () => benchMnist({ batch: BATCH, rounds: QUICK ? 4 : 24, warmupSteps: 20 }, log));
    results.mnistProfile = await guard('mnist profile', () => benchProfile({ threads: 2, batch: BATCH, warmup: 50, steps: QUICK ? 50 : 200 }, log));
  }
  if (want('artifacts')) {
    section('3. Real artifact sets, fused train step after lowering');
    const plans: SetPlan[] = QUICK ? SET_PLANS.map((p) => ({ ...p, batches: p.batches.slice(0, 1), steps: Math.max(2, Math.ceil(p.steps / 4)) })) : [...SET_PLANS];
    results.artifacts = await guard('artifacts', () => benchArtifacts(plans, 2, log));
  }
  if (want('runtime')) {
    section('4. Runtime: per-step overhead and RSS');
    const overhead = await guard('overhead', () => benchOverhead({ threads: 2, batch: BATCH, pairs: QUICK ? 100 : 400 }, log));
    const rss = await guard('rss', () => benchRss({ threads: 2, batch: BATCH, warmup: QUICK ? 200 : 300, steps: QUICK ? 300 : 1000 }, log));
    results.runtime = { overhead, rss };
  }
  if (want('web')) {
    section('5. Browser: onnx-train vs TensorFlow.js in Chromium');
    const file = path.join(BENCH_DIR, 'web-bench.ts');
    if (!fs.existsSync(file)) results.web = { skipped: 'tools/bench/web-bench.ts is not present' };
    else {
      try {
        const mod = (await import('./web-bench.js')) as { runWebBench(o?: { log?: (s: string) => void }): Promise<unknown> };
        results.web = { result: await mod.runWebBench({ log: (s) => log(`  ${s}`) }) };
      } catch (e) {
        results.web = { skipped: (e as Error).message.split('\n')[0] };
        log(`  not measured: ${results.web.skipped}`);
      }
    }
  }

  results.goals = goals(results);
  results.environment = { ...environment, loadAvgEnd: os.loadavg(), wallSeconds: (now() - t0) / 1e3 };
  if (process.env.BENCH_UPDATE === '1') return update(results);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(path.join(OUT_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(OUT_DIR, 'results.md'), `${renderMarkdown(results)}\n`);
  section('Goals');
  for (const g of results.goals) log(`${g.met ? 'MET   ' : 'MISSED'} ${g.goal}: ${g.measured}${g.why && !g.met ? `\n       why: ${g.why}` : ''}`);
  log(`\nwrote ${path.relative(REPO_ROOT, path.join(OUT_DIR, 'results.md'))} and results.json in ${(results.environment.wallSeconds! / 60).toFixed(1)} min`);
}

/** The goals of the issue, each with the measured value and, when missed, the reason the same run shows. */
function goals(r: Results): Results['goals'] {
  const g: { goal: string; met: boolean; measured: string; why?: string }[] = [];
  if (r.adamw) {
    const traffic = r.adamw.graph;
    const per = r.adamw.sizes.map((s) => {
      const ours = s.impls.filter((x) => x.impl.startsWith('onnx-train') && !x.variant && x.ms).sort((a, b) => a.ms!.median - b.ms!.median)[0];
      const glibc = s.impls.find((x) => x.impl === 'onnx-train-1t-glibc' && x.ms);
      const floor = s.impls.find((x) => x.impl === 'onnx-train-floor' && x.ms);
      const peers = s.impls.filter((x) => !x.impl.startsWith('onnx-train') && x.ms).sort((a, b) => a.ms!.median - b.ms!.median);
      return { s, ours, glibc, floor, best: peers[0] };
    });
    const boundOk = per.every((w) => w.ours && w.ours.xBound! <= 2);
    const aheadOk = per.every((w) => w.ours && (!w.best || w.ours.ms!.median <= w.best.ms!.median));
    const n = (w: (typeof per)[number]) => `N=${fmtN(w.s.n)}`;
    const measuredBound = per.map((w) => `${n(w)}: ${w.ours ? `${fmtX(w.ours.xBound!)} ${w.ours.label.replace('onnx-train ', '')}` : 'failed'}`).join('; ');
    const measuredPeers = per.map((w) => `${n(w)}: onnx-train ${w.ours ? fmtMs(w.ours.ms!.median) : 'failed'}, fastest peer ${w.best ? `${w.best.label} ${fmtMs(w.best.ms!.median)}` : 'n/a'}`).join('; ');
    const glibcTxt = per.filter((w) => w.glibc).map((w) => `${n(w)}: ${fmtX(w.glibc!.xBound!)} the bound, ${((w.glibc!.faultsPerStep! * 4096) / w.s.n).toFixed(1)} bytes/param faulted in afresh per step`);
    const floorTxt = per.filter((w) => w.floor).map((w) => `${n(w)}: ${fmtX(w.floor!.xBound!)} (${((w.floor!.ms!.median * 1e6) / w.s.n).toFixed(2)} ns/param)`);
    const floors = per.filter((w) => w.floor).map((w) => w.floor!.xBound!);
    const halfFloor = floors.length ? Math.min(...floors) / 2 : undefined;
    const why = [
      'onnxruntime-node hands every output back in a fresh buffer, even one written in place into a tensor passed in `fetches` (so 12 of the 28 bytes/param are copied again every step, and with glibc\'s malloc defaults page-faulted in afresh: ' +
        `${glibcTxt.join('; ') || 'not measured'}; the CLI therefore runs with malloc tuned, see src/runtime/process-env.ts).`,
      traffic ? `The graph is the minimal elementwise form (${traffic.nodes} nodes, 13 of them N-sized: no ONNX op fuses them, and ORT's CPU EP runs each as its own pass, ${traffic.bytesPerParam} bytes/param of tensor traffic).` : '',
      floorTxt.length ? `Even with no memory traffic at all — the same graph on one cache-resident 64 Ki-param chunk, scaled to N, one thread — ORT's kernels plus the binding take ${floorTxt.join('; ')} the bound; split perfectly over both cores that is still >= ${fmtX(halfFloor!)}, so <= 2x is out of reach for this graph of standard ops on onnxruntime-node's CPU EP on this machine (it would take a fused native kernel, a custom op, which stock runtimes do not run).` : '',
    ].filter(Boolean).join(' ');
    g.push({ goal: 'AdamW: onnx-train <= 2x the memory-bandwidth bound', met: boundOk, measured: measuredBound, why });
    g.push({
      goal: 'AdamW: onnx-train ahead of every peer (JS loop, tfjs-wasm, numpy)', met: aheadOk, measured: measuredPeers,
      why: 'numpy (about 10 in-place passes into one preallocated scratch buffer) and the single-pass JS loop neither copy their outputs nor run 13 separate kernels; see the reasons above.',
    });
  }
  if (r.mnist) {
    const m = r.mnist;
    const at = (k: string) => m.impls.find((x) => x.key === k)?.ms?.median;
    const ot = at('ot-cpu2'), hand = at('hand-cpu2'), bare = at('bare-cpu2');
    const o = r.runtime?.overhead;
    const parts: string[] = [];
    if (hand !== undefined) parts.push(`the hand-written fused graph with no framework at all needs ${fmtMs(hand)} per step in the same run (the earlier reference for it was 2.43 ms)`);
    if (bare !== undefined) parts.push(`the lowered train_step.onnx on a bare ORT session ${fmtMs(bare)}`);
    if (o) parts.push(`the runtime adds ${o.overheadUs.toFixed(0)} µs`);
    const pr = r.mnistProfile;
    if (pr) {
      const total = Object.values(pr.byPart).reduce((a, b) => a + b.us, 0);
      parts.push(`ORT's profile of the lowered step: ${pr.kernelsPerRun.toFixed(0)} kernels per step, ${Object.entries(pr.byPart).map(([k, v]) => `${k} ${((100 * v.us) / total).toFixed(0)}% (${v.kernels.toFixed(0)} kernels)`).join(', ')} of kernel time`);
    }
    g.push({
      goal: 'MNIST train step (lowered real artifacts, cpu 2 threads) <= 1.6 ms', met: m.goal.met, measured: `${fmtMs(ot ?? NaN)} median` +
        (hand !== undefined ? ` (hand-written graph ${fmtMs(hand)}, ratio ${fmtX((ot ?? NaN) / hand)})` : ''),
      why: `${parts.join('; ')}. ${hand !== undefined && hand > 1.6 ? 'So the ORT CPU kernels alone exceed 1.6 ms on this loaded 2-core machine; the goal needs less work per step (fewer optimizer passes), not less runtime.' : ''}`.trim(),
    });
  }
  const o = r.runtime?.overhead;
  if (o) {
    g.push({
      goal: 'runtime overhead <= 5% of the step', met: o.goal.met, measured: `${o.overheadUs.toFixed(0)} µs = ${o.overheadPct.toFixed(1)}% of the ${fmtMs(o.bare.median)} bare step`,
      why: `per step, TrainingSession spends ${o.sessionOutsideUs.toFixed(0)} µs outside ORT's run against ${o.bareOutsideUs.toFixed(0)} µs for the bare loop; its bookkeeping alone (stub engine, warm caches) is ${o.logicUs.toFixed(1)} µs, ` +
        'the rest is the node adapter (an ort.Tensor per input, a HostTensor per output) and the same code running with caches cold after ORT\'s run.',
    });
  }
  const s = r.runtime?.rss;
  if (s) {
    g.push({
      goal: 'RSS flat within 5% over 1,000 fused steps', met: s.goal.met,
      measured: `${(s.growthPct >= 0 ? '+' : '') + s.growthPct.toFixed(2)}% (${(s.start / 2 ** 20).toFixed(0)} -> ${(s.end / 2 ** 20).toFixed(0)} MiB; trend ${s.trendPctPer1000.toFixed(2)}% per 1,000 steps; JS heap after GC ${(s.heapStart / 2 ** 20).toFixed(1)} -> ${(s.heapEnd / 2 ** 20).toFixed(1)} MiB)`,
      why: `RSS every 100 steps: ${s.samples.map((x) => (x.raw / 2 ** 20).toFixed(0)).join(', ')} MiB.`,
    });
  }
  return g;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
