/**
 * TrainingSession: trains an augmented artifacts bundle on any Engine (onnxruntime-node cpu/cuda/webgpu,
 * onnxruntime-web wasm/webgpu). The method names and behaviour of the removed `ort.TrainingSession`
 * (onnxruntime-web 1.17–1.19) are kept — runTrainStep / runOptimizerStep / lazyResetGrad / runEvalStep /
 * getParametersSize / loadParametersBuffer / getContiguousParameters / release and the four name lists — and
 * what it lacked is added: learning rate get/set and host-side schedules, checkpoints, inference export,
 * contiguous gradients, a fused single-run step, and an explicit NaN/Inf policy.
 *
 * Semantics (as ORT's training_api Module/Optimizer):
 * - runTrainStep adds this batch's gradients to the accumulation buffers; the first call after creation or
 *   after lazyResetGrad() starts a fresh accumulation (the training graph's lazy_reset_grad input).
 * - runOptimizerStep applies one update with the accumulated gradients (scaled by 1/k when
 *   `gradientAccumulation: 'mean'` was set for k micro-batches, HF Trainer semantics) and increments the step.
 * - trainStep(feeds) (fused) = runTrainStep on one batch + runOptimizerStep, in a single graph run.
 */
import { OnnxTrainError } from '../errors.js';
import type { CheckpointState } from '../checkpoint/types.js';
import type { Manifest } from '../transforms/manifest.js';
import type { Engine, EngineSession, HostTensor, SessionOptions } from './engine.js';
import { arrayFor, stateFromCheckpoint, stateToCheckpoint, type TrainingState } from './state.js';

/** An augmented artifacts folder, in memory. */
export interface ArtifactsBundle {
  readonly manifest: Manifest;
  readonly models: {
    readonly training: Uint8Array;
    readonly eval?: Uint8Array;
    readonly optimizer: Uint8Array;
    readonly trainStep?: Uint8Array;
  };
  readonly checkpoint: CheckpointState;
}

export type NonFinitePolicy = 'error' | 'skip';

export interface TrainingRuntimeOptions {
  readonly engine: Engine;
  readonly session?: SessionOptions;
  /** What to do when the loss or a gradient is NaN/Inf: throw (default) or skip the update and count it. */
  readonly nonFinite?: NonFinitePolicy;
  /**
   * How accumulated micro-batch gradients are combined before an update: 'sum' (ORT's InPlaceAccumulator,
   * TF GradientAccumulator) or 'mean' (HF Trainer gradient_accumulation_steps: the update equals the update on
   * the concatenated batch for a mean-reduced loss). Default 'sum', as ORT.
   */
  readonly gradientAccumulation?: 'sum' | 'mean';
  /** Load the eval model (default: when present). */
  readonly loadEval?: boolean;
  /** Load the fused train-step model (default: when present). */
  readonly loadFused?: boolean;
}

export type Feeds = Readonly<Record<string, HostTensor>>;

export class TrainingSession {
  readonly manifest: Manifest;
  /** The engine the sessions run on. */
  readonly engine: Engine;
  private state: TrainingState;
  private readonly train: EngineSession;
  private readonly evalSession: EngineSession | undefined;
  private readonly optim: EngineSession;
  private readonly fused: EngineSession | undefined;
  private readonly nonFinite: NonFinitePolicy;
  private readonly accumulation: 'sum' | 'mean';
  private resetNext = true;
  private microBatches = 0;
  private schedule: ((step: bigint) => number) | undefined;
  private released = false;
  /** Output buffers the fused step may write into (the previous step's params/state). */
  private spare: Record<string, HostTensor> | undefined;
  /** Updates skipped because of NaN/Inf under the 'skip' policy. */
  skippedUpdates = 0;
  private readonly userInputs: Set<string>;

  protected constructor(bundle: ArtifactsBundle, opts: TrainingRuntimeOptions, sessions: { train: EngineSession; evalSession?: EngineSession; optim: EngineSession; fused?: EngineSession }) {
    this.manifest = bundle.manifest;
    this.engine = opts.engine;
    this.state = stateFromCheckpoint(bundle.manifest, bundle.checkpoint);
    this.train = sessions.train;
    this.evalSession = sessions.evalSession;
    this.optim = sessions.optim;
    this.fused = sessions.fused;
    this.nonFinite = opts.nonFinite ?? 'error';
    this.accumulation = opts.gradientAccumulation ?? 'sum';
    this.userInputs = new Set(bundle.manifest.inputs.map((i) => i.name));
  }

