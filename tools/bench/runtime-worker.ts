/**
 * Section 4 (runtime), in its own process: the MNIST fused step through TrainingSession.trainStep (cpu).
 *
 *   tsx tools/bench/runtime-worker.ts overhead <threads> <batch>
 *     Three ways to run the same lowered train_step.onnx on the same batches, in this one process:
 *       'session'  TrainingSession.trainStep (what users call), on onnxruntime-node cpu
 *       'bare'     session.run on the very same onnxruntime-node InferenceSession (same thread pool and arena), feeds
 *                  prepared once, outputs fed back as the next inputs — the least any caller can do
 *       'logic'    TrainingSession.trainStep on a stub engine that returns a canned result at once: the runtime's own
 *                  per-step work (feed checks, state bookkeeping, finiteness check) without ORT or the adapter
 *     Requests: {op: 'pairs', steps} -> {session, bare}, each {total, outside} per step (alternating step by step;
 *     `outside` = the step's time minus the time spent inside ORT's session.run), {op: 'block', which, steps} -> {times}.
 *
 *   tsx tools/bench/runtime-worker.ts profile <threads> <batch>
 *     {op: 'profile', warmup, steps} -> ORT's own profile of the lowered train_step.onnx (bare loop): kernel time
 *     per step by part (forward, backward, optimizer) and by op type, and the number of kernels per step.
 *
 *   node --expose-gc --import tsx tools/bench/runtime-worker.ts rss <threads> <batch>
 *     {op: 'rss', warmup, steps} -> RSS after warm-up and at the end (both after a full GC, and raw), samples.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CoreSession, TrainingSession } from '../../src/runtime/node.js';
import { NodeEngine } from '../../src/runtime/adapters/node.js';
import type { Engine, EngineSession, HostTensor, SessionOptions, TensorArray, TensorType } from '../../src/runtime/engine.js';
import { currentRss, now, serveWorker, type WorkerHandler } from './common.js';
import { batchRing, loweredMnist, mnistPaths, RING } from './mnist-setup.js';
import { stateFromCheckpoint } from '../../src/runtime/state.js';

const [mode, threadsArg, batchArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const batch = Number(batchArg);

const gc = (globalThis as { gc?: () => void }).gc;
function fullGc(): void {
  if (!gc) return;
  for (let i = 0; i < 3; i++) gc();
}

/** An Engine whose fused session answers every run with the same outputs (and the other sessions are never run). */
function cannedEngine(fusedBytes: Uint8Array, outputs: Record<string, HostTensor>): Engine {
  return {
    ep: 'cpu',
    async load(bytes: Uint8Array): Promise<EngineSession> {
      const isFused = bytes === fusedBytes;
      return {
        inputNames: [],
        outputNames: Object.keys(outputs),
        async run() {
          if (!isFused) throw new Error('the canned engine only runs the fused step');
          return outputs;
        },
        async release() {},
      };
    },
  };
}

