/**
 * onnxruntime-web engine for the browser, wasm or WebGPU, that keeps training state on the device: what
 * adapters/web.ts (wasm in Node and browsers) does not do. Three additions:
 *
 * 1. Device-resident state (the ORT-agnostic part is device-state.ts, shared with the onnxruntime-node adapter).
 *    Outputs named in `state` ({@link stateAliases} builds it from a manifest) are created with
 *    `preferredOutputLocation: 'gpu-buffer'` and handed back as {@link DeviceTensor}s, HostTensors whose GPU buffer is
 *    fed straight back into the next run. A TrainingSession stores them in its state like any tensor, so parameters
 *    and optimizer moments never leave the GPU between steps; only the outputs the caller reads (the loss) are copied
 *    to the host. Their `data` is readable after {@link WebDeviceEngine.syncToHost} (e.g. before `toCheckpoint()` /
 *    `getParameter()`): the browser has no synchronous GPU read.
 *
 *    Lifetime (device-state.ts, {@link Generations}): a device tensor a session produced is released at that
 *    session's next run that does not feed it back, so at most two generations of state exist, nothing a
 *    TrainingSession still holds is released, and the outputs of an update it did not apply (a NaN step skipped under
 *    `nonFinite: 'skip'`) go at the next run.
 *
 * 2. Feed narrowing. A graph may declare an input narrower than what the host feeds (the WebGPU rewrite in
 *    tools/web/webgpu-compat.ts makes int64 labels int32 and the int64 step float32, because the WebGPU EP has no
 *    64-bit integers); feeds are converted to the declared type, range-checked, so the manifest's interface holds.
 *
 * 3. Node placement. With `recordPlacement`, each model is first loaded into a throwaway session with ORT's verbose
 *    session log, whose "Node placements" report (session_state.cc) is parsed into {@link NodePlacement}s: which EP
 *    runs how many nodes, and the names of any that fell back to the CPU EP. The session that runs is created quiet
 *    (a verbose session logs every kernel launch of every run).
 *
 * The ORT module is passed in (`import('onnxruntime-web/webgpu')` or `'onnxruntime-web/wasm'`): adapters/web.ts stays
 * the one module that imports onnxruntime-web, and a page loads exactly one ORT build.
 */
import type { Env, InferenceSession, Tensor, TensorConstructor } from 'onnxruntime-common';
import { OnnxTrainError } from '../../errors.js';
import type { Engine, EngineSession, HostTensor, SessionOptions, TensorArray } from '../engine.js';
import { DevicePool, DeviceTensor, Generations, stateAliases, type TransferStats } from './device-state.js';

export { DeviceTensor, stateAliases, type TransferStats };

/** What this adapter needs of an onnxruntime-web module. */
export interface OrtWebModule {
  readonly InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: TensorConstructor;
  readonly env: Env;
}

export type WebDeviceEp = 'webgpu' | 'wasm';

export interface WebDeviceEngineOptions {
  readonly ep: WebDeviceEp;
  /**
   * State outputs kept on the device: output name -> the input name it replaces (see {@link stateAliases}).
   * Ignored on wasm, where every output is a host array anyway.
   */
  readonly state?: ReadonlyMap<string, string>;
  /**
   * Outputs not fetched from sessions that produce device state (the fused train step): e.g. its logits, which
   * nobody reads while training. Sessions without state outputs (eval) return them as usual.
   */
  readonly discard?: ReadonlySet<string>;
  /** Parse ORT's node placement report for every session (see the module doc). */
  readonly recordPlacement?: boolean;
}

/** One line of ORT's placement report: an execution provider and the nodes it runs. */
export interface NodePlacement {
  readonly ep: string;
  readonly count: number;
  /** Node descriptions `OpType (name)`; ORT lists them only when not every node went to one EP. */
  readonly nodes: readonly string[];
}

const FLOAT32_EXACT = 2 ** 24;

/** ORT's placement report lines, parsed (the lines are what session_state.cc logs at verbose level). */
export function parsePlacement(lines: readonly string[]): NodePlacement[] {
  const out: { ep: string; count: number; nodes: string[] }[] = [];
  for (const line of lines) {
    const all = /All nodes placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    const some = /Node\(s\) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    const hit = all ?? some;
    if (hit) { out.push({ ep: hit[1], count: Number(hit[2]), nodes: [] }); continue; }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s{3}(\S.*)$/.exec(line);
    if (node && out.length) out[out.length - 1].nodes.push(node[1].trim());
  }
  return out;
}

