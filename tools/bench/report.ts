/**
 * results.json -> results.md: the tables the README quotes, the goals with met/missed, and for every miss the
 * reason as the numbers of the same run show it.
 */
import type { AdamWResult } from './section-adamw.js';
import type { SetResult } from './section-artifacts.js';
import type { MnistResult } from './section-mnist.js';
import type { OverheadResult, ProfileResult, RssResult } from './section-runtime.js';
import { fmtBytes, fmtMs, fmtN, fmtX, mdTable } from './common.js';

export interface Environment {
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memory: number;
  readonly node: string;
  readonly versions: Record<string, string>;
  readonly loadAvgStart: readonly number[];
  readonly loadAvgEnd?: readonly number[];
  readonly wallSeconds?: number;
  readonly quick: boolean;
}

export interface WebSection {
  readonly skipped?: string;
  readonly result?: unknown;
}

export interface Results {
  readonly environment: Environment;
  readonly adamw?: AdamWResult & { readonly graph?: { nodes: number; bytesPerParam: number } };
  readonly mnist?: MnistResult;
  readonly mnistProfile?: ProfileResult;
  readonly artifacts?: readonly SetResult[];
  readonly runtime?: { readonly overhead?: OverheadResult; readonly rss?: RssResult };
  readonly web?: WebSection;
  readonly goals: readonly { readonly goal: string; readonly met: boolean; readonly measured: string; readonly why?: string }[];
  readonly errors: readonly string[];
  /** Sections re-measured later with BENCH_UPDATE=1 (section -> ISO date); the others date from `environment`. */
  readonly updated?: Readonly<Record<string, string>>;
}