async function setup(): Promise<WorkerHandler> {
  const ring = batchRing(batch);
  const feedsOf = (k: number) => ({ input: ring[k % RING].images4, labels: ring[k % RING].labels4 });

  if (mode === 'rss') {
    const session = await TrainingSession.create(mnistPaths, { executionProviders: ['cpu'], intraOpNumThreads: threads });
    let k = 0;
    return {
      run: async (steps) => {
        const times: number[] = [];
        for (let j = 0; j < steps; j++, k++) {
          const t0 = now();
          await session.trainStep(feedsOf(k));
          times.push(now() - t0);
        }
        return times;
      },
      async call(req) {
        if (req.op !== 'rss') throw new Error(`unknown op ${String(req.op)}`);
        const warmup = Number(req.warmup), steps = Number(req.steps);
        for (let j = 0; j < warmup; j++, k++) await session.trainStep(feedsOf(k));
        // RSS as the process has it every 100 steps (no forced GC in between: it would change what malloc keeps);
        // a full GC only at the start and the end, for what is really retained.
        const rawStart = currentRss();
        fullGc();
        const start = currentRss();
        const heapStart = process.memoryUsage().heapUsed;
        const samples: { step: number; raw: number }[] = [];
        const times: number[] = [];
        let maxRaw = rawStart;
        for (let j = 1; j <= steps; j++, k++) {
          const t0 = now();
          await session.trainStep(feedsOf(k));
          times.push(now() - t0);
          if (j % 100 === 0 || j === steps) {
            const raw = currentRss();
            maxRaw = Math.max(maxRaw, raw);
            samples.push({ step: j, raw });
          }
        }
        const rawEnd = samples[samples.length - 1].raw;
        fullGc();
        const end = currentRss();
        const heapEnd = process.memoryUsage().heapUsed;
        return { gcAvailable: !!gc, rawStart, start, rawEnd, end, maxRaw, heapStart, heapEnd, samples, times, completedSteps: Number(session.step) };
      },
    };
  }

  if (mode === 'profile') return profileHandler(ring);
  if (mode !== 'overhead') throw new Error(`unknown mode ${mode}`);
  // The session under test is built through a capturing engine so that the bare runs can use the very same
  // onnxruntime-node InferenceSession (same thread pool, same arena): the only difference left is the runtime.
  const bundle = await loweredMnist();
  const engine = new CapturingEngine();
  const tested = await CoreSession.fromBundle(bundle, { engine, session: { threads } });
  const captured = engine.sessions.get(bundle.models.trainStep!) as unknown as { s?: unknown } | undefined;
  const sameSession = typeof (captured?.s as { run?: unknown } | undefined)?.run === 'function';
  if (!sameSession) throw new Error('cannot reach the ORT session inside the node adapter (NodeSession.s); update runtime-worker.ts');
  const bare = captured!.s as ort.InferenceSession;
  // Time spent inside ORT's session.run, whoever calls it: a step's time minus this is what the caller adds.
  let inside = 0;
  const run = bare.run.bind(bare);
  (bare as { run: unknown }).run = async (...args: Parameters<typeof run>) => {
    const t0 = now();
    try {
      return await run(...args);
    } finally {
      inside += now() - t0;
    }
  };
  const m = bundle.manifest;
  const ts = m.trainStep!;
  const feeds: Record<string, ort.Tensor> = {};
  for (const p of m.parameters) {
    const d = tested.getParameter(p.name);
    feeds[p.name] = new ort.Tensor('float32', d.data as Float32Array, d.dims as number[]);
  }
  for (const s of m.optimizer.state) feeds[s.input] = new ort.Tensor('float32', new Float32Array(s.shape.reduce((a, b) => a * b, 1)), s.shape as number[]);
  if (ts.lrInput) feeds[ts.lrInput] = new ort.Tensor('float32', Float32Array.of(m.optimizer.lr), [1]);
  const stepData = BigInt64Array.of(0n);
  feeds[ts.stepInput] = new ort.Tensor('int64', stepData, [1]);
  const images = ring.map((b) => new ort.Tensor('float32', b.images, [batch, 784]));
  const labels = ring.map((b) => new ort.Tensor('int64', b.labels, [batch]));
  const feedBack: [string, string][] = [...Object.entries(ts.paramOutputs).map(([p, o]) => [o, p] as [string, string]), ...Object.entries(ts.stateOutputs).map(([s, o]) => [o, s] as [string, string])];
  let kb = 0;
  let canned: Record<string, HostTensor> | undefined;
  const bareStep = async () => {
    const i = kb % RING;
    stepData[0] = BigInt(++kb);
    feeds.input = images[i];
    feeds.labels = labels[i];
    const out = await bare.run(feeds);
    for (const [o, input] of feedBack) feeds[input] = out[o];
    if (!canned) {
      canned = {};
      for (const [n, t] of Object.entries(out)) canned[n] = { type: t.type as TensorType, dims: t.dims, data: t.data as TensorArray };
    }
    return (out[m.lossOutput].data as Float32Array)[0];
  };
  await bareStep();
  const logic = await CoreSession.fromBundle(bundle, { engine: cannedEngine(bundle.models.trainStep!, canned!) });
  let ks = 0, kl = 0;
  const runners: Record<string, () => Promise<unknown>> = {
    session: () => tested.trainStep(feedsOf(ks++)),
    bare: bareStep,
    logic: () => logic.trainStep(feedsOf(kl++)),
  };
  const timed = async (f: () => Promise<unknown>, into: { total: number[]; outside: number[] }) => {
    const in0 = inside;
    const t0 = now();
    await f();
    const total = now() - t0;
    into.total.push(total);
    into.outside.push(total - (inside - in0));
  };
  return {
    run: () => { throw new Error('use {op: "pairs"} or {op: "block"}'); },
    info: () => ({ sameSession }),
    async call(req) {
      if (req.op === 'pairs') {
        // session and bare alternate step by step (order swapped every pair): both see the same machine load.
        const session = { total: [] as number[], outside: [] as number[] }, bareT = { total: [] as number[], outside: [] as number[] };
        for (let j = 0; j < Number(req.steps); j++) {
          if (j % 2) { await timed(runners.bare, bareT); await timed(runners.session, session); }
          else { await timed(runners.session, session); await timed(runners.bare, bareT); }
        }
        return { session, bare: bareT };
      }
      if (req.op !== 'block') throw new Error(`unknown op ${String(req.op)}`);
      const f = runners[String(req.which)];
      if (!f) throw new Error(`unknown runner ${String(req.which)}`);
      const t = { total: [] as number[], outside: [] as number[] };
      for (let j = 0; j < Number(req.steps); j++) await timed(f, t);
      return { times: t.total };
    },
  };
}