/** The engine. One per page and EP; `syncToHost` and `stats` cover every session it loaded. */
export class WebDeviceEngine implements Engine {
  readonly ep: WebDeviceEp;
  /** Placement report of every loaded session, with the model bytes it was loaded from (with `recordPlacement`). */
  readonly placements: { readonly model: Uint8Array; readonly report: readonly NodePlacement[] }[] = [];
  /** @internal Device tensors, transfer statistics, teardown (device-state.ts). */
  readonly pool = new DevicePool({
    // getData(false) copies the buffer and keeps it on the GPU.
    download: (ts) => Promise.all(ts.map(async (t) => (await t.handle.getData(false)) as TensorArray)),
  });

  constructor(readonly ort: OrtWebModule, private readonly opts: WebDeviceEngineOptions) {
    this.ep = opts.ep;
    if (opts.recordPlacement) logTap();
  }

  get stats(): TransferStats { return this.pool.stats; }
  /** @internal */ get live(): ReadonlySet<DeviceTensor> { return this.pool.live; }

  async load(model: Uint8Array, so: SessionOptions = {}): Promise<EngineSession> {
    const outputsOnDevice = this.ep === 'webgpu' ? new Set([...this.opts.state?.keys() ?? [], ...so.deviceOutputs ?? []]) : new Set<string>();
    const options: InferenceSession.SessionOptions = {
      executionProviders: [this.ep],
      graphOptimizationLevel: 'all',
      logSeverityLevel: so.logSeverity ?? 3,
    };
    const create = async (o: InferenceSession.SessionOptions) => {
      try {
        return await this.ort.InferenceSession.create(model, o);
      } catch (e) {
        throw new OnnxTrainError('RUNTIME', `onnxruntime-web (${this.ep}) could not load the model: ${e instanceof Error ? e.message : String(e)}`,
          this.ep === 'webgpu' ? 'run the model through tools/web/webgpu-compat.ts (64-bit and LogSoftmax-free), or use the wasm EP' : 'run "onnx-train inspect" on the model');
      }
    };
    // onnxruntime-web looks each output of the model up in this map (names of other models are ignored; absent = cpu).
    if (outputsOnDevice.size) options.preferredOutputLocation = Object.fromEntries([...outputsOnDevice].map((n) => [n, 'gpu-buffer' as const]));
    if (this.opts.recordPlacement) {
      // The placement report needs the verbose session log, which would also log every kernel of every run: a
      // throwaway verbose session reports it, the session that trains is quiet.
      const verbose = await this.withLogCapture(model, () => create({ ...options, logSeverityLevel: 0 }));
      await verbose.release();
    }
    const session = await create(options);
    const producesState = session.outputNames.some((n) => outputsOnDevice.has(n));
    return new WebDeviceSession(this, session, producesState ? this.opts.discard ?? new Set() : new Set());
  }

  /** Copies the values of device tensors (default: every live one) to the host (they stay on the device too). */
  async syncToHost(tensors?: Iterable<HostTensor>): Promise<void> {
    await this.pool.syncToHost(tensors);
  }

  /** Bytes of state held on the device now. */
  get deviceBytes(): number {
    return this.pool.deviceBytes;
  }

  /** @internal */ release(t: DeviceTensor): void {
    this.pool.release(t);
  }

  private async withLogCapture<T>(model: Uint8Array, fn: () => Promise<T>): Promise<T> {
    const lines: string[] = [];
    logTap().sink = lines;
    try {
      return await fn();
    } finally {
      logTap().sink = undefined;
      this.placements.push({ model, report: parsePlacement(lines) });
    }
  }
}

/**
 * One console tap for the page, installed before the first session: the wasm runtime binds `console.*` when it
 * initialises, so a tap installed later would never see ORT's lines. It forwards everything and, while a session
 * is being created, keeps ORT's placement lines.
 */
