/**
 * Browser benchmark: onnx-train (TrainingSession on onnxruntime-web) against TensorFlow.js, in the same page and
 * on the same backend, WebGPU and wasm — the same MLP (784 -> 500 ReLU -> 10), initial weights (the fixture's
 * checkpoint), batches (MNIST, batch 64) and Adam settings; both read the loss back every step. Samples/s count
 * the steps after 5 untimed warm-up steps (shader and kernel compilation). Rounds alternate the two runtimes and the
 * best round counts, so that load from other processes on a shared machine skews neither side.
 *
 * `runWebBench()` builds web/dist when stale, serves it (COOP/COEP), drives headless Chromium (Debian's chromium,
 * WebGPU on SwiftShader here, so WebGPU numbers measure a software GPU) and returns the numbers; `npm run bench`
 * calls it, and `npx tsx tools/bench/web-bench.ts` prints them.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumProblem, launchBrowser } from '../web/browser.js';
import { buildWeb } from '../web/build.js';
import { serveStatic } from '../web/serve.js';

export interface WebBenchRow {
  readonly runtime: 'onnx-train' | 'tfjs';
  readonly backend: 'webgpu' | 'wasm';
  /** Best round (the least disturbed by other load on the machine). */
  readonly samplesPerSec: number;
  readonly median: number;
  /** samples/s of every round, in order (rounds alternate onnx-train and tfjs). */
  readonly rounds: readonly number[];
  readonly firstLoss: number;
  readonly lastLoss: number;
  readonly steps: number;
  readonly batch: number;
}

export interface WebBenchResult {
  readonly name: 'web-mnist-mlp';
  readonly browser: string;
  readonly adapter: string;
  readonly batch: number;
  /** Per backend: best-round samples/s of both runtimes, onnx-train / tfjs of those, and of the medians. */
  readonly backends: Record<string, { onnxTrain: number; tfjs: number; ratio: number; medianRatio: number; rounds: number; steps: number; lastLoss: { onnxTrain: number; tfjs: number } }>;
  readonly rows: readonly WebBenchRow[];
}

export interface WebBenchOptions {
  /** Steps per run and backend (5 of them untimed). Default: webgpu 25 (a software GPU is slow), wasm 60. */
  readonly steps?: Partial<Record<'webgpu' | 'wasm', number>>;
  readonly batch?: number;
  /** Alternating rounds per backend (default 3); the best round counts. */
  readonly rounds?: number;
  readonly backends?: readonly ('webgpu' | 'wasm')[];
  readonly log?: (s: string) => void;
}

export async function runWebBench(opts: WebBenchOptions = {}): Promise<WebBenchResult> {
  const problem = chromiumProblem();
  if (problem) throw new Error(problem);
  const log = opts.log ?? (() => undefined);
  const batch = opts.batch ?? 64;
  const steps = { webgpu: 25, wasm: 60, ...opts.steps };
  const rounds = opts.rounds ?? 3;
  await buildWeb({ log });
  const server = await serveStatic();
  const rows: WebBenchRow[] = [];
  const backends: WebBenchResult['backends'] = {};
  let browserVersion = '';
  let adapter = '';
  try {
    for (const ep of opts.backends ?? (['webgpu', 'wasm'] as const)) {
      const b = await launchBrowser();
      try {
        browserVersion = b.context.browser()?.version() ?? browserVersion;
        await b.page.goto(`${server.url}?ep=${ep}&placement=0`);
        await b.page.evaluate(() => (window as unknown as { onnxTrain: { ready: Promise<void> } }).onnxTrain.ready);
        if (ep === 'webgpu') {
          adapter = await b.page.evaluate(async () => {
            const a = await (navigator as unknown as { gpu: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string } } | null> } }).gpu.requestAdapter();
            return a?.info ? `${a.info.vendor} ${a.info.architecture}` : 'unknown';
          });
        }
        log(`${ep}: ${rounds} rounds of ${steps[ep]} steps of ${batch}, onnx-train and TensorFlow.js alternating…`);
        const r = await b.page.evaluate(([s, bs, n]) => (window as unknown as { onnxTrain: { bench(s: number, b: number, n: number): Promise<WebBenchRow[]> } }).onnxTrain.bench(s, bs, n), [steps[ep], batch, rounds] as const);
        rows.push(...r);
        const o = r.find((x) => x.runtime === 'onnx-train')!;
        const t = r.find((x) => x.runtime === 'tfjs')!;
        backends[ep] = { onnxTrain: o.samplesPerSec, tfjs: t.samplesPerSec, ratio: o.samplesPerSec / t.samplesPerSec, medianRatio: o.median / t.median, rounds, steps: steps[ep], lastLoss: { onnxTrain: o.lastLoss, tfjs: t.lastLoss } };
        log(`${ep}: onnx-train ${o.samplesPerSec.toFixed(0)} samples/s, tfjs ${t.samplesPerSec.toFixed(0)} samples/s (best of ${rounds}), ratio ${(o.samplesPerSec / t.samplesPerSec).toFixed(2)} (medians: ${(o.median / t.median).toFixed(2)}); rounds ${o.rounds.map((x) => x.toFixed(0)).join('/')} vs ${t.rounds.map((x) => x.toFixed(0)).join('/')}`);
      } finally {
        await b.close();
      }
    }
  } finally {
    await server.close();
  }
  return { name: 'web-mnist-mlp', browser: `chromium ${browserVersion}`.trim(), adapter: adapter || 'n/a', batch, backends, rows };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await runWebBench({ log: (s) => console.error(s) });
  console.log(JSON.stringify(r, null, 2));
}
