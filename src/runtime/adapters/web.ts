/**
 * onnxruntime-web adapter: the wasm EP, in Node or a browser. The only module that imports onnxruntime-web.
 *
 * In Node, load it through `createEngine` (src/runtime/engines.ts), which loads onnxruntime-node first: when
 * onnxruntime-web registers its backends first, the shared backend registry can resolve 'cpu' to wasm and every
 * "cpu" session silently runs about 2x slower.
 *
 * Two onnxruntime-web behaviours this adapter absorbs:
 * - it ignores pre-allocated output tensors (so the EngineSession API never offers them);
 * - its wasm side reports some failures (notably a declared output shape the graph contradicts) by throwing a bare
 *   number; that becomes an OnnxTrainError saying what to check.
 */
import * as ort from 'onnxruntime-web';
import { OnnxTrainError } from '../../errors.js';
import type { Engine, EngineSession, HostTensor, SessionOptions, TensorArray, TensorType } from '../engine.js';

export interface WebEngineOptions {
  /**
   * wasm threads for the whole process (`ort.env.wasm.numThreads`, fixed by the first session created). Default:
   * half of `navigator.hardwareConcurrency`, at most 4 (1 where that is unknown, as in Node 20; createEngine passes
   * the Node core count) — the graphs onnx-train runs are small and extra workers mostly add start-up time.
   */
  threads?: number;
}

let configuredThreads: number | undefined;

function configure(threads: number | undefined): void {
  if (configuredThreads !== undefined) return; // onnxruntime-web reads it once, at its first session
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  configuredThreads = Math.max(1, Math.floor(threads ?? Math.min(4, Math.ceil(cores / 2))));
  ort.env.wasm.numThreads = configuredThreads;
  ort.env.logLevel = 'error';
}

/**
 * onnxruntime-web runs every session on one wasm instance; overlapping create/run/release calls from concurrent
 * async code (two sessions stepping at once) are not safe there, so the adapter serialises them.
 */
let chain: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = chain.then(fn, fn);
  chain = next.catch(() => undefined);
  return next;
}

export class WebEngine implements Engine {
  readonly ep = 'wasm' as const;

  constructor(opts: WebEngineOptions = {}) {
    configure(opts.threads);
  }

  async load(model: Uint8Array, opts: SessionOptions = {}): Promise<EngineSession> {
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
      logSeverityLevel: opts.logSeverity ?? 3,
    };
    let s: ort.InferenceSession;
    try {
      s = await serial(() => ort.InferenceSession.create(model, so));
    } catch (e) {
      const shape = e instanceof Error && /ShapeInferenceError|shape/i.test(e.message);
      throw webError('could not load the model', e, shape
        ? 'the model declares shapes its graph contradicts; fix the declared value_info/output shapes (or drop them)'
        : 'run "onnx-train inspect" on the model to list ops a stock runtime cannot run');
    }
    return new WebSession(s);
  }
}

/** onnxruntime-web errors as OnnxTrainError; a bare number (a wasm-side code) gets an explanation. */
export function webError(what: string, e: unknown, fix: string): OnnxTrainError {
  if (typeof e === 'number' || typeof e === 'bigint') {
    return new OnnxTrainError(
      'RUNTIME',
      `onnxruntime-web (wasm) ${what}: it threw the bare number ${String(e)} (a wasm-side failure without a message); ` +
        'the usual cause is a graph output whose declared shape or type differs from what the graph computes',
      'run the same model with --ep cpu (onnxruntime-node reports the mismatch by name) and fix the declared output shapes',
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new OnnxTrainError('RUNTIME', `onnxruntime-web (wasm) ${what}: ${msg}`, fix);
}

class WebSession implements EngineSession {
  constructor(private readonly s: ort.InferenceSession) {}
  get inputNames() { return this.s.inputNames; }
  get outputNames() { return this.s.outputNames; }

  async run(feeds: Record<string, HostTensor>, fetch?: readonly string[]): Promise<Record<string, HostTensor>> {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.type, v.data as never, v.dims as number[]);
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await serial(() => (fetch ? this.s.run(f, fetch as string[]) : this.s.run(f)));
    } catch (e) {
      throw webError('failed to run the model', e, 'check the feeds against the model inputs ("onnx-train inspect" lists them)');
    }
    const r: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(out)) r[k] = { type: v.type as TensorType, dims: v.dims, data: v.data as TensorArray };
    return r;
  }

  async release(): Promise<void> {
    await serial(() => this.s.release());
  }
}
