/**
 * onnxruntime-node adapter (cpu, cuda, webgpu EPs). The only module that imports onnxruntime-node.
 *
 * - cuda: onnxruntime-node ships the CUDA provider only when installed with ONNXRUNTIME_NODE_INSTALL=cuda12; its
 *   absence is detected up front (ORT's own error is a generic "Failed to load shared library").
 * - webgpu: Dawn over Vulkan (see webgpu-env.ts for running it on SwiftShader). A model with outputs named in
 *   `SessionOptions.deviceOutputs` (a training set's parameters and optimizer state) gets a session whose outputs are
 *   all requested in GPU memory (`preferredOutputLocation`, per output): the deviceOutputs come back as DeviceTensors
 *   that the next run takes as inputs without a copy (lifetime and teardown: device-state.ts); the other outputs the
 *   caller fetched (the loss, an update flag) are copied to the host through the readback below, and those it did not
 *   fetch (e.g. the fused step's logits) are released unread. Models without such outputs run with every output in
 *   CPU memory, as before.
 *
 *   Why every output, and why all of them on the GPU: onnxruntime-node 1.30 serves a per-output location map through
 *   one IoBinding per session that is never cleared, and looks each fetched output's location up by its position in
 *   the fetch list instead of in the model's outputs (both measured): fetching a subset gives outputs the location of
 *   another output, a smaller subset than before fails with "Output count mismatch", and a larger one returns values
 *   under the wrong names. So a session with GPU outputs always fetches every output, in model order.
 *
 *   Reading a gpu-buffer tensor's `data` (`getData()`) from Node ABORTS the process in onnxruntime-node 1.30 (its
 *   download is "not implemented" and throws a C++ exception through N-API: "terminate called after throwing an
 *   instance of 'char const*'"), so this adapter never does. A device tensor is read back by feeding it to a one-node
 *   Identity session on the same EP whose output is in CPU memory ({@link NodeReadback}): gpu-buffer outputs of one
 *   session are valid inputs of every other session of the process while one of them is open (checked: values
 *   exact for float32, float16, int32, int64, uint8, bool). Two more facts measured with 1.30 that shape the code:
 *   a gpu-buffer tensor is freed by `dispose()` only (dropped references are not collected: +16 MB per step for a
 *   16 MB output), and disposing one after the process's last WebGPU session was released is a segfault.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxTrainError } from '../../errors.js';
import { dtypeFromOrt } from '../../onnx/dtypes.js';
import { encodeMessage } from '../../onnx/io.js';
import type { Engine, EngineSession, ExecutionProvider, HostTensor, SessionOptions, TensorArray, TensorType } from '../engine.js';
import { DevicePool, Generations, type DeviceIo, type DeviceTensor } from './device-state.js';
import { webgpuEnvFix, webgpuHelp } from './webgpu-env.js';

const CUDA_FIX = 'install the CUDA build of onnxruntime-node: ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci (needs CUDA 12 and cuDNN 9), or use --ep cpu';

/** The folder holding onnxruntime-node's native binaries for this platform. */
function nativeDir(): string | undefined {
  try {
    const req = createRequire(import.meta.url);
    const root = path.dirname(path.dirname(req.resolve('onnxruntime-node')));
    const bin = path.join(root, 'bin');
    for (const napi of fs.readdirSync(bin).sort().reverse()) {
      const dir = path.join(bin, napi, process.platform, process.arch);
      if (fs.existsSync(dir)) return dir;
    }
  } catch {
    // fall through: unknown layout
  }
  return undefined;
}

/** Undefined when the CUDA provider libraries are installed, else why not. */
export function cudaProviderProblem(): string | undefined {
  if (process.platform !== 'linux' && process.platform !== 'win32') return `onnxruntime-node has no CUDA provider for ${process.platform}`;
  const dir = nativeDir();
  if (!dir) return 'cannot locate the onnxruntime-node native binaries';
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!fs.existsSync(path.join(dir, lib))) return `the CUDA execution provider is not installed (${path.join(dir, lib)} is missing)`;
  return undefined;
}

export class NodeEngine implements Engine {
  /** webgpu: the device tensors of this engine's sessions (live set, transfer statistics); undefined on cpu/cuda. */
  readonly device: DevicePool | undefined;

  constructor(readonly ep: ExecutionProvider = 'cpu') {
    if (ep === 'wasm') throw new OnnxTrainError('BAD_ARGUMENT', 'onnxruntime-node has no wasm EP', 'use the web engine for wasm: createEngine("wasm")');
    if (ep === 'cuda') {
      const problem = cudaProviderProblem();
      if (problem) throw new OnnxTrainError('RUNTIME', problem, CUDA_FIX);
    }
    if (ep === 'webgpu') {
      // VK_ICD_FILENAMES is read when Dawn initialises Vulkan, so it can still be set here; LD_LIBRARY_PATH cannot.
      const fix = webgpuEnvFix();
      if (fix && !fix.needsRestart) Object.assign(process.env, fix.env);
    }
    this.device = ep === 'webgpu' ? new DevicePool(new NodeReadback()) : undefined;
  }