interface LogTap { sink: string[] | undefined }
const TAP_KEY = Symbol.for('onnx-train.web-gpu-state.log-tap');

function logTap(): LogTap {
  const g = globalThis as unknown as Record<symbol, LogTap | undefined>;
  const existing = g[TAP_KEY];
  if (existing) return existing;
  const tap: LogTap = { sink: undefined };
  const c = console as unknown as Record<string, (...a: unknown[]) => void>;
  for (const m of ['log', 'info', 'warn', 'error', 'debug']) {
    const original = c[m];
    c[m] = (...a: unknown[]) => {
      if (tap.sink && typeof a[0] === 'string' && a[0].includes('VerifyEachNodeIsAssignedToAnEp')) tap.sink.push(a.map(String).join(' '));
      original.apply(console, a);
    };
  }
  g[TAP_KEY] = tap;
  return tap;
}

class WebDeviceSession implements EngineSession {
  private readonly gens: Generations;
  private readonly inputTypes = new Map<string, string>();
  private released = false;

  constructor(
    private readonly engine: WebDeviceEngine,
    private readonly s: InferenceSession,
    private readonly discard: ReadonlySet<string>,
  ) {
    for (const m of s.inputMetadata) if (m.isTensor) this.inputTypes.set(m.name, m.type);
    this.gens = new Generations(engine.pool);
    engine.pool.opened();
  }

  get inputNames() { return this.s.inputNames; }
  get outputNames() { return this.s.outputNames.filter((n) => !this.discard.has(n)); }

  async run(feeds: Record<string, HostTensor>, fetch?: readonly string[]): Promise<Record<string, HostTensor>> {
    if (this.released) throw new OnnxTrainError('RUNTIME', 'the session was released', 'create a new session');
    const pool = this.engine.pool;
    const { feeds: f, fed } = pool.bindFeeds(feeds, (name, t) => {
      const host = narrow(name, t, this.inputTypes.get(name));
      return { tensor: new this.engine.ort.Tensor(host.type, host.data as never, host.dims as number[]), bytes: host.data.byteLength };
    });
    // Release what this session produced before and does not get back (superseded or not applied).
    this.gens.beforeRun(fed);

    const names = (fetch ?? this.s.outputNames).filter((n) => !this.discard.has(n));
    let out: InferenceSession.ReturnType;
    try {
      out = await this.s.run(f as Record<string, Tensor>, names, { logSeverityLevel: 3 });
    } catch (e) {
      throw new OnnxTrainError('RUNTIME', `onnxruntime-web (${this.engine.ep}) failed to run the model: ${typeof e === 'number' ? `wasm error ${e}` : e instanceof Error ? e.message : String(e)}`,
        'check the feeds against the model inputs ("onnx-train inspect" lists them)');
    }
    return await pool.adoptOutputs(out as Record<string, Tensor>, this.gens, (_, v) => v.data as TensorArray);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.engine.pool.closing();
    await this.s.release();
  }
}

/** A host feed converted to the element type the graph declares (see the module doc), or as it is. */
function narrow(name: string, t: HostTensor, declared: string | undefined): HostTensor {
  if (!declared || declared === t.type) return t;
  if (t.type === 'int64' && declared === 'int32') {
    const src = t.data as BigInt64Array;
    const out = new Int32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (v > 2147483647n || v < -2147483648n) throw new OnnxTrainError('BAD_ARGUMENT', `input "${name}" holds ${v}, which the WebGPU graph's int32 input cannot take`, 'use the wasm EP for values outside int32');
      out[i] = Number(v);
    }
    return { type: 'int32', dims: t.dims, data: out };
  }
  if (t.type === 'int64' && declared === 'float32') {
    const src = t.data as BigInt64Array;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const v = Number(src[i]);
      if (Math.abs(v) > FLOAT32_EXACT) throw new OnnxTrainError('BAD_ARGUMENT', `input "${name}" holds ${v}, beyond 2^24 where the WebGPU graph's float32 counter stops being exact`, 'use the wasm EP for runs this long');
      out[i] = v;
    }
    return { type: 'float32', dims: t.dims, data: out };
  }
  throw new OnnxTrainError('SHAPE_MISMATCH', `input "${name}" is ${t.type}, the model expects ${declared}`, 'convert the data');
}
