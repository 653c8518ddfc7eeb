/**
 * Device-resident training state, independent of the ONNX Runtime build: the part that the onnxruntime-node WebGPU
 * adapter (node.ts) and the onnxruntime-web engine (web-gpu-state.ts) share. It imports no ORT package (ORT's tensor
 * type only); each adapter supplies how a device tensor is copied to the host ({@link DeviceIo}).
 *
 * - Which outputs stay on the device: {@link stateAliases} lists every parameter and optimizer-state output of the
 *   optimizer and fused train-step graphs. Gradient buffers stay host-side: TrainingSession checks them for NaN/Inf
 *   before an unfused update.
 * - {@link DeviceTensor}: a HostTensor whose values live in a runtime tensor on the device. A TrainingSession stores
 *   it in its state like any tensor and feeds it back, so parameters and moments never leave the device between
 *   steps. Its `data` is readable after {@link DevicePool.syncToHost} (an async copy of the tensors asked for) or, where
 *   the runtime can read synchronously (onnxruntime-node), on first access; the copy is cached (a device tensor never
 *   changes).
 * - Lifetime ({@link Generations}): a device tensor that a session produced is released at that session's next run
 *   that does not feed it back. A TrainingSession feeds every parameter and moment it holds to each state-producing
 *   run, so what it holds is never released, and what it dropped — the previous generation, or the outputs of an
 *   update it did not apply (NaN step skipped under `nonFinite: 'skip'`, `updated_flag` false,
 *   `loadParametersBuffer`) — goes at the next run: at most two generations per session.
 * - Teardown: when the engine's last session is released, every live device tensor is released first (and the
 *   adapter's readback resources, {@link DeviceIo.teardown}). onnxruntime-node tears its WebGPU device down with its
 *   last session; disposing a tensor after that is a use-after-free (a segfault, measured with 1.30).
 */
import type { Tensor } from 'onnxruntime-common';
import { OnnxTrainError } from '../../errors.js';
import type { Manifest } from '../../transforms/manifest.js';
import type { HostTensor, TensorArray, TensorType } from '../engine.js';

/**
 * State aliases of an augmented set: every parameter and optimizer-state output of the optimizer and fused
 * train-step graphs, mapped to the input it replaces.
 */
export function stateAliases(m: Manifest): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const p of m.optimizer.params) aliases.set(p.output, p.input);
  for (const s of m.optimizer.state) aliases.set(s.output, s.input);
  if (m.trainStep) {
    for (const [input, output] of Object.entries(m.trainStep.paramOutputs)) aliases.set(output, input);
    for (const [input, output] of Object.entries(m.trainStep.stateOutputs)) aliases.set(output, input);
  }
  return aliases;
}

/** Bytes that crossed between host and device (host feeds copied in, outputs copied out) and what ORT returned. */
export interface TransferStats {
  runs: number;
  uploadedBytes: number;
  downloadedBytes: number;
  /** Inputs fed as device buffers (no copy). */
  deviceFeeds: number;
  /** Device tensors copied to the host (syncToHost or a first read of `data`). */
  readbacks: number;
  /** Per input / output name of the last run. */
  lastUploads: Record<string, number>;
  lastDownloads: Record<string, number>;
  lastDeviceFeeds: string[];
  /** The `location` of every output tensor of the last run, as ORT returned it ('cpu', 'gpu-buffer', …). */
  lastLocations: Record<string, string>;
}

/** How an adapter moves device tensors to the host. */
export interface DeviceIo {
  /** Copies device tensors to the host. */
  download(ts: readonly DeviceTensor[]): Promise<TensorArray[]>;
  /** The same, synchronously; absent where the runtime cannot (onnxruntime-web). */
  downloadSync?(ts: readonly DeviceTensor[]): TensorArray[];
  /** Releases the adapter's readback resources; called after every tensor was released, before the last session. */
  teardown?(): Promise<void>;
}

const BYTES: Record<TensorType, number> = { float32: 4, float64: 8, float16: 2, int32: 4, int64: 8, int8: 1, uint8: 1, bool: 1 };