  /** Copies device tensors (default: every live one) to the host; a no-op without device tensors. */
  async syncToHost(tensors?: Iterable<HostTensor>): Promise<void> {
    await this.device?.syncToHost(tensors);
  }

  async load(model: Uint8Array, opts: SessionOptions = {}): Promise<EngineSession> {
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: [this.ep],
      graphOptimizationLevel: 'all',
      // ORT's memory-pattern planner allocates and frees one block for all intermediates on every run; in
      // sandboxed kernels (gVisor-like, where page faults are expensive) that made a 0.2 ms run take 15-25 ms.
      // Without it, intermediates come from the arena and are reused across runs. Measured in tools/bench.
      enableMemPattern: process.env.ONNX_TRAIN_MEM_PATTERN === '1',
      logSeverityLevel: opts.logSeverity ?? 3,
    };
    let onDevice = new Set<string>();
    if (this.ep === 'webgpu') {
      // Names are matched first: onnxruntime-node rejects a location map naming outputs the model lacks.
      const want = new Set(opts.deviceOutputs ?? []);
      const outputs = want.size ? graphOutputNames(model) : [];
      onDevice = new Set(outputs.filter((n) => want.has(n)));
      so.preferredOutputLocation = onDevice.size ? Object.fromEntries(outputs.map((n) => [n, 'gpu-buffer' as const])) : 'cpu';
    }
    if (opts.threads) so.intraOpNumThreads = opts.threads;
    if (opts.noSpinning) so.extra = { session: { intra_op: { allow_spinning: '0' } } };
    let s: ort.InferenceSession;
    try {
      s = await ort.InferenceSession.create(model, so);
    } catch (e) {
      throw loadError(this.ep, e);
    }
    return new NodeSession(s, this.ep, opts.narrowInputs ?? {}, this.device, onDevice);
  }
}

/** int64 feed -> the narrower type the graph declares; exact or an error (never a silent wrap-around). */
function narrow(name: string, t: HostTensor, to: TensorType): HostTensor {
  if (t.type === to) return t;
  if (t.type !== 'int64' || (to !== 'int32' && to !== 'float32')) {
    throw new OnnxTrainError('BAD_ARGUMENT', `input "${name}" is ${t.type}; the model takes ${to}`, 'feed the type the manifest declares');
  }
  const src = t.data as BigInt64Array;
  const limit = to === 'int32' ? 2n ** 31n : 2n ** 24n;
  const out = to === 'int32' ? new Int32Array(src.length) : new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    if (src[i] >= limit || src[i] < -limit) throw new OnnxTrainError('BAD_ARGUMENT', `input "${name}" value ${src[i]} does not fit ${to} exactly`, 'the WebGPU graphs use 32-bit integers (labels) and float32 counters (step < 2^24)');
    out[i] = Number(src[i]);
  }
  return { type: to, dims: t.dims, data: out };
}

function loadError(ep: ExecutionProvider, e: unknown): OnnxTrainError {
  const msg = e instanceof Error ? e.message : String(e);
  if (ep === 'webgpu' && /adapter/i.test(msg)) {
    return new OnnxTrainError('RUNTIME', `onnxruntime-node found no WebGPU adapter: ${firstLine(msg)}`, webgpuHelp());
  }
  if (ep === 'cuda' && /shared library|libcu|cudnn|CUDA/i.test(msg)) {
    return new OnnxTrainError('RUNTIME', `onnxruntime-node could not start the CUDA EP: ${firstLine(msg)}`, CUDA_FIX);
  }
  return new OnnxTrainError('RUNTIME', `onnxruntime-node (${ep}) could not load the model: ${msg}`,
    'run "onnx-train inspect" on the model to list ops a stock runtime cannot run');
}

/** ORT's message without the C++ source location and lambda signature it starts with. */
function firstLine(s: string): string {
  const adapter = /Failed to get a WebGPU adapter[^\n]*/.exec(s);
  if (adapter) return adapter[0];
  const line = s.split('\n').map((l) => l.trim()).find(Boolean) ?? s;
  return line.replace(/^\/onnxruntime_src\/\S+ /, '');
}

class NodeSession implements EngineSession {
  private readonly gens: Generations | undefined;
  private released = false;