  /** Creates the engine sessions for a bundle (validates the checkpoint against the manifest first). */
  static async fromBundle(bundle: ArtifactsBundle, opts: TrainingRuntimeOptions): Promise<TrainingSession> {
    stateFromCheckpoint(bundle.manifest, bundle.checkpoint); // fail fast, before any session exists
    const so = opts.session;
    const loaded: EngineSession[] = [];
    const load = async (bytes: Uint8Array) => {
      const s = await opts.engine.load(bytes, so);
      loaded.push(s);
      return s;
    };
    try {
      const train = await load(bundle.models.training);
      const optim = await load(bundle.models.optimizer);
      const evalSession = bundle.models.eval && opts.loadEval !== false ? await load(bundle.models.eval) : undefined;
      const fused = bundle.models.trainStep && opts.loadFused !== false ? await load(bundle.models.trainStep) : undefined;
      return new TrainingSession(bundle, opts, { train, optim, evalSession, fused });
    } catch (e) {
      await Promise.all(loaded.map((s) => s.release()));
      throw e;
    }
  }

  // ----------------------------------------------------------------------------------------- ORT-compatible

  get trainingInputNames(): readonly string[] { return this.manifest.inputs.map((i) => i.name); }
  get trainingOutputNames(): readonly string[] { return [this.manifest.lossOutput, ...this.manifest.userOutputs]; }
  get evalInputNames(): readonly string[] { return this.evalSession ? this.evalSession.inputNames.filter((n) => !this.state.params.has(n)) : []; }
  get evalOutputNames(): readonly string[] { return this.manifest.evalOutputs; }