/** A tensor that lives on the device (see the module doc for when `data` is readable). */
export class DeviceTensor implements HostTensor {
  /** @internal */ host: TensorArray | undefined;
  /** @internal */ released = false;
  constructor(
    readonly type: TensorType,
    readonly dims: readonly number[],
    /** @internal The runtime tensor: fed as it is, never read directly. */ readonly handle: Tensor,
    readonly name: string,
    /** @internal */ readonly pool: DevicePool,
  ) {}

  get data(): TensorArray {
    if (this.host) return this.host;
    if (!this.released) {
      const read = this.pool.readNow(this);
      if (read) return read;
    }
    throw new OnnxTrainError('RUNTIME', `tensor "${this.name}" is on the GPU${this.released ? ' and was already released' : ''}; its values were not copied to the host`,
      this.released ? 'read parameters and write checkpoints before releasing the session' : 'await session.syncToHost() (or engine.syncToHost()) before reading parameters or writing a checkpoint');
  }

  /** Number of elements. */
  get size(): number {
    return this.dims.reduce((a, d) => a * d, 1);
  }

  get bytes(): number {
    return this.size * BYTES[this.type];
  }
}

/** The device tensors of one engine: what is alive, transfer statistics, readback and teardown. */
export class DevicePool {
  readonly stats: TransferStats = { runs: 0, uploadedBytes: 0, downloadedBytes: 0, deviceFeeds: 0, readbacks: 0, lastUploads: {}, lastDownloads: {}, lastDeviceFeeds: [], lastLocations: {} };
  /** Device tensors not yet released. */
  readonly live = new Set<DeviceTensor>();
  private sessions = 0;

  constructor(private readonly io: DeviceIo) {}

  /** A runtime tensor that came back on the device, as a DeviceTensor of this pool. */
  adopt(handle: Tensor, name: string): DeviceTensor {
    const t = new DeviceTensor(handle.type as TensorType, handle.dims, handle, name, this);
    this.live.add(t);
    return t;
  }

  /**
   * Copies the values of device tensors (the given ones, default every live one) to the host; they stay on the
   * device too. Host tensors and tensors already copied are skipped.
   */
  async syncToHost(tensors?: Iterable<HostTensor>): Promise<void> {
    const todo = this.pending(tensors);
    if (!todo.length) return;
    const arrays = await this.io.download(todo);
    todo.forEach((t, i) => this.keep(t, arrays[i]));
  }

  /** @internal A synchronous read of one tensor, when the adapter can; undefined otherwise. */
  readNow(t: DeviceTensor): TensorArray | undefined {
    if (!this.io.downloadSync) return undefined;
    const [a] = this.io.downloadSync([t]);
    this.keep(t, a);
    return a;
  }

  /** Bytes of device tensors alive now. */
  get deviceBytes(): number {
    let n = 0;
    for (const t of this.live) n += t.bytes;
    return n;
  }

  release(t: DeviceTensor): void {
    if (t.released) return;
    t.released = true;
    t.handle.dispose();
    this.live.delete(t);
  }

  /** Feeds of one run: device tensors go in as their runtime tensor (no copy), host tensors through `upload`. */
  bindFeeds<T>(feeds: Readonly<Record<string, HostTensor>>, upload: (name: string, t: HostTensor) => { tensor: T; bytes: number }): { feeds: Record<string, T | Tensor>; fed: Set<DeviceTensor> } {
    const st = this.stats;
    const out: Record<string, T | Tensor> = {};
    const fed = new Set<DeviceTensor>();
    st.lastUploads = {};
    st.lastDeviceFeeds = [];
    for (const [name, t] of Object.entries(feeds)) {
      if (t instanceof DeviceTensor) {
        if (t.released) throw new OnnxTrainError('RUNTIME', `input "${name}" was fed a released GPU tensor ("${t.name}")`, 'this is a bug in onnx-train: a state tensor was released while still in use');
        out[name] = t.handle;
        fed.add(t);
        st.deviceFeeds++;
        st.lastDeviceFeeds.push(name);
        continue;
      }
      const { tensor, bytes } = upload(name, t);
      out[name] = tensor;
      st.uploadedBytes += bytes;
      st.lastUploads[name] = bytes;
    }
    return { feeds: out, fed };
  }

