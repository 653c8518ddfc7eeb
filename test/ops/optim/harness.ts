/**
 * Test harness: builds an optimizer graph, loads it on NodeEngine('cpu') and threads params/state through steps
 * exactly as training does. Also the tolerance check of FORMAT.md (|a − b| ≤ atol + rtol·|b|, atol = k·max|b|).
 */
import { encodeModel } from '../../../src/onnx/io.js';
import { buildOptimizerGraph, type BuildOptions } from '../../../src/ops/optim/build.js';
import { initialState, type OptimizerIO } from '../../../src/ops/optim/io.js';
import type { OptimizerSpec } from '../../../src/ops/optim/spec.js';
import type { ParamInfo } from '../../../src/ops/optim/types.js';
import { NodeEngine } from '../../../src/runtime/adapters/node.js';
import type { EngineSession, HostTensor } from '../../../src/runtime/engine.js';

const engine = new NodeEngine('cpu');

export interface StepFeed {
  /** gradient per param name (or per flat name) */
  grads: Record<string, Float32Array>;
  lr?: number;
  /** value of the step/T input (default: 1-based count) */
  step?: number;
  updateSignal?: boolean;
}

/** A loaded optimizer graph with its running params and state. */
export class Runner {
  private constructor(readonly io: OptimizerIO, readonly session: EngineSession, readonly params: Map<string, Float32Array>, readonly state: Map<string, Float32Array>, readonly nodeCount: number) {}

  static async create(spec: OptimizerSpec, params: readonly ParamInfo[], init: Record<string, Float32Array>, opts: BuildOptions = {}): Promise<Runner> {
    const { model, io } = buildOptimizerGraph(spec, params, opts);
    const session = await engine.load(encodeModel(model.toProto()));
    const state = new Map(Object.entries(initialState(io)));
    const p = new Map(io.params.map((x) => [x.name, Float32Array.from(init[x.name])]));
    return new Runner(io, session, p, state, model.graph.nodes.length);
  }

  count = 0;
  last: Record<string, HostTensor> = {};

  /** One update; returns the raw outputs. */
  async step(feed: StepFeed): Promise<Record<string, HostTensor>> {
    this.count++;
    const io = this.io;
    const feeds: Record<string, HostTensor> = {};
    feeds[io.step.name] = { type: 'int64', dims: [1], data: BigInt64Array.from([BigInt(feed.step ?? this.count)]) };
    if (io.lr.input) feeds[io.lr.input] = { type: 'float32', dims: [1], data: Float32Array.from([feed.lr ?? 0]) };
    if (io.updateSignal) feeds[io.updateSignal] = { type: 'bool', dims: [1], data: Uint8Array.from([feed.updateSignal === false ? 0 : 1]) };
    for (const p of io.params) {
      feeds[p.input] = { type: 'float32', dims: p.shape, data: this.params.get(p.name)! };
      feeds[p.grad] = { type: 'float32', dims: p.shape, data: feed.grads[p.name] };
      for (const s of p.slots) feeds[s.input] = { type: 'float32', dims: s.shape, data: this.state.get(s.input)! };
    }
    const out = await this.session.run(feeds);
    for (const p of io.params) {
      this.params.set(p.name, out[p.output].data as Float32Array);
      for (const s of p.slots) this.state.set(s.input, out[s.output].data as Float32Array);
    }
    this.last = out;
    return out;
  }

  /** State tensor `<param>.<slot>`. */
  slot(param: string, slot: string): Float32Array {
    return this.state.get(`${param}.${slot}`)!;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Max over elements of |a − b| / (atol + rtol·|b|) (≤ 1 passes), atol = k·max|b|. */
export function errorRatio(got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-5, k = 5e-6): number {
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]));
  const atol = k * max;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    const tol = atol + rtol * Math.abs(want[i]);
    const r = tol === 0 ? (d === 0 ? 0 : Infinity) : d / tol;
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

/** Largest difference in float32 ulps of `want` between two arrays. */
export function maxUlps(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const ulp = w === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(Math.abs(w))) - 23);
    worst = Math.max(worst, Math.abs(got[i] - w) / ulp);
  }
  return worst;
}
