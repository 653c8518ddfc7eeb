/**
 * The in-memory checkpoint model shared by every checkpoint format (ODTC flatbuffer, legacy pbseq directory,
 * safetensors). Plain data: no classes, no methods, everything keyed by name. Readers fill it, writers consume
 * it, and `validateAgainst` compares it with what a model expects.
 */

/**
 * One named tensor. `data` holds the raw little-endian row-major bytes exactly as ONNX `TensorProto.raw_data`
 * lays them out (4-bit types: two elements per byte, low nibble first). The array is owned by the tensor
 * (readers copy out of the file buffer), but it is not guaranteed to be 8-byte aligned: copy it before
 * viewing it as `Float64Array`/`BigInt64Array`.
 */
export interface CheckpointTensor {
  /** Tensor name; for model parameters the ONNX initializer / graph-input name. */
  name: string;
  /** ONNX `TensorProto.DataType` enum value (see `DataType` in `./dtype.js`); 1 = FLOAT. */
  dataType: number;
  /** Shape; `[]` is a scalar. */
  dims: number[];
  /** Raw bytes (`byteLength(dataType, dims)` long). Empty for STRING tensors and nominal checkpoints. */
  data: Uint8Array;
  /** Elements of a STRING tensor (`dataType === 8`); absent for every other type. */
  strings?: string[];
}

/**
 * The optimizer state of one parameter, as ORT's ODTC `ParameterOptimizerState` stores it: the parameter's
 * name plus its momentum tensors, each *named by the momentum key* — `"momentum0"` (Adam/AdamW first moment,
 * torch `exp_avg`) and `"momentum1"` (second moment, torch `exp_avg_sq`); SGD with momentum has only
 * `"momentum0"`.
 */
export interface ParameterOptimizerState {
  /** Name of the trainable parameter these momentums belong to. */
  param: string;
  /** Momentum tensors, each named by its key (`momentum0`, `momentum1`), same shape/type as the parameter. */
  momentums: CheckpointTensor[];
}

/**
 * One optimizer parameter group (ORT `OptimizerGroup`). ORT only ever writes one group, `"group0"`.
 * `step` and `initialLearningRate` live here, per group, because that is where ORT stores them.
 */
export interface OptimizerGroup {
  /** Group name (`"group0"` in every ORT-written checkpoint). */
  name: string;
  /** Completed optimizer steps (int64). */
  step: bigint;
  /**
   * The *initial* learning rate of the group (ORT stores this, not the current, scheduled lr). ODTC and the
   * legacy format store float32, so values read from them are `Math.fround`-exact.
   */
  initialLearningRate: number;
  /** One entry per parameter with optimizer state, in file order (ORT writes them sorted by name). */
  params: ParameterOptimizerState[];
}

/** Optimizer state of a checkpoint: its parameter groups in file order. */
export interface CheckpointOptimizerState {
  groups: OptimizerGroup[];
}

/**
 * A user property value. The JS type encodes the stored type, mirroring ODTC's `PropertyBag`:
 * `bigint` = int64 (`IntProperty`), `number` = float32 (`FloatProperty`), `string` = `StringProperty`.
 */
export type PropertyValue = number | bigint | string;

/** The format a checkpoint was read from / is to be written in. */
export type CheckpointFormat = 'odtc' | 'pbseq' | 'safetensors';

/**
 * A whole checkpoint: parameters (trainable then frozen, each list in file order), optional optimizer state and
 * a property bag.
 */
export interface CheckpointState {
  /** Format it was read from (writers take the format from their options, not from here). */
  format: CheckpointFormat;
  /**
   * Format version as stored: ODTC `Checkpoint.version` (1 or 2), the onnx-train safetensors mapping version
   * (`onnx_train.version` metadata), absent for legacy pbseq (it has none).
   */
  version?: number;
  /** Parameters that receive gradients (ODTC `requires_grad_params`, legacy `paramtrain_tensors.pbseq`). */
  trainable: CheckpointTensor[];
  /** Parameters that do not (ODTC `frozen_params`, legacy `paramfrozen_tensors.pbseq`). */
  frozen: CheckpointTensor[];
  /**
   * True for an ODTC "nominal" checkpoint (`is_nominal_state`): tensors carry name/type/shape but no data and
   * real values must be supplied before training.
   */
  nominal?: boolean;
  /** Optimizer state; absent when the checkpoint has none (fresh `generate_artifacts` output). */
  optimizer?: CheckpointOptimizerState;
  /** User properties (ODTC `PropertyBag`, legacy `custom_properties.pbseq`); `{}` when there are none. */
  properties: Record<string, PropertyValue>;
}

/** The shape a model expects of one parameter (input of `validateAgainst`). */
export interface ExpectedTensor {
  name: string;
  dims: readonly number[];
  /** ONNX `TensorProto.DataType` value. */
  dataType: number;
}
