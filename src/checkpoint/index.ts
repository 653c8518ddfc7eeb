/**
 * Checkpoints: ODTC (ORT flatbuffer, v1/v2), legacy ORT pbseq folders and safetensors, read into and written
 * from one plain in-memory model (`CheckpointState`).
 */
export type {
  CheckpointFormat,
  CheckpointOptimizerState,
  CheckpointState,
  CheckpointTensor,
  ExpectedTensor,
  OptimizerGroup,
  ParameterOptimizerState,
  PropertyValue,
} from './types.js';
export { DataType, byteLength, dataTypeName, elementCount } from './dtype.js';
export {
  readCheckpoint,
  writeCheckpoint,
  detectCheckpointFormat,
  type DetectedCheckpoint,
  type ReadCheckpointOptions,
  type WriteCheckpointOptions,
} from './io.js';
export { validateAgainst, checkpointMismatches, type CheckpointMismatch } from './validate.js';
export {
  decodeOdtc,
  encodeOdtc,
  isOdtc,
  ODTC_DEFAULT_VERSION,
  type DecodeOdtcOptions,
  type EncodeOdtcOptions,
  type EncodedOdtc,
} from './odtc.js';
export { decodeSafetensors, encodeSafetensors, isSafetensors, momentumTensorName } from './safetensors.js';
export { decodePbseq, encodePbseq, decodeTensorProto, encodeTensorProto } from './pbseq.js';
export { decodeLegacyDir, encodeLegacyDir } from './legacy-dir.js';
export { writeFileAtomic, writeBytesAtomic, writeDirAtomic, prepareFileAtomic, type ByteSink, type PreparedFile } from './atomic.js';