  /**
   * Outputs of one run. Each tensor ORT returned in a GPU buffer becomes a DeviceTensor owned by `gens` when its
   * name is in `keep` (default: every one); one that is not is copied to the host and released. Outputs in CPU memory
   * are read through `read`, which must refuse a location it cannot read. With `fetch`, outputs not named there are
   * released unread and left out.
   */
  async adoptOutputs(
    out: Readonly<Record<string, Tensor>>,
    gens: Generations,
    read: (name: string, t: Tensor) => TensorArray,
    opts: { readonly fetch?: readonly string[]; readonly keep?: ReadonlySet<string> } = {},
  ): Promise<Record<string, HostTensor>> {
    const st = this.stats;
    st.runs++;
    st.lastDownloads = {};
    st.lastLocations = {};
    const wanted = opts.fetch && new Set(opts.fetch);
    const r: Record<string, HostTensor> = {};
    const copies: DeviceTensor[] = [];
    for (const [k, v] of Object.entries(out)) {
      st.lastLocations[k] = v.location;
      const onDevice = v.location === 'gpu-buffer';
      if (wanted && !wanted.has(k)) {
        if (onDevice) v.dispose();
        continue;
      }
      if (onDevice) {
        const d = this.adopt(v, k);
        if (!opts.keep || opts.keep.has(k)) gens.add(d);
        else copies.push(d);
        r[k] = d;
        continue;
      }
      const data = read(k, v);
      r[k] = { type: v.type as TensorType, dims: v.dims, data };
      st.downloadedBytes += data.byteLength;
      st.lastDownloads[k] = data.byteLength;
    }
    // Device outputs not kept: copied to the host, then released (also when the copy fails).
    try {
      await this.syncToHost(copies);
    } finally {
      for (const d of copies) this.release(d);
    }
    for (const d of copies) {
      r[d.name] = { type: d.type, dims: d.dims, data: d.host! };
      st.lastDownloads[d.name] = d.host!.byteLength;
    }
    return r;
  }

  /** A session of the engine was created (the pool tears down with the last one). */
  opened(): void {
    this.sessions++;
  }

  /**
   * A session of the engine is being released; call before releasing the runtime session. The last one releases
   * every live tensor (synchronously, while the device still exists) and the adapter's readback resources.
   */
  async closing(): Promise<void> {
    this.sessions = Math.max(0, this.sessions - 1);
    if (this.sessions > 0) return;
    for (const t of [...this.live]) this.release(t);
    await this.io.teardown?.();
  }

  private pending(tensors: Iterable<HostTensor> | undefined): DeviceTensor[] {
    const out = new Set<DeviceTensor>();
    for (const t of tensors ?? this.live) if (t instanceof DeviceTensor && t.pool === this && !t.host && !t.released) out.add(t);
    return [...out];
  }

  private keep(t: DeviceTensor, a: TensorArray): void {
    t.host = a;
    this.stats.readbacks++;
    this.stats.downloadedBytes += a.byteLength;
  }
}

/**
 * The device tensors one session produced, and the rule that releases them: at the session's next run, each one that
 * the run does not feed back goes (see the module doc).
 */
export class Generations {
  private readonly produced = new Set<DeviceTensor>();
  constructor(private readonly pool: DevicePool) {}

  /** Before a run that feeds `fed`: releases what this session produced earlier and no longer gets back. */
  beforeRun(fed: ReadonlySet<DeviceTensor>): void {
    for (const t of this.produced) {
      if (fed.has(t)) continue;
      this.pool.release(t);
      this.produced.delete(t);
    }
  }

  add(t: DeviceTensor): void {
    this.produced.add(t);
  }

  /** Tensors produced and not yet released. */
  get size(): number {
    return this.produced.size;
  }
}
