/**
 * One AdamW implementation on N float32 params, in its own process (so its peak RSS is its own), served over the
 * bench worker protocol (common.ts) so that run.ts can interleave it with the others.
 *
 * Usage: tsx tools/bench/adamw-worker.ts <impl> <N> [threads]
 *   impl: copy (memcpy bandwidth probe, 2 x 128 MiB) | js | tfjs-wasm | onnx-train | onnx-train-chunk (in-cache floor)
 *
 * Every implementation is transformers AdamW (decoupled decay after the Adam step, bias correction folded into
 * the step size), in place: p, g, m, v are the only N-sized buffers an ideal implementation touches, 28 bytes
 * per param per step (read p, g, m, v; write p, m, v).
 */
import { ADAMW } from './adamw-onnx.js';
import { copyTimes, currentRss, minorFaults, now, serveWorker, type WorkerHandler } from './common.js';

const [impl, nArg, threadsArg] = process.argv.slice(2);
const N = Number(nArg);
const threads = Number(threadsArg ?? 1);
const { b1, b2, eps, lr, wd } = ADAMW;
let baselineRss = 0;

function init(): { p: Float32Array; g: Float32Array; m: Float32Array; v: Float32Array } {
  const p = new Float32Array(N), g = new Float32Array(N), m = new Float32Array(N), v = new Float32Array(N);
  for (let i = 0; i < N; i++) { p[i] = Math.sin(i) * 0.1; g[i] = Math.cos(i) * 0.01; }
  return { p, g, m, v };
}

/** Sum of the first 4096 params: the runs agree when every impl applied the same number of steps. */
function checksum(p: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < Math.min(4096, p.length); i++) s += p[i];
  return s;
}

function stepSizeAt(t: number): number {
  return lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
}

/** The hand-written loop: one pass, everything in registers. A separate function so V8 optimises it whole. */
function jsStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, t: number): void {
  const stepSize = stepSizeAt(t);
  const decay = 1 - lr * wd;
  const c1 = 1 - b1, c2 = 1 - b2;
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const mi = b1 * m[i] + c1 * gi;
    const vi = b2 * v[i] + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = (p[i] - stepSize * mi / (Math.sqrt(vi) + eps)) * decay;
  }
}

async function setup(): Promise<WorkerHandler> {
  if (impl === 'copy') {
    baselineRss = currentRss();
    const n = 32 * 1024 * 1024;
    const a = new Float32Array(n).fill(1);
    const b = new Float32Array(n);
    b.set(a); // fault the pages in
    return {
      run: (steps) => copyTimes(a, b, steps),
      info: () => ({ bytesPerCopy: 2 * n * 4, baselineRss }),
    };
  }
  if (impl === 'js') {
    baselineRss = currentRss();
    const { p, g, m, v } = init();
    let t = 0;
    return {
      run(steps) {
        const times: number[] = [];
        for (let s = 0; s < steps; s++) {
          const t0 = now();
          jsStep(p, g, m, v, ++t);
          times.push(now() - t0);
        }
        return times;
      },
      info: () => ({ checksum: checksum(p), steps: t, baselineRss }),
    };
  }
  if (impl === 'tfjs-wasm') {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not initialise');
    await tf.ready();
    baselineRss = currentRss();
    const d = init();
    const p = tf.variable(tf.tensor1d(d.p)), g = tf.tensor1d(d.g), m = tf.variable(tf.tensor1d(d.m)), v = tf.variable(tf.tensor1d(d.v));
    let t = 0;
    // Idiomatic tfjs: the same formula as ops, one tidy per state tensor so temporaries die early.
    return {
      run(steps) {
        const times: number[] = [];
        for (let s = 0; s < steps; s++) {
          const stepSize = stepSizeAt(++t);
          const t0 = now();
          m.assign(tf.tidy(() => m.mul(b1).add(g.mul(1 - b1))) as typeof m);
          v.assign(tf.tidy(() => v.mul(b2).add(g.square().mul(1 - b2))) as typeof v);
          p.assign(tf.tidy(() => p.sub(m.div(v.sqrt().add(eps)).mul(stepSize)).mul(1 - lr * wd)) as typeof p);
          times.push(now() - t0); // the wasm backend runs kernels synchronously: the step is done here
        }
        return times;
      },
      info: () => ({ checksum: checksum(p.dataSync().subarray(0, 4096)), steps: t, baselineRss, backend: tf.getBackend() }),
    };
  }
  if (impl === 'onnx-train-chunk') {
    // The floor of the same graph with no DRAM traffic and no page faults at all: one cache-sized chunk, updated
    // in place N / CHUNK times per "step" — what ORT's kernels plus the binding cost per parameter when memory is
    // free. (Not an implementation: every run updates the same 64 Ki params.)
    const { onnxAdamW } = await import('./adamw-onnx.js');
    const CHUNK = 65536;
    baselineRss = currentRss();
    const c = init().p.subarray(0, CHUNK);
    const chunk = { p: Float32Array.from(c), g: new Float32Array(CHUNK).fill(0.01), m: new Float32Array(CHUNK), v: new Float32Array(CHUNK) };
    const s = await onnxAdamW(chunk.p, chunk.g, chunk.m, chunk.v, threads);
    const runs = Math.round(N / CHUNK);
    let t = 0;
    return {
      async run(steps) {
        const times: number[] = [];
        for (let k = 0; k < steps; k++) {
          let ms = 0;
          for (let r = 0; r < runs; r++) ms += await s.step();
          times.push(ms * (N / (runs * CHUNK)));
          t++;
        }
        return times;
      },
      info: () => ({ steps: t, baselineRss, nodes: s.nodes, threads, chunk: CHUNK, runsPerStep: runs }),
    };
  }
  if (impl === 'onnx-train') {
    const { onnxAdamW, verifyInPlace } = await import('./adamw-onnx.js');
    await verifyInPlace();
    baselineRss = currentRss();
    const { p, g, m, v } = init();
    const s = await onnxAdamW(p, g, m, v, threads);
    let t = 0;
    return {
      async run(steps) {
        const times: number[] = [];
        for (let k = 0; k < steps; k++) {
          times.push(await s.step());
          t++;
        }
        return times;
      },
      info: () => ({ checksum: checksum(p), steps: t, baselineRss, nodes: s.nodes, threads }),
    };
  }
  throw new Error(`unknown impl ${impl}`);
}

/**
 * Counts the minor page faults per step of the timed runs (a step that faults memory in pays for it); the first
 * run request is the warm-up and is not counted.
 */
async function counted(): Promise<WorkerHandler> {
  const h = await setup();
  let faults = 0, steps = 0, runs = 0;
  return {
    async run(n) {
      const f0 = minorFaults();
      const t = await h.run(n);
      if (runs++ === 0) return t;
      faults += minorFaults() - f0;
      steps += n;
      return t;
    },
    info: async () => ({ ...((await h.info?.()) ?? {}), faultsPerStep: steps ? faults / steps : 0 }),
  };
}

void serveWorker(counted, () => ({ impl, n: N }));
