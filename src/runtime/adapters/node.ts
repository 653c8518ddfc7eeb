/**
 * onnxruntime-node adapter (cpu, cuda, webgpu EPs). The only module that imports onnxruntime-node.
 */
import * as ort from 'onnxruntime-node';
import { OnnxTrainError } from '../../errors.js';
import type { Engine, EngineSession, ExecutionProvider, HostTensor, SessionOptions, TensorArray, TensorType } from '../engine.js';

export class NodeEngine implements Engine {
  constructor(readonly ep: ExecutionProvider = 'cpu') {
    if (ep === 'wasm') throw new OnnxTrainError('BAD_ARGUMENT', 'onnxruntime-node has no wasm EP', 'use the web engine for wasm');
  }

  async load(model: Uint8Array, opts: SessionOptions = {}): Promise<EngineSession> {
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: [this.ep],
      graphOptimizationLevel: 'all',
      logSeverityLevel: opts.logSeverity ?? 3,
    };
    if (opts.threads) so.intraOpNumThreads = opts.threads;
    if (opts.noSpinning) so.extra = { session: { intra_op: { allow_spinning: '0' } } };
    let s: ort.InferenceSession;
    try {
      s = await ort.InferenceSession.create(model, so);
    } catch (e) {
      throw new OnnxTrainError('RUNTIME', `onnxruntime-node (${this.ep}) could not load the model: ${(e as Error).message}`,
        this.ep === 'cuda' ? 'install the CUDA provider libraries: ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci' : 'run "onnx-train inspect" on the model to see unsupported ops');
    }
    return new NodeSession(s);
  }
}

class NodeSession implements EngineSession {
  constructor(private readonly s: ort.InferenceSession) {}
  get inputNames() { return this.s.inputNames; }
  get outputNames() { return this.s.outputNames; }

  async run(feeds: Record<string, HostTensor>, fetch?: readonly string[]): Promise<Record<string, HostTensor>> {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.type, v.data as never, v.dims as number[]);
    const out = fetch ? await this.s.run(f, fetch as string[]) : await this.s.run(f);
    const r: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(out)) r[k] = { type: v.type as TensorType, dims: v.dims, data: v.data as TensorArray };
    return r;
  }

  async release(): Promise<void> {
    await this.s.release();
  }
}
