/**
 * Engines by execution-provider name: the one place that picks an ONNX Runtime build.
 *
 * | ep       | runtime                      | notes                                                                 |
 * | -------- | ---------------------------- | --------------------------------------------------------------------- |
 * | `cpu`    | onnxruntime-node             | default                                                               |
 * | `cuda`   | onnxruntime-node, CUDA EP    | needs `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci`; checked up front      |
 * | `webgpu` | onnxruntime-node, WebGPU EP  | Dawn over Vulkan; without a GPU, SwiftShader (see adapters/webgpu-env) |
 * | `wasm`   | onnxruntime-web in this process | threads: half the cores, at most 4                                 |
 *
 * Both runtimes load on demand (importing this module costs nothing), and every path loads onnxruntime-node first,
 * wasm included: loaded the other way round, 'cpu' can resolve to the wasm backend and run ~2x slower without a
 * word.
 */
import * as os from 'node:os';
import { OnnxTrainError } from '../errors.js';
import type { Engine, ExecutionProvider } from './engine.js';

export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'cuda', 'wasm', 'webgpu'];

export interface CreateEngineOptions {
  /** wasm only: threads for onnxruntime-web (process-wide, fixed by the first wasm engine). */
  wasmThreads?: number;
  /**
   * webgpu only: create a one-node session first so that a missing adapter fails here, with a fix-it message,
   * rather than at the first real model (default true).
   */
  probe?: boolean;
}

export function isExecutionProvider(s: string): s is ExecutionProvider {
  return (EXECUTION_PROVIDERS as readonly string[]).includes(s);
}

/**
 * An engine for `ep`. Throws OnnxTrainError: 'BAD_ARGUMENT' for an unknown name, 'RUNTIME' when the EP cannot run
 * here (CUDA provider not installed, no WebGPU adapter), each with the fix.
 */
export async function createEngine(ep: ExecutionProvider, opts: CreateEngineOptions = {}): Promise<Engine> {
  if (!isExecutionProvider(ep)) {
    throw new OnnxTrainError('BAD_ARGUMENT', `unknown execution provider "${String(ep)}"`, `use one of ${EXECUTION_PROVIDERS.join(', ')}`);
  }
  // onnxruntime-node first, always (see the module comment).
  const { NodeEngine } = await import('./adapters/node.js');
  switch (ep) {
    case 'cpu':
    case 'cuda':
      return new NodeEngine(ep);
    case 'webgpu': {
      const engine = new NodeEngine('webgpu');
      if (opts.probe !== false) await probe(engine);
      return engine;
    }
    case 'wasm': {
      const { WebEngine } = await import('./adapters/web.js');
      const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
      return new WebEngine({ threads: opts.wasmThreads ?? Math.min(4, Math.max(1, Math.ceil(cores / 2))) });
    }
  }
}

/**
 * A minimal model, Identity over float32[1] at ai.onnx 13, as protobuf bytes written by hand: the runtime layer
 * does not build graphs, and this is all a probe needs.
 */
const PROBE_MODEL = (() => {
  const enc = new TextEncoder();
  const bytes = (...parts: (number | Uint8Array)[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])));
  const field = (tag: number, body: Uint8Array) => bytes(tag, body.length, body); // all bodies here are < 128 bytes
  const str = (tag: number, s: string) => field(tag, enc.encode(s));
  // ValueInfoProto{name, type{tensor_type{elem_type=1, shape{dim{dim_value=1}}}}}
  const vi = (name: string) => bytes(str(0x0a, name), field(0x12, field(0x0a, bytes(0x08, 0x01, field(0x12, field(0x0a, bytes(0x08, 0x01)))))));
  const node = bytes(str(0x0a, 'x'), str(0x12, 'y'), str(0x22, 'Identity'));
  const graph = bytes(field(0x0a, node), str(0x12, 'probe'), field(0x5a, vi('x')), field(0x62, vi('y')));
  const opset = bytes(str(0x0a, ''), 0x10, 13);
  return bytes(0x08, 8, field(0x3a, graph), field(0x42, opset));
})();

async function probe(engine: Engine): Promise<void> {
  const s = await engine.load(PROBE_MODEL);
  try {
    await s.run({ x: { type: 'float32', dims: [1], data: Float32Array.of(1) } });
  } finally {
    await s.release();
  }
}
