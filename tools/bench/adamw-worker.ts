/**
 * One AdamW step implementation on N float32 params, timed in its own process (so peak RSS is its own).
 * Usage: tsx tools/bench/adamw-worker.ts <impl> <N> <reps>
 * Prints {impl, n, median_ms, peak_rss, bandwidth}.
 */
import { copyBandwidth, median, now, peakRss } from './common.js';

const [impl, nArg, repsArg] = process.argv.slice(2);
const N = Number(nArg);
const reps = Number(repsArg ?? 7);
const b1 = 0.9, b2 = 0.999, eps = 1e-6, lr = 1e-3, wd = 0.01;

function init(): { p: Float32Array; g: Float32Array; m: Float32Array; v: Float32Array } {
  const p = new Float32Array(N), g = new Float32Array(N), m = new Float32Array(N), v = new Float32Array(N);
  for (let i = 0; i < N; i++) { p[i] = Math.sin(i) * 0.1; g[i] = Math.cos(i) * 0.01; }
  return { p, g, m, v };
}

async function main(): Promise<void> {
  const bandwidth = copyBandwidth();
  const times: number[] = [];
  if (impl === 'js') {
    // transformers AdamW, in place, one pass.
    const { p, g, m, v } = init();
    for (let r = 0; r < reps + 1; r++) {
      const t = r + 1;
      const stepSize = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
      const decay = 1 - lr * wd;
      const t0 = now();
      for (let i = 0; i < N; i++) {
        const gi = g[i];
        const mi = b1 * m[i] + (1 - b1) * gi;
        const vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi; v[i] = vi;
        p[i] = (p[i] - stepSize * mi / (Math.sqrt(vi) + eps)) * decay;
      }
      if (r > 0) times.push(now() - t0);
    }
  } else if (impl === 'tfjs-wasm') {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
    await tf.ready();
    const d = init();
    const p = tf.variable(tf.tensor1d(d.p)), g = tf.tensor1d(d.g), m = tf.variable(tf.tensor1d(d.m)), v = tf.variable(tf.tensor1d(d.v));
    for (let r = 0; r < reps + 1; r++) {
      const t = r + 1;
      const stepSize = lr * Math.sqrt(1 - b2 ** t) / (1 - b1 ** t);
      const t0 = now();
      tf.tidy(() => {
        const mi = m.mul(b1).add(g.mul(1 - b1));
        const vi = v.mul(b2).add(g.square().mul(1 - b2));
        m.assign(mi); v.assign(vi);
        p.assign(p.sub(mi.div(vi.sqrt().add(eps)).mul(stepSize)).mul(1 - lr * wd));
      });
      await p.data().then(() => undefined); // sync
      if (r > 0) times.push(now() - t0);
    }
  } else if (impl === 'onnx-train') {
    const { benchOnnxTrainAdamW } = await import('./adamw-onnx.js');
    times.push(...(await benchOnnxTrainAdamW(N, reps)));
  } else {
    throw new Error(`unknown impl ${impl}`);
  }
  console.log(JSON.stringify({ impl, n: N, median_ms: median(times), peak_rss: peakRss(), bandwidth }));
}

main().catch((e) => { console.log(JSON.stringify({ impl, n: N, error: String(e?.message ?? e) })); process.exit(0); });