/** ORT profiling of the lowered MNIST train step, bare loop (profiling adds a little per node; read the shares). */
async function profileHandler(ring: ReturnType<typeof batchRing>): Promise<WorkerHandler> {
  const bundle = await loweredMnist();
  const m = bundle.manifest;
  const ts = m.trainStep!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-train-profile-'));
  const s = await ort.InferenceSession.create(bundle.models.trainStep!, {
    executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, enableProfiling: true, profileFilePrefix: path.join(dir, 'p'),
  });
  const st = stateFromCheckpoint(m, bundle.checkpoint);
  const feeds: Record<string, ort.Tensor> = {};
  for (const [n, t] of [...st.params, ...st.optimizer]) feeds[n] = new ort.Tensor('float32', t.data as Float32Array, t.dims as number[]);
  if (ts.lrInput) feeds[ts.lrInput] = new ort.Tensor('float32', Float32Array.of(m.optimizer.lr), [1]);
  const feedBack = [...Object.entries(ts.paramOutputs).map(([p, o]) => [o, p]), ...Object.entries(ts.stateOutputs).map(([x, o]) => [o, x])];
  let k = 0;
  const step = async () => {
    feeds[ts.stepInput] = new ort.Tensor('int64', BigInt64Array.of(BigInt(++k)), [1]);
    feeds.input = new ort.Tensor('float32', ring[k % RING].images, [batch, 784]);
    feeds.labels = new ort.Tensor('int64', ring[k % RING].labels, [batch]);
    const out = await s.run(feeds);
    for (const [o, i] of feedBack) feeds[i] = out[o];
  };
  return {
    run: () => { throw new Error('use {op: "profile"}'); },
    async call(req) {
      if (req.op !== 'profile') throw new Error(`unknown op ${String(req.op)}`);
      for (let j = 0; j < Number(req.warmup); j++) await step();
      for (let j = 0; j < Number(req.steps); j++) await step();
      s.endProfiling();
      await s.release();
      const file = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.endsWith('.json'));
      if (!file) throw new Error('ORT wrote no profile');
      const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
      fs.rmSync(dir, { recursive: true, force: true });
      const runs = events.filter((e) => e.name === 'model_run').slice(Number(req.warmup));
      const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
      const perRun = kernels.length / Math.max(1, events.filter((e) => e.name === 'model_run').length);
      // The last `steps` runs' kernels (the profile holds warm-up runs first).
      const timed = kernels.slice(kernels.length - Math.round(perRun * runs.length));
      const part = (n: string) => (n.startsWith('optim/') ? 'optimizer' : /_?[Gg]rad/.test(n) ? 'backward' : 'forward');
      const byPart: Record<string, { us: number; kernels: number }> = {};
      const byOp: Record<string, number> = {};
      for (const e of timed) {
        const p = part(e.name.replace(/_kernel_time$/, ''));
        byPart[p] ??= { us: 0, kernels: 0 };
        byPart[p].us += e.dur / runs.length;
        byPart[p].kernels += 1 / runs.length;
        const op = e.args?.op_name ?? '?';
        byOp[op] = (byOp[op] ?? 0) + e.dur / runs.length;
      }
      const runUs = runs.map((r) => r.dur).sort((a, b) => a - b)[runs.length >> 1];
      return { runUs, kernelsPerRun: perRun, byPart, byOp };
    },
  };
}

/** NodeEngine, remembering the EngineSession made for each model's bytes. */
class CapturingEngine implements Engine {
  readonly ep = 'cpu' as const;
  readonly sessions = new Map<Uint8Array, EngineSession>();
  private readonly inner = new NodeEngine('cpu');
  async load(bytes: Uint8Array, opts?: SessionOptions): Promise<EngineSession> {
    const s = await this.inner.load(bytes, opts);
    this.sessions.set(bytes, s);
    return s;
  }
}

void serveWorker(setup, () => ({ mode, threads, batch }));