const ms = (x: number | undefined) => (x === undefined ? 'n/a' : fmtMs(x));
const pct = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}%`;

export function renderMarkdown(r: Results): string {
  const e = r.environment;
  const out: string[] = [];
  out.push('# onnx-train benchmarks', '');
  out.push(`Measured by \`npm run bench\` on ${e.date.slice(0, 10)}: ${e.cpu}, ${e.cores} cores, ${fmtBytes(e.memory)} RAM, Node ${e.node}, ` +
    `${Object.entries(e.versions).map(([k, v]) => `${k} ${v}`).join(', ')}. ` +
    `Load average at start ${e.loadAvgStart.map((x) => x.toFixed(1)).join('/')}${e.loadAvgEnd ? `, at end ${e.loadAvgEnd.map((x) => x.toFixed(1)).join('/')}` : ''}` +
    `${e.wallSeconds ? `; the whole run took ${(e.wallSeconds / 60).toFixed(1)} min` : ''}.${e.quick ? ' **QUICK MODE (BENCH_QUICK=1): reduced sizes and repetitions, not for the README.**' : ''}` +
    (r.updated ? ` Re-measured since (BENCH_UPDATE=1, same machine kind): ${Object.entries(r.updated).map(([k, d]) => `${k} on ${d.slice(0, 16).replace('T', ' ')} UTC`).join(', ')}.` : ''));
  out.push('');
  out.push('This is a small shared CPU machine with other processes running: every implementation runs in its own process and ' +
    'the measurements alternate between them round by round, so load bursts hit all of them; numbers are medians over all ' +
    'rounds. Read the **ratios** (measured side by side); absolute times on this machine are only indicative.', '');

  out.push('## Goals', '');
  out.push(mdTable(['goal', 'status', 'measured'], r.goals.map((g) => [g.goal, g.met ? 'met' : '**missed**', g.measured]), ['l', 'l', 'l']));
  out.push('');
  const misses = r.goals.filter((g) => !g.met && g.why);
  if (misses.length) {
    out.push('Why the missed goals are missed:', '');
    for (const g of misses) out.push(`- **${g.goal}** — ${g.why}`);
    out.push('');
  }

  if (r.adamw) {
    out.push('## 1. AdamW optimizer step', '');
    out.push('One transformers-AdamW update of N float32 parameters, in place. Bound = 28 bytes/param (read p, g, m, v; write p, m, v) ' +
      'at the single-core copy bandwidth (`TypedArray.set` of 128 MiB) measured in the same run, interleaved with the implementations. ' +
      'Peak RSS is the process high-water mark over the 16 bytes/param that p, g, m, v need; "above baseline" subtracts the RSS of the ' +
      'process after loading its runtime, before allocating anything N-sized.', '');
    const rows: string[][] = [];
    for (const s of r.adamw.sizes) {
      for (const x of s.impls) {
        rows.push(x.error
          ? [fmtN(s.n), x.label, 'failed', '', '', '', '', x.error.slice(0, 80)]
          : [fmtN(s.n), x.label, ms(x.ms!.median), fmtX(x.xBound!), x.faultsPerStep!.toFixed(0), fmtBytes(x.peakRss!), fmtX(x.rssOverMin!, 1), fmtX(x.rssAboveBaselineOverMin!, 2)]);
      }
    }
    out.push(mdTable(['N', 'implementation', 'ms/step', 'x bound', 'page faults/step', 'peak RSS', 'RSS / 16N', 'above baseline / 16N'], rows, ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r']));
    out.push('');
    out.push(r.adamw.sizes.map((s) => `N=${fmtN(s.n)}: copy bandwidth ${(s.copyBandwidth / 1e9).toFixed(1)} GB/s, bound ${ms(s.boundMs)}/step, ` +
      `${s.rounds} rounds x ${s.stepsPerRound} step(s)${typeof s.checksumMaxRelDiff === 'number' && Number.isFinite(s.checksumMaxRelDiff) ? `, parameter checksums agree to ${s.checksumMaxRelDiff.toExponential(1)}` : ''}.`).join(' '));
    if (r.adamw.graph) out.push('', `onnx-train's AdamW graph (src/ops/optim, as built in this run): ${r.adamw.graph.nodes} nodes; its N-sized tensor traffic is ${r.adamw.graph.bytesPerParam} bytes/param per step if every node is a separate pass (${(r.adamw.graph.bytesPerParam / 28).toFixed(1)}x the 28-byte minimum).`);
    out.push('');
  }

  if (r.mnist) {
    const m = r.mnist;
    out.push('## 2. MNIST MLP train step', '');
    out.push(`784-500-10 MLP (Gemm+Relu, softmax cross-entropy mean), batch ${m.batch}, AdamW with the artifacts' settings; same initial weights ` +
      '(the mnist-mlp-web checkpoint) and the same MNIST batches everywhere; the loss is read back every step. onnx-train = ' +
      '`TrainingSession.create` on the original ORT artifacts (lowered on the fly) and `trainStep()` (one fused graph run). ' +
      '"wasm" is onnxruntime-web in Node with 1 thread (what onnx-train\'s createEngine picks on 2 cores). ' +
      `${m.rounds} interleaved rounds.`, '');
    out.push(mdTable(['implementation', 'ms/step', 'samples/s', 'onnx-train (cpu, 2 threads) speed-up', `loss after ${m.lossStep} steps`, 'earlier reference'],
      m.impls.map((x) => x.error ? [x.label, 'failed', '', '', '', x.error.slice(0, 80)] : [
        x.label, ms(x.ms!.median), x.samplesPerSec!.toFixed(0), fmtX(1 / m.vsOtCpu2[x.key]), x.lossAtStep!.toFixed(4), x.earlierMs ? ms(x.earlierMs) : '',
      ]), ['l', 'r', 'r', 'r', 'r', 'r']));
    out.push('');
    out.push('"speed-up" = this implementation\'s time / onnx-train (cpu, 2 threads) time (> 1: onnx-train is faster). tf.train.adam adds epsilon ' +
      'after the bias correction (torch style), ORT AdamW mode 1 before it (transformers style), hence the slightly different tfjs losses.');
    const pr = r.mnistProfile;
    if (pr) {
      const total = Object.values(pr.byPart).reduce((a, b) => a + b.us, 0);
      const ops = Object.entries(pr.byOp).sort((a, b) => b[1] - a[1]).slice(0, 6);
      out.push('', `Where the lowered step's time goes (ORT's own profiler, ${pr.threads} threads, ${pr.steps} steps, bare session): ${pr.kernelsPerRun.toFixed(0)} kernels per step; ` +
        `${Object.entries(pr.byPart).map(([k, v]) => `${k} ${(v.us / 1e3).toFixed(2)} ms = ${((100 * v.us) / total).toFixed(0)}% (${v.kernels.toFixed(0)} kernels)`).join(', ')}; ` +
        `by op: ${ops.map(([k, v]) => `${k} ${(v / 1e3).toFixed(2)} ms`).join(', ')}.`);
    }
    const o = r.runtime?.overhead;
    if (o) out.push('', `Runtime overhead over a bare onnxruntime-node run of the same train_step.onnx with the same feeds (one process, ${o.threads} threads, alternating step by step on the same ORT session): ` +
      `**${o.overheadUs.toFixed(0)} µs/step = ${o.overheadPct.toFixed(1)}%** of the ${ms(o.bare.median)} bare step (time outside ORT's run: ${o.sessionOutsideUs.toFixed(0)} µs vs ${o.bareOutsideUs.toFixed(0)} µs, ${o.pairs} pairs); the runtime's own JS work alone is ${o.logicUs.toFixed(1)} µs.`);
    out.push('');
  }

  if (r.artifacts) {
    out.push('## 3. Real artifact sets after lowering', '');
    out.push('Fused train step (`TrainingSession.trainStep`, cpu, 2 threads) of each original ORT artifact set, lowered and augmented in memory; synthetic inputs.', '');
    out.push(mdTable(['set', 'params (trainable / frozen)', 'batch', 'ms/step', 'samples/s', 'lowering', 'session create', 'peak RSS'],
      r.artifacts.flatMap((s) => s.skipped ? [[s.set, '', '', 'skipped', '', s.skipped.slice(0, 100), '', '']] : s.runs.map((x) => [
        s.set, `${s.trainableParams!.toLocaleString('en-US')} / ${s.frozenParams!.toLocaleString('en-US')}${s.randomInit ? ' (random init: no checkpoint)' : ''}`, String(x.batch),
        x.ms ? ms(x.ms.median) : `failed: ${x.error}`, x.samplesPerSec?.toFixed(1) ?? '', ms(s.lowerMs), ms(s.createMs), fmtBytes(s.peakRss!),
      ])), ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
    out.push('');
  }

  if (r.runtime) {
    out.push('## 4. Runtime', '');
    const rows: string[][] = [];
    const o = r.runtime.overhead;
    if (o) {
      rows.push(['TrainingSession.trainStep (MNIST, cpu)', ms(o.session.median)]);
      rows.push(['bare ORT session.run of the same train_step.onnx', ms(o.bare.median)]);
      rows.push(['time per step outside ORT session.run: TrainingSession / bare loop', `${o.sessionOutsideUs.toFixed(0)} µs / ${o.bareOutsideUs.toFixed(0)} µs`]);
      rows.push(['per-step overhead (difference of the above)', `${o.overheadUs.toFixed(0)} µs (${o.overheadPct.toFixed(1)}% of the bare step)`]);
      rows.push(['cross-check: median of paired whole-step differences (noisy)', `${o.pairedUs.toFixed(0)} µs`]);
      rows.push(["runtime's own JS work per step (stub engine)", `${o.logicUs.toFixed(1)} µs`]);
    }
    const s = r.runtime.rss;
    if (s) {
      rows.push([`RSS after ${s.warmup} warm-up steps (median of the first 3 samples)`, fmtBytes(s.start)]);
      rows.push([`RSS after ${s.steps} more fused steps (median of the last 3 samples)`, `${fmtBytes(s.end)} (${pct(s.growthPct)})`]);
      rows.push(['RSS every 100 steps (MiB)', s.samples.map((x) => (x.raw / 2 ** 20).toFixed(0)).join(', ')]);
      rows.push(['least-squares trend of those samples', `${s.trendPctPer1000 >= 0 ? '+' : ''}${s.trendPctPer1000.toFixed(2)}% per 1,000 steps`]);
      rows.push(['RSS right after a forced full GC: after warm-up -> end (a forced GC lets malloc hand back a varying part of the heap: single samples, not a trend)',
        `${fmtBytes(s.gcStart)} -> ${fmtBytes(s.gcEnd)} (${pct(s.gcGrowthPct)})`]);
      rows.push(['JS heap used after GC: start -> end (where a leak of JS objects would show)', `${fmtBytes(s.heapStart)} -> ${fmtBytes(s.heapEnd)}`]);
      rows.push([`median step over the ${s.steps} steps`, ms(s.ms.median)]);
    }
    out.push(mdTable(['measure', 'value'], rows));
    out.push('');
  }

  if (r.web) {
    out.push('## 5. Browser (Chromium): onnx-train vs TensorFlow.js', '');
    if (r.web.skipped) out.push(`Not measured: ${r.web.skipped}`);
    else {
      type Backend = { onnxTrain?: number; tfjs?: number; ratio?: number; medianRatio?: number; rounds?: number; steps?: number };
      type Row = { runtime: string; backend: string; samplesPerSec?: number; median?: number };
      const w = r.web.result as { browser?: string; adapter?: string; batch?: number; backends?: Record<string, Backend>; rows?: Row[] };
      const med = (rt: string, be: string) => w.rows?.find((x) => x.runtime === rt && x.backend === be)?.median;
      out.push(`${w.browser ?? 'chromium'}, WebGPU adapter "${w.adapter ?? 'n/a'}" (SwiftShader = a software GPU: those numbers are CPU numbers), batch ${w.batch ?? '?'}; ` +
        'same MLP, weights, batches and Adam settings, onnx-train and tfjs alternating in one page (tools/bench/web-bench.ts).', '');
      out.push(mdTable(['backend', 'onnx-train samples/s (median / best round)', 'TensorFlow.js samples/s (median / best round)', 'onnx-train / tfjs (medians)', 'rounds x steps'],
        Object.entries(w.backends ?? {}).map(([k, b]) => {
          const mo = med('onnx-train', k), mt = med('tfjs', k);
          return [k, `${mo?.toFixed(0) ?? 'n/a'} / ${b.onnxTrain?.toFixed(0) ?? 'n/a'}`, `${mt?.toFixed(0) ?? 'n/a'} / ${b.tfjs?.toFixed(0) ?? 'n/a'}`,
            fmtX(b.medianRatio ?? (mo !== undefined && mt !== undefined ? mo / mt : NaN)), `${b.rounds ?? 1} x ${b.steps ?? '?'}`];
        })));
    }
    out.push('');
  }

  if (r.errors.length) {
    out.push('## Errors', '', ...r.errors.map((x) => `- ${x}`), '');
  }
  return out.join('\n');
}