  constructor(
    private readonly s: ort.InferenceSession,
    private readonly ep: ExecutionProvider,
    private readonly narrowInputs: Readonly<Record<string, TensorType>>,
    private readonly device: DevicePool | undefined,
    /** Outputs kept on the device; when any, every output is in GPU memory and every run fetches all of them. */
    private readonly onDevice: ReadonlySet<string>,
  ) {
    if (device) {
      this.gens = new Generations(device);
      device.opened();
    }
  }
  get inputNames() { return this.s.inputNames; }
  get outputNames() { return this.s.outputNames; }

  async run(feeds: Record<string, HostTensor>, fetch?: readonly string[], into?: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const upload = (k: string, v0: HostTensor) => {
      const to = this.narrowInputs[k];
      const v = to ? narrow(k, v0, to) : v0;
      return new ort.Tensor(v.type, v.data as never, v.dims as number[]);
    };
    let f: Record<string, ort.Tensor>;
    if (this.device) {
      const bound = this.device.bindFeeds(feeds, (k, v) => {
        const tensor = upload(k, v);
        return { tensor, bytes: (tensor.data as TensorArray).byteLength };
      });
      f = bound.feeds as Record<string, ort.Tensor>;
      // Release what this session produced before and does not get back (superseded, or an update not applied).
      this.gens!.beforeRun(bound.fed);
    } else {
      f = {};
      for (const [k, v] of Object.entries(feeds)) f[k] = upload(k, v);
    }
    let out: ort.InferenceSession.ReturnType;
    try {
      if (this.onDevice.size) {
        out = await this.s.run(f); // every output, always (module doc: onnxruntime-node 1.30's IoBinding)
      } else if (into && this.ep === 'cpu') {
        // Preallocated outputs: ORT writes straight into them (no fresh buffer, no copy).
        const fetches: Record<string, ort.Tensor | null> = {};
        for (const name of fetch ?? this.s.outputNames) {
          const t = into[name];
          fetches[name] = t ? new ort.Tensor(t.type, t.data as never, t.dims as number[]) : null;
        }
        out = await this.s.run(f, fetches);
      } else {
        out = fetch ? await this.s.run(f, fetch as string[]) : await this.s.run(f);
      }
    } catch (e) {
      throw new OnnxTrainError('RUNTIME', `onnxruntime-node (${this.ep}) failed to run the model: ${e instanceof Error ? e.message : String(e)}`,
        'check the feeds against the model inputs ("onnx-train inspect" lists them)');
    }
    if (this.device) return this.device.adoptOutputs(out as Record<string, ort.Tensor>, this.gens!, hostData, this.onDevice.size ? { fetch, keep: this.onDevice } : {});
    const r: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(out)) r[k] = { type: v.type as TensorType, dims: v.dims, data: hostData(k, v as ort.Tensor) };
    return r;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    // The last session of the engine releases every device tensor first, while the WebGPU device still exists.
    await this.device?.closing();
    await this.s.release();
  }
}

/** The values of an output in CPU memory. Never reads any other location: in Node that aborts the whole process. */
function hostData(name: string, v: ort.Tensor): TensorArray {
  if (v.location !== 'cpu') {
    throw new OnnxTrainError('RUNTIME', `output "${name}" came back in ${v.location} memory, not on the CPU`, 'this is a bug in the onnxruntime-node adapter');
  }
  return v.data as TensorArray;
}

/**
 * Names of a model's graph outputs, read from the protobuf wire format without decoding the model (initializers are
 * skipped, not copied): ModelProto.graph = 7, GraphProto.output = 12, ValueInfoProto.name = 1. Empty when the bytes
 * are not a model (ORT then reports the problem when it loads them).
 */
export function graphOutputNames(bytes: Uint8Array): string[] {
  const names: string[] = [];
  try {
    for (const g of lengthDelimited(bytes, 0, bytes.length, 7)) {
      for (const o of lengthDelimited(bytes, g[0], g[1], 12)) {
        for (const n of lengthDelimited(bytes, o[0], o[1], 1)) names.push(new TextDecoder().decode(bytes.subarray(n[0], n[1])));
      }
    }
  } catch {
    return [];
  }
  return names;
}

/** [start, end) of every length-delimited field `field` of the message in bytes[start, end). */
function lengthDelimited(b: Uint8Array, start: number, end: number, field: number): [number, number][] {
  const out: [number, number][] = [];
  let p = start;
  const varint = () => {
    let v = 0;
    for (let shift = 1; ; shift *= 128) {
      if (p >= end) throw new RangeError('truncated varint');
      const byte = b[p++];
      v += (byte & 0x7f) * shift;
      if (byte < 0x80) return v;
      if (shift > 2 ** 49) throw new RangeError('varint too long');
    }
  };
  while (p < end) {
    const key = varint();
    const wire = key % 8;
    if (wire === 0) varint();
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const len = varint();
      if (p + len > end) throw new RangeError('length past the end');
      if (Math.floor(key / 8) === field) out.push([p, p + len]);
      p += len;
    } else throw new RangeError(`wire type ${wire}`);
  }
  if (p !== end) throw new RangeError('field past the end');
  return out;
}

