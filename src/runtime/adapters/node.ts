/**
 * onnxruntime-node adapter (cpu, cuda, webgpu EPs). The only module that imports onnxruntime-node.
 *
 * - cuda: onnxruntime-node ships the CUDA provider only when installed with ONNXRUNTIME_NODE_INSTALL=cuda12; its
 *   absence is detected up front (ORT's own error is a generic "Failed to load shared library").
 * - webgpu: Dawn over Vulkan (see webgpu-env.ts for running it on SwiftShader). Outputs are always requested in
 *   CPU memory: reading a gpu-buffer tensor's data from Node aborts the process, so this adapter never asks for one
 *   and refuses to touch one.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { OnnxTrainError } from '../../errors.js';
import type { Engine, EngineSession, ExecutionProvider, HostTensor, SessionOptions, TensorArray, TensorType } from '../engine.js';
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
    if (this.ep === 'webgpu') so.preferredOutputLocation = 'cpu';
    if (opts.threads) so.intraOpNumThreads = opts.threads;
    if (opts.noSpinning) so.extra = { session: { intra_op: { allow_spinning: '0' } } };
    let s: ort.InferenceSession;
    try {
      s = await ort.InferenceSession.create(model, so);
    } catch (e) {
      throw loadError(this.ep, e);
    }
    return new NodeSession(s, this.ep, opts.narrowInputs ?? {});
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
  constructor(
    private readonly s: ort.InferenceSession,
    private readonly ep: ExecutionProvider,
    private readonly narrowInputs: Readonly<Record<string, TensorType>>,
  ) {}
  get inputNames() { return this.s.inputNames; }
  get outputNames() { return this.s.outputNames; }

  async run(feeds: Record<string, HostTensor>, fetch?: readonly string[], into?: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v0] of Object.entries(feeds)) {
      const to = this.narrowInputs[k];
      const v = to ? narrow(k, v0, to) : v0;
      f[k] = new ort.Tensor(v.type, v.data as never, v.dims as number[]);
    }
    let out: ort.InferenceSession.ReturnType;
    try {
      if (into && this.ep === 'cpu') {
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
    const r: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(out)) {
      // Never read a GPU-resident tensor's data here: in Node that aborts the whole process.
      if (v.location !== 'cpu') {
        throw new OnnxTrainError('RUNTIME', `output "${k}" came back in ${v.location} memory, not on the CPU`, 'this is a bug in the onnxruntime-node adapter');
      }
      r[k] = { type: v.type as TensorType, dims: v.dims, data: v.data as TensorArray };
    }
    return r;
  }

  async release(): Promise<void> {
    await this.s.release();
  }
}
