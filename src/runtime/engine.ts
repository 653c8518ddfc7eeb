/**
 * The seam between onnx-train and an ONNX Runtime build. Everything above runtime/adapters talks to an Engine;
 * only adapters/node.ts imports onnxruntime-node and only adapters/web*.ts import onnxruntime-web.
 */

/** ORT's tensor type strings that onnx-train moves across the seam. */
export type TensorType = 'float32' | 'float64' | 'float16' | 'int32' | 'int64' | 'int8' | 'uint8' | 'bool';

export type TensorArray = Float32Array | Float64Array | Uint16Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

/** A host tensor: plain data, no runtime object. */
export interface HostTensor {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: TensorArray;
}

/** Execution providers by the names users know. */
export type ExecutionProvider = 'cpu' | 'cuda' | 'wasm' | 'webgpu';

export interface SessionOptions {
  /** Intra-op threads (CPU/wasm). */
  threads?: number;
  /** Disable spinning of idle threads (use when two sessions alternate on few cores). */
  noSpinning?: boolean;
  /**
   * Inputs whose graph element type is narrower than what the host feeds (e.g. int64 labels -> int32 after the
   * WebGPU compatibility rewrite): the engine converts those feeds, range-checked.
   */
  narrowInputs?: Readonly<Record<string, TensorType>>;
  /** ORT log severity (0 verbose … 4 fatal). */
  logSeverity?: 0 | 1 | 2 | 3 | 4;
  /**
   * Outputs to keep in device memory (names of other models are ignored), e.g. the parameter and optimizer-state
   * outputs of a training set (adapters/device-state.ts `stateAliases`). Engines with device memory (onnxruntime-node
   * and onnxruntime-web on WebGPU) return them as device tensors that later runs take as inputs without a copy;
   * host engines ignore the option.
   */
  deviceOutputs?: readonly string[];
}

export interface EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the model; returns host copies of the requested outputs (all when `fetch` is omitted), except the
   * `deviceOutputs` of a device engine, which come back as device tensors (valid as feeds of later runs). `into` offers
   * preallocated host buffers for some outputs: an engine that can write into them (onnxruntime-node) does and
   * returns them; others (onnxruntime-web ignores preallocated outputs) return fresh buffers. `into` buffers must
   * not be fed as inputs of the same run.
   */
  run(feeds: Record<string, HostTensor>, fetch?: readonly string[], into?: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

export interface Engine {
  readonly ep: ExecutionProvider;
  /** Creates a session from model bytes. */
  load(model: Uint8Array, opts?: SessionOptions): Promise<EngineSession>;
  /**
   * Engines that return device tensors (see SessionOptions.deviceOutputs): copies the values of the given ones
   * (default: all it holds) to the host, so that their `data` can be read. Absent on host engines.
   */
  syncToHost?(tensors?: Iterable<HostTensor>): Promise<void>;
}

export const hostTensor = (type: TensorType, dims: readonly number[], data: TensorArray): HostTensor => ({ type, dims, data });
export const f32Tensor = (data: ArrayLike<number>, dims: readonly number[] = [data.length]): HostTensor =>
  ({ type: 'float32', dims, data: Float32Array.from(data) });
export const i64Tensor = (data: ArrayLike<number | bigint>, dims: readonly number[] = [data.length]): HostTensor =>
  ({ type: 'int64', dims, data: BigInt64Array.from(Array.from(data, (x) => BigInt(x))) });
export const boolTensor = (data: ArrayLike<boolean | number>, dims: readonly number[] = [data.length]): HostTensor =>
  ({ type: 'bool', dims, data: Uint8Array.from(Array.from(data, (x) => (x ? 1 : 0))) });