  /**
   * Forward + backward on one batch; gradients are added to the accumulation buffers. Returns the loss and
   * the user outputs (or only `fetches`).
   */
  async runTrainStep(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, HostTensor>> {
    this.checkOpen();
    const m = this.manifest;
    const f: Record<string, HostTensor> = this.userFeeds(feeds, 'runTrainStep');
    for (const p of m.parameters) f[p.name] = this.state.params.get(p.name)!;
    for (const g of m.training.grads) f[g.bufferInput] = this.state.grads.get(g.param)!;
    f[m.training.lazyResetInput] = { type: 'bool', dims: [1], data: Uint8Array.of(this.resetNext ? 1 : 0) };
    const wanted = fetches ?? this.trainingOutputNames;
    const out = await this.train.run(f, [...new Set([...wanted, m.lossOutput, ...m.training.grads.map((g) => g.output)])]);
    for (const g of m.training.grads) this.state.grads.set(g.param, out[g.output]);
    this.microBatches = this.resetNext ? 1 : this.microBatches + 1;
    this.resetNext = false;
    const r: Record<string, HostTensor> = {};
    for (const k of wanted) r[k] = out[k];
    return r;
  }

  /** Applies one optimizer update with the accumulated gradients. */
  async runOptimizerStep(): Promise<void> {
    this.checkOpen();
    const m = this.manifest.optimizer;
    const scale = this.accumulation === 'mean' && this.microBatches > 1 ? 1 / this.microBatches : 1;
    const f: Record<string, HostTensor> = {};
    for (const p of m.params) {
      f[p.input] = this.state.params.get(p.name)!;
      const g = this.state.grads.get(p.name)!;
      f[p.grad] = scale === 1 ? g : scaled(g, scale);
    }
    for (const s of m.state) f[s.input] = this.state.optimizer.get(s.input)!;
    this.feedStepAndLr(f, m.stepInput, m.lrInput);
    if (!this.gradsFinite(m.params.map((p) => f[p.grad]))) return this.nonFiniteUpdate('gradient');
    const out = await this.optim.run(f);
    if (!this.applyUpdate(out, m.params.map((p) => [p.name, p.output] as const), m.state.map((s) => [s.input, s.output] as const), m.extras.updated_flag)) return;
  }

  /** The next runTrainStep starts a fresh accumulation (gradients are not zeroed until then, as in ORT). */
  async lazyResetGrad(): Promise<void> {
    this.checkOpen();
    this.resetNext = true;
  }

  /** Forward only, with the current parameters. */
  async runEvalStep(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, HostTensor>> {
    this.checkOpen();
    if (!this.evalSession) throw new OnnxTrainError('BAD_ARGUMENT', 'this session has no eval model', 'pass evalModel when creating the session');
    const f: Record<string, HostTensor> = {};
    for (const n of this.evalSession.inputNames) {
      const p = this.state.params.get(n);
      if (p) f[n] = p;
      else if (feeds[n]) f[n] = feeds[n];
      else throw new OnnxTrainError('BAD_ARGUMENT', `runEvalStep: missing input "${n}"`, `feed: ${this.evalInputNames.join(', ')}`);
    }
    return this.evalSession.run(f, fetches);
  }

  /** Number of float32 elements in all (or the trainable) parameters. */
  async getParametersSize(trainableOnly = true): Promise<number> {
    return this.paramList(trainableOnly).reduce((a, p) => a + elements(this.state.params.get(p)!), 0);
  }

  /** All (or the trainable) parameters as one float32 tensor, in training-graph input order. */
  async getContiguousParameters(trainableOnly = true): Promise<HostTensor> {
    const params = this.paramList(trainableOnly).map((p) => this.state.params.get(p)!);
    await this.engine.syncToHost?.(params);
    return this.concat(params);
  }

  /** Overwrites the parameters from a contiguous float32 buffer (bytes), in training-graph input order. */
  async loadParametersBuffer(buffer: Uint8Array, trainableOnly = true): Promise<void> {
    const names = this.paramList(trainableOnly);
    const size = await this.getParametersSize(trainableOnly);
    if (buffer.byteLength !== size * 4) {
      throw new OnnxTrainError('SHAPE_MISMATCH', `loadParametersBuffer: got ${buffer.byteLength} bytes, the ${trainableOnly ? 'trainable ' : ''}parameters need ${size * 4} (${size} float32)`, 'pass a buffer from getContiguousParameters() of the same model');
    }
    const copy = buffer.slice();
    const all = new Float32Array(copy.buffer, 0, size);
    let off = 0;
    for (const n of names) {
      const p = this.state.params.get(n)!;
      const next = all.slice(off, off + elements(p));
      off += next.length;
      this.state.params.set(n, { type: 'float32', dims: p.dims, data: next });
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.all([this.train, this.optim, this.evalSession, this.fused].filter((s): s is EngineSession => !!s).map((s) => s.release()));
  }

  // ----------------------------------------------------------------------------------------- additions

  /** Completed optimizer updates. */
  get step(): bigint { return this.state.step; }

  /**
   * Copies the parameters and optimizer state that the engine keeps on the device (onnxruntime-node /
   * onnxruntime-web on WebGPU) to the host in one batch, so that getParameter, getOptimizerState and toCheckpoint
   * read them without a readback each; they stay on the device for the next step. A no-op on host engines. (In
   * Node those synchronous readers also work without it, one readback per tensor; in a browser, call it first.)
   */
  async syncToHost(): Promise<void> {
    this.checkOpen();
    await this.engine.syncToHost?.([...this.state.params.values(), ...this.state.optimizer.values()]);
  }

  /** The learning rate the next update uses (when the schedule is in-graph, the graph computes it instead). */
  getLearningRate(): number {
    return this.schedule ? this.schedule(this.state.step) : this.state.lr;
  }

  setLearningRate(lr: number): void {
    if (!Number.isFinite(lr) || lr < 0) throw new OnnxTrainError('BAD_ARGUMENT', `learning rate ${lr} is not a finite non-negative number`);
    if (this.manifest.optimizer.lrInput === null) {
      throw new OnnxTrainError('BAD_ARGUMENT', 'this optimizer graph computes its learning rate in-graph (schedule baked in)', 're-run augment without --lr-scheduler-type to feed the lr from the host');
    }
    this.schedule = undefined;
    this.state.lr = lr;
  }

  /** A host-side schedule: lr = fn(completed steps) for every following update (e.g. ReduceLROnPlateau). */
  setSchedule(fn: (step: bigint) => number): void {
    if (this.manifest.optimizer.lrInput === null) {
      throw new OnnxTrainError('BAD_ARGUMENT', 'this optimizer graph computes its learning rate in-graph', 're-run augment without --lr-scheduler-type');
    }
    this.schedule = fn;
  }

  /** Forward + backward + update in a single graph run (needs train_step.onnx). Returns the loss and outputs. */
  async trainStep(feeds: Feeds, fetches?: readonly string[]): Promise<Record<string, HostTensor>> {
    this.checkOpen();
    if (!this.fused || !this.manifest.trainStep) {
      const out = await this.runTrainStep(feeds, fetches);
      await this.runOptimizerStep();
      await this.lazyResetGrad();
      return out;
    }
    const ts = this.manifest.trainStep;
    const f: Record<string, HostTensor> = this.userFeeds(feeds, 'trainStep');
    for (const p of this.manifest.parameters) f[p.name] = this.state.params.get(p.name)!;
    for (const s of this.manifest.optimizer.state) f[s.input] = this.state.optimizer.get(s.input)!;
    this.feedStepAndLr(f, ts.stepInput, ts.lrInput);
    // Fetch only what is needed, into the spare half of double-buffered params/state: no per-step allocation
    // on engines that honour preallocated outputs, and never an output aliasing an input of the same run.
    const wantedOut = fetches ?? this.trainingOutputNames;
    const stateOuts = [...Object.values(ts.paramOutputs), ...Object.values(ts.stateOutputs)];
    const fetch = [...new Set([this.manifest.lossOutput, ...wantedOut, ...stateOuts, ...Object.values(ts.extras)])];
    const out = await this.fused.run(f, fetch, this.spare);
    const loss = out[this.manifest.lossOutput];
    if (!allFinite(loss.data)) {
      this.nonFiniteUpdate('loss');
    } else {
      const before = new Map<string, HostTensor>();
      for (const [p, o] of Object.entries(ts.paramOutputs)) before.set(o, this.state.params.get(p)!);
      for (const [i, o] of Object.entries(ts.stateOutputs)) before.set(o, this.state.optimizer.get(i)!);
      if (this.applyUpdate(out, Object.entries(ts.paramOutputs), Object.entries(ts.stateOutputs), ts.extras.updated_flag)) {
        // The buffers just replaced become the next step's output targets.
        const spare: Record<string, HostTensor> = {};
        for (const [o, t] of before) if (t !== out[o]) spare[o] = t;
        this.spare = spare;
      }
    }
    const wanted = wantedOut;
    const r: Record<string, HostTensor> = {};
    for (const k of wanted) r[k] = out[k];
    return r;
  }

  /** Accumulated gradients of the trainable parameters as one float32 tensor (e.g. for federated averaging). */
  async getContiguousGradients(): Promise<HostTensor> {
    return this.concat(this.manifest.training.grads.map((g) => this.state.grads.get(g.param)!));
  }

  /** Replaces the accumulated gradients (the next runOptimizerStep uses them). */
  async setContiguousGradients(buffer: Float32Array): Promise<void> {
    const grads = this.manifest.training.grads;
    const total = grads.reduce((a, g) => a + this.state.grads.get(g.param)!.data.length, 0);
    if (buffer.length !== total) throw new OnnxTrainError('SHAPE_MISMATCH', `setContiguousGradients: got ${buffer.length} values, need ${total}`, 'pass a buffer from getContiguousGradients()');
    let off = 0;
    for (const g of grads) {
      const cur = this.state.grads.get(g.param)!;
      this.state.grads.set(g.param, { type: 'float32', dims: cur.dims, data: buffer.slice(off, off + cur.data.length) });
      off += cur.data.length;
    }
    this.resetNext = false;
    this.microBatches = Math.max(1, this.microBatches);
  }

  /** A parameter by name (a copy). */
  getParameter(name: string): HostTensor {
    const p = this.state.params.get(name);
    if (!p) throw new OnnxTrainError('BAD_ARGUMENT', `no parameter "${name}"`, `parameters: ${[...this.state.params.keys()].join(', ')}`);
    return { type: p.type, dims: p.dims, data: p.data.slice() };
  }

  /** Optimizer state tensor `<param>.<slot>` (a copy). */
  getOptimizerState(param: string, slot: string): HostTensor {
    const decl = this.manifest.optimizer.state.find((s) => s.param === param && s.slot === slot);
    const t = decl && this.state.optimizer.get(decl.input);
    if (!t) throw new OnnxTrainError('BAD_ARGUMENT', `no optimizer state "${param}" / "${slot}"`);
    return { type: t.type, dims: t.dims, data: t.data.slice() };
  }

  /** The state as a checkpoint (ODTC naming), for saveCheckpoint / serialisation. */
  toCheckpoint(includeOptimizer = true): CheckpointState {
    return stateToCheckpoint(this.manifest, { ...this.state, lr: this.getLearningRate() }, includeOptimizer);
  }

  /** Properties stored in the checkpoint (ODTC property bag). */
  get properties(): Record<string, number | bigint | string> { return this.state.properties; }

  // ----------------------------------------------------------------------------------------- internals

  private checkOpen(): void {
    if (this.released) throw new OnnxTrainError('BAD_ARGUMENT', 'the session was released', 'create a new session');
  }

  private userFeeds(feeds: Feeds, where: string): Record<string, HostTensor> {
    const missing = this.manifest.inputs.filter((i) => !feeds[i.name]).map((i) => i.name);
    const unknown = Object.keys(feeds).filter((k) => !this.userInputs.has(k));
    if (missing.length || unknown.length) {
      throw new OnnxTrainError('BAD_ARGUMENT', `${where}: ${missing.length ? `missing input(s) ${missing.map((m) => `"${m}"`).join(', ')}` : ''}${missing.length && unknown.length ? '; ' : ''}${unknown.length ? `unknown input(s) ${unknown.map((m) => `"${m}"`).join(', ')}` : ''}`,
        `feed exactly: ${this.trainingInputNames.join(', ')}`);
    }
    const out: Record<string, HostTensor> = {};
    for (const i of this.manifest.inputs) {
      const t = feeds[i.name];
      if (t.type !== i.dtype) throw new OnnxTrainError('SHAPE_MISMATCH', `${where}: input "${i.name}" is ${t.type}, the model expects ${i.dtype}`, 'convert the data');
      if (t.dims.length !== i.shape.length || i.shape.some((d, k) => typeof d === 'number' && d !== t.dims[k])) {
        throw new OnnxTrainError('SHAPE_MISMATCH', `${where}: input "${i.name}" has shape [${t.dims}], the model expects [${i.shape}]`, 'reshape the batch');
      }
      out[i.name] = { type: t.type, dims: t.dims, data: t.data };
    }
    return out;
  }

  private feedStepAndLr(f: Record<string, HostTensor>, stepInput: string, lrInput: string | null): void {
    // The optimizer graphs take the 1-based number of the update being applied (ORT feeds stored step + 1).
    f[stepInput] = { type: 'int64', dims: [1], data: BigInt64Array.of(this.state.step + 1n) };
    if (lrInput) f[lrInput] = { type: 'float32', dims: [1], data: Float32Array.of(this.getLearningRate()) };
  }

  private gradsFinite(grads: HostTensor[]): boolean {
    return grads.every((g) => allFinite(g.data));
  }

  private nonFiniteUpdate(what: string): void {
    if (this.nonFinite === 'error') {
      throw new OnnxTrainError('NON_FINITE', `the ${what} is NaN or infinite at step ${this.state.step + 1n}; the update was not applied`, 'lower the learning rate, clip gradients (--max-grad-norm), or create the session with nonFinite: "skip"');
    }
    this.skippedUpdates++;
    this.resetNext = true;
  }

  /** Installs new params/state from an optimizer/fused run; returns false when the graph signalled no update. */
  private applyUpdate(out: Record<string, HostTensor>, params: readonly (readonly [string, string])[], state: readonly (readonly [string, string])[], flagName: string | undefined): boolean {
    if (flagName && out[flagName]) {
      const flag = out[flagName].data[0];
      if (!flag) return false;
    }
    for (const [name, output] of params) this.state.params.set(name, out[output]);
    for (const [input, output] of state) this.state.optimizer.set(input, out[output]);
    this.state.step += 1n;
    if (this.schedule === undefined) { /* lr stays as set */ }
    return true;
  }

  private paramList(trainableOnly: boolean): string[] {
    return this.manifest.parameters.filter((p) => !trainableOnly || p.trainable).map((p) => p.name);
  }

  private concat(ts: HostTensor[]): HostTensor {
    const n = ts.reduce((a, t) => a + t.data.length, 0);
    const out = new Float32Array(n);
    let off = 0;
    for (const t of ts) {
      if (t.type !== 'float32') throw new OnnxTrainError('BAD_ARGUMENT', 'contiguous buffers are float32 only (as in ORT)');
      out.set(t.data as Float32Array, off);
      off += t.data.length;
    }
    return { type: 'float32', dims: [n], data: out };
  }
}

/** Element count from the shape: never reads the values (a device tensor's would need a readback). */
function elements(t: HostTensor): number {
  return t.dims.reduce((a, d) => a * d, 1);
}

function scaled(t: HostTensor, s: number): HostTensor {
  const src = t.data as Float32Array;
  const out = arrayFor(t.type, src.length) as Float32Array;
  for (let i = 0; i < src.length; i++) out[i] = src[i] * s;
  return { type: t.type, dims: t.dims, data: out };
}

function allFinite(d: HostTensor['data']): boolean {
  if (!(d instanceof Float32Array || d instanceof Float64Array)) return true;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  return true;
}
