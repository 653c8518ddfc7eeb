/**
 * onnx-train's AdamW graph (src/ops/optim buildOptimizerGraph, transformers semantics) for one float32 parameter
 * of N elements on onnxruntime-node CPU, updated in place: the parameter and both moments are passed as their own
 * outputs in `fetches`, so a step allocates nothing. That is safe for this graph because every read of an input
 * happens before the node that writes its updated value; the step checks it against a plain run once at setup
 * (`verifyInPlace`), so a future graph for which it is not safe fails loudly instead of benchmarking wrong math.
 */
import * as ort from 'onnxruntime-node';
import { buildOptimizerGraph } from '../../src/ops/optim/index.js';
import { encodeModel } from '../../src/onnx/io.js';
import { now } from './common.js';

export const ADAMW = { b1: 0.9, b2: 0.999, eps: 1e-6, lr: 1e-3, wd: 0.01 } as const;

export interface OnnxAdamW {
  /** One update (step count advances); returns its time in ms. */
  step(): Promise<number>;
  readonly p: Float32Array;
  readonly nodes: number;
  release(): Promise<void>;
}

function buildModel(N: number): { bytes: Uint8Array; io: ReturnType<typeof buildOptimizerGraph>['io']; nodes: number } {
  const { model, io } = buildOptimizerGraph(
    { type: 'adamw', betas: [ADAMW.b1, ADAMW.b2], eps: ADAMW.eps, weight_decay: ADAMW.wd, correct_bias: true } as never,
    [{ name: 'w', shape: [N] }],
    { lr: 'input' },
  );
  const proto = model.toProto();
  return { bytes: encodeModel(proto), io, nodes: proto.graph?.node?.length ?? 0 };
}

/** Session + buffers; p, g, m, v are the caller's arrays (updated in place). */
export async function onnxAdamW(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, threads: number): Promise<OnnxAdamW> {
  const N = p.length;
  const { bytes, io, nodes } = buildModel(N);
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  const P = io.params[0];
  const t = (d: Float32Array) => new ort.Tensor('float32', d, [N]);
  const lrName = io.lr.input ?? 'lr';
  const feeds: Record<string, ort.Tensor> = { [P.input]: t(p), [P.grad]: t(g), [lrName]: new ort.Tensor('float32', Float32Array.of(ADAMW.lr), [1]) };
  for (const sl of P.slots) {
    if (sl.slot !== 'exp_avg' && sl.slot !== 'exp_avg_sq') throw new Error(`unexpected AdamW slot ${sl.slot}`);
    feeds[sl.input] = t(sl.slot === 'exp_avg' ? m : v);
  }
  const fetches: Record<string, ort.Tensor> = { [P.output]: feeds[P.input] };
  for (const sl of P.slots) fetches[sl.output] = feeds[sl.input];
  const stepData = BigInt64Array.of(0n);
  feeds[io.step.name] = new ort.Tensor('int64', stepData, [1]);
  let k = 0;
  return {
    p,
    nodes,
    async step() {
      stepData[0] = BigInt(++k);
      const t0 = now();
      await s.run(feeds, fetches);
      return now() - t0;
    },
    release: () => s.release(),
  };
}

/**
 * Runs 3 steps of a small problem in place and allocating; throws if they differ (the in-place fetch trick is
 * then unsafe for the current graph).
 */
export async function verifyInPlace(): Promise<void> {
  const N = 4099;
  const init = () => {
    const p = new Float32Array(N), g = new Float32Array(N);
    for (let i = 0; i < N; i++) { p[i] = Math.sin(i) * 0.1; g[i] = Math.cos(i) * 0.01; }
    return { p, g, m: new Float32Array(N), v: new Float32Array(N) };
  };
  const a = init();
  const inPlace = await onnxAdamW(a.p, a.g, a.m, a.v, 1);
  for (let i = 0; i < 3; i++) await inPlace.step();
  await inPlace.release();
  const b = init();
  const { bytes, io } = buildModel(N);
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const P = io.params[0];
  let state: Record<string, Float32Array> = { [P.input]: b.p, [P.grad]: b.g };
  for (const sl of P.slots) state[sl.input] = sl.slot === 'exp_avg' ? b.m : b.v;
  const lrName = io.lr.input ?? 'lr';
  for (let k = 1; k <= 3; k++) {
    const feeds: Record<string, ort.Tensor> = { [lrName]: new ort.Tensor('float32', Float32Array.of(ADAMW.lr), [1]), [io.step.name]: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]) };
    for (const [n, d] of Object.entries(state)) feeds[n] = new ort.Tensor('float32', d, [N]);
    const out = await s.run(feeds);
    state = { ...state, [P.input]: out[P.output].data as Float32Array };
    for (const sl of P.slots) state[sl.input] = out[sl.output].data as Float32Array;
  }
  await s.release();
  const ref = state[P.input];
  for (let i = 0; i < N; i++) {
    if (ref[i] !== a.p[i]) throw new Error(`in-place AdamW run differs from the allocating run at element ${i} (${a.p[i]} vs ${ref[i]}): in-place fetches are unsafe for this graph`);
  }
}

/**
 * The N-sized tensor traffic of the AdamW graph in bytes per parameter, if every node is its own pass over memory
 * (what ORT's CPU EP does for elementwise nodes it does not fuse): each node reads its N-sized inputs and writes
 * its N-sized outputs. Values derived elementwise from p, g, m or v are N-sized; scalars (step, lr) are not.
 */
export function graphTraffic(): { nodes: number; bytesPerParam: number } {
  const N = 1024;
  const { model, io } = buildOptimizerGraph(
    { type: 'adamw', betas: [ADAMW.b1, ADAMW.b2], eps: ADAMW.eps, weight_decay: ADAMW.wd, correct_bias: true } as never,
    [{ name: 'w', shape: [N] }],
    { lr: 'input' },
  );
  const P = io.params[0];
  const big = new Set<string>([P.input, P.grad, ...P.slots.map((s) => s.input)]);
  let tensors = 0;
  const nodes = model.toProto().graph?.node ?? [];
  for (const n of nodes) {
    const ins = (n.input ?? []).filter((x) => big.has(x)).length;
    if (!ins) continue;
    for (const o of n.output ?? []) big.add(o);
    tensors += ins + (n.output ?? []).length;
  }
  return { nodes: nodes.length, bytesPerParam: tensors * 4 };
}