/** A one-node Identity model over any shape of `type` (no shape in its signature), as ONNX bytes. */
function identityModel(type: TensorType): Uint8Array {
  const vi = (name: string) => ({ name, type: { tensor_type: { elem_type: dtypeFromOrt(type) } } });
  return encodeMessage({
    ir_version: 8,
    opset_import: [{ domain: '', version: 13 }],
    producer_name: 'onnx-train',
    graph: { name: 'readback', node: [{ name: 'readback', op_type: 'Identity', input: ['x'], output: ['y'] }], input: [vi('x')], output: [vi('y')] },
  });
}

/** What this adapter uses of onnxruntime-node's native binding: a session whose `run` is synchronous. */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: ort.InferenceSession.SessionOptions): void;
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, null>, options: object): Record<string, ort.Tensor>;
  dispose(): void;
}

const READBACK_OPTIONS: ort.InferenceSession.SessionOptions = { executionProviders: ['webgpu'], preferredOutputLocation: 'cpu', logSeverityLevel: 3 };

/**
 * Device tensors to the host: each is fed to an Identity session of its element type on the WebGPU EP with the
 * output in CPU memory (see the module doc). The async path uses onnxruntime-node's public API. The synchronous one
 * (a first read of `data`, e.g. `getParameter()` after training, which is synchronous in the TrainingSession API) uses
 * the synchronous session of onnxruntime-node's native binding (`onnxruntime-node/dist/binding`, what its public
 * `run` calls inside a setImmediate); where that is unavailable the read fails with an error naming
 * `syncToHost()`, never an abort.
 */
class NodeReadback implements DeviceIo {
  private readonly sessions = new Map<TensorType, Promise<ort.InferenceSession>>();
  private readonly native = new Map<TensorType, NativeSession>();

  async download(ts: readonly DeviceTensor[]): Promise<TensorArray[]> {
    const out: TensorArray[] = [];
    for (const t of ts) {
      const s = await this.session(t.type);
      const r = await s.run({ x: t.handle as ort.Tensor });
      out.push(hostData(t.name, r.y as ort.Tensor));
    }
    return out;
  }

  downloadSync(ts: readonly DeviceTensor[]): TensorArray[] {
    return ts.map((t) => {
      const r = this.nativeSession(t).run({ x: t.handle as ort.Tensor }, { y: null }, {});
      return hostData(t.name, r.y);
    });
  }

  async teardown(): Promise<void> {
    for (const s of this.native.values()) s.dispose();
    this.native.clear();
    const open = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of open) await (await s).release();
  }

  private session(type: TensorType): Promise<ort.InferenceSession> {
    let s = this.sessions.get(type);
    if (!s) {
      s = ort.InferenceSession.create(identityModel(type), READBACK_OPTIONS);
      this.sessions.set(type, s);
      s.catch(() => this.sessions.delete(type));
    }
    return s;
  }

  private nativeSession(t: DeviceTensor): NativeSession {
    let s = this.native.get(t.type);
    if (s) return s;
    const binding = nativeBinding();
    if (!binding) {
      throw new OnnxTrainError('RUNTIME', `tensor "${t.name}" is on the GPU and this onnxruntime-node has no synchronous session to read it with`,
        'await session.syncToHost() before reading parameters synchronously (getParameter, getOptimizerState, toCheckpoint)');
    }
    s = new binding.InferenceSession();
    const bytes = identityModel(t.type);
    s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, READBACK_OPTIONS);
    this.native.set(t.type, s);
    return s;
  }
}

let nativeBindingCache: { InferenceSession: new () => NativeSession } | null | undefined;

/** onnxruntime-node's native binding (initialised, as its public API leaves it), or undefined when not found. */
function nativeBinding(): { InferenceSession: new () => NativeSession } | undefined {
  if (nativeBindingCache === undefined) {
    nativeBindingCache = null;
    try {
      const m = createRequire(import.meta.url)('onnxruntime-node/dist/binding') as { binding?: { InferenceSession?: unknown }; initOrt?: () => void };
      if (typeof m.binding?.InferenceSession === 'function') {
        m.initOrt?.();
        nativeBindingCache = m.binding as { InferenceSession: new () => NativeSession };
      }
    } catch {
      // a different package layout: the synchronous read is unavailable
    }
  }
  return nativeBindingCache ?? undefined;
}
