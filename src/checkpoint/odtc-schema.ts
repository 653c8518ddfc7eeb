/**
 * Hand-written flatbuffers accessors and builder helpers for ORT's on-device-training checkpoint schema
 * (`onnxruntime/core/flatbuffers/schema/ort_training_checkpoint.fbs` + the `Tensor` table of `ort.fbs`,
 * namespace `onnxruntime.fbs`, `root_type Checkpoint`, `file_identifier "ODTC"`).
 *
 * The accessors are *unchecked* (like flatc output): run `verifyOdtc` over a buffer before reading it with
 * them. Field slots are the declaration order of the schema; the vtable offset of slot `i` is `4 + 2 * i`.
 *
 * ```
 * table Checkpoint      { version:int32; module_state:ModuleState; optimizer_groups:[OptimizerGroup]; property_bag:PropertyBag; }
 * table ModuleState     { requires_grad_params:[Tensor]; frozen_params:[Tensor]; is_nominal_state:bool; has_external_data:bool; }
 * table OptimizerGroup  { group_name:string; step:int64; initial_learning_rate:float; optimizer_states:[ParameterOptimizerState]; }
 * table ParameterOptimizerState { param_name:string; momentums:[Tensor]; }
 * table PropertyBag     { ints:[IntProperty]; floats:[FloatProperty]; strings:[StringProperty]; }
 * table IntProperty { name:string; value:int64; }  table FloatProperty { name:string; value:float; }
 * table StringProperty { name:string; value:string; }
 * table Tensor { name:string; doc_string:string; dims:[int64]; data_type:TensorDataType(int32); raw_data:[uint8];
 *                string_data:[string]; external_data_offset:int64 = -1; }
 * ```
 */
import { Builder, ByteBuffer } from 'flatbuffers';

/** The 4-byte file identifier at bytes 4..8 of every ODTC file. */
export const ODTC_IDENTIFIER = 'ODTC';

/** vtable offset of field slot `i`. */
export const slot = (i: number): number => 4 + 2 * i;

/** Field slots per table (declaration order), shared by accessors, builders and the verifier. */
export const Slots = {
  Checkpoint: { version: 0, moduleState: 1, optimizerGroups: 2, propertyBag: 3, count: 4 },
  ModuleState: { requiresGradParams: 0, frozenParams: 1, isNominalState: 2, hasExternalData: 3, count: 4 },
  OptimizerGroup: { groupName: 0, step: 1, initialLearningRate: 2, optimizerStates: 3, count: 4 },
  ParameterOptimizerState: { paramName: 0, momentums: 1, count: 2 },
  PropertyBag: { ints: 0, floats: 1, strings: 2, count: 3 },
  Property: { name: 0, value: 1, count: 2 },
  Tensor: {
    name: 0, docString: 1, dims: 2, dataType: 3, rawData: 4, stringData: 5, externalDataOffset: 6, count: 7,
  },
} as const;

/** Base of every accessor: a position in a ByteBuffer. */
abstract class TableAccessor {
  bb!: ByteBuffer;
  bb_pos = 0;

  __init(i: number, bb: ByteBuffer): this {
    this.bb_pos = i;
    this.bb = bb;
    return this;
  }

  /** Absolute position of field slot `s`, or 0 when absent. */
  protected field(s: number): number {
    const o = this.bb.__offset(this.bb_pos, slot(s));
    return o === 0 ? 0 : this.bb_pos + o;
  }

  protected str(s: number): string | null {
    const p = this.field(s);
    return p === 0 ? null : (this.bb.__string(p) as string);
  }

  protected vecLen(s: number): number {
    const p = this.field(s);
    return p === 0 ? 0 : this.bb.__vector_len(p);
  }

  protected has(s: number): boolean {
    return this.field(s) !== 0;
  }

  /** Absolute position of table element `i` of the offset vector in slot `s`. */
  protected tableAt(s: number, i: number): number {
    const p = this.field(s);
    return this.bb.__indirect(this.bb.__vector(p) + i * 4);
  }
}

/** Accessor for `Tensor` (from `ort.fbs`). */
export class FbsTensor extends TableAccessor {
  name(): string | null {
    return this.str(Slots.Tensor.name);
  }
  docString(): string | null {
    return this.str(Slots.Tensor.docString);
  }
  hasDims(): boolean {
    return this.has(Slots.Tensor.dims);
  }
  dimsLength(): number {
    return this.vecLen(Slots.Tensor.dims);
  }
  dims(i: number): bigint {
    const p = this.field(Slots.Tensor.dims);
    return this.bb.readInt64(this.bb.__vector(p) + i * 8);
  }
  dataType(): number {
    const p = this.field(Slots.Tensor.dataType);
    return p === 0 ? 0 : this.bb.readInt32(p);
  }
  hasRawData(): boolean {
    return this.has(Slots.Tensor.rawData);
  }
  /** View (not a copy) of `raw_data`, or null when absent. */
  rawDataView(): Uint8Array | null {
    const p = this.field(Slots.Tensor.rawData);
    if (p === 0) return null;
    const start = this.bb.__vector(p);
    return this.bb.bytes().subarray(start, start + this.bb.__vector_len(p));
  }
  hasStringData(): boolean {
    return this.has(Slots.Tensor.stringData);
  }
  stringDataLength(): number {
    return this.vecLen(Slots.Tensor.stringData);
  }
  stringData(i: number): string {
    const p = this.field(Slots.Tensor.stringData);
    return this.bb.__string(this.bb.__vector(p) + i * 4) as string;
  }
  /** Offset into the external data file, -1 (the schema default) when the bytes are inline. */
  externalDataOffset(): bigint {
    const p = this.field(Slots.Tensor.externalDataOffset);
    return p === 0 ? -1n : this.bb.readInt64(p);
  }

  static start(b: Builder): void {
    b.startObject(Slots.Tensor.count);
  }
  static addName(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Tensor.name, o, 0);
  }
  static addDocString(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Tensor.docString, o, 0);
  }
  static addDims(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Tensor.dims, o, 0);
  }
  static addDataType(b: Builder, v: number): void {
    b.addFieldInt32(Slots.Tensor.dataType, v, 0);
  }
  static addRawData(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Tensor.rawData, o, 0);
  }
  static addStringData(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Tensor.stringData, o, 0);
  }
  static addExternalDataOffset(b: Builder, v: bigint): void {
    b.addFieldInt64(Slots.Tensor.externalDataOffset, v, -1n);
  }
  static end(b: Builder): number {
    return b.endObject();
  }
  /** `[int64]` vector. */
  static createDims(b: Builder, dims: readonly number[]): number {
    b.startVector(8, dims.length, 8);
    for (let i = dims.length - 1; i >= 0; i--) b.addInt64(BigInt(dims[i]!));
    return b.endVector();
  }
  /** `[uint8]` vector whose payload starts on an `align`-byte boundary of the finished buffer. */
  static createRawData(b: Builder, data: Uint8Array, align = 16): number {
    // Pre-align so the payload (not just the length prefix) starts on an `align` boundary; createByteVector's
    // own prep(4) then adds no padding and copies the payload with one `set`.
    b.prep(align, data.length);
    return b.createByteVector(data);
  }
}

/** Accessor for `ModuleState`. */
export class FbsModuleState extends TableAccessor {
  requiresGradParamsLength(): number {
    return this.vecLen(Slots.ModuleState.requiresGradParams);
  }
  hasRequiresGradParams(): boolean {
    return this.has(Slots.ModuleState.requiresGradParams);
  }
  requiresGradParams(i: number, obj = new FbsTensor()): FbsTensor {
    return obj.__init(this.tableAt(Slots.ModuleState.requiresGradParams, i), this.bb);
  }
  frozenParamsLength(): number {
    return this.vecLen(Slots.ModuleState.frozenParams);
  }
  hasFrozenParams(): boolean {
    return this.has(Slots.ModuleState.frozenParams);
  }
  frozenParams(i: number, obj = new FbsTensor()): FbsTensor {
    return obj.__init(this.tableAt(Slots.ModuleState.frozenParams, i), this.bb);
  }
  isNominalState(): boolean {
    const p = this.field(Slots.ModuleState.isNominalState);
    return p !== 0 && this.bb.readInt8(p) !== 0;
  }
  hasExternalData(): boolean {
    const p = this.field(Slots.ModuleState.hasExternalData);
    return p !== 0 && this.bb.readInt8(p) !== 0;
  }

  static start(b: Builder): void {
    b.startObject(Slots.ModuleState.count);
  }
  static addRequiresGradParams(b: Builder, o: number): void {
    b.addFieldOffset(Slots.ModuleState.requiresGradParams, o, 0);
  }
  static addFrozenParams(b: Builder, o: number): void {
    b.addFieldOffset(Slots.ModuleState.frozenParams, o, 0);
  }
  static addIsNominalState(b: Builder, v: boolean): void {
    b.addFieldInt8(Slots.ModuleState.isNominalState, v ? 1 : 0, 0);
  }
  static addHasExternalData(b: Builder, v: boolean): void {
    b.addFieldInt8(Slots.ModuleState.hasExternalData, v ? 1 : 0, 0);
  }
  static end(b: Builder): number {
    return b.endObject();
  }
}

/** Accessor for `ParameterOptimizerState`. */
export class FbsParameterOptimizerState extends TableAccessor {
  paramName(): string | null {
    return this.str(Slots.ParameterOptimizerState.paramName);
  }
  hasMomentums(): boolean {
    return this.has(Slots.ParameterOptimizerState.momentums);
  }
  momentumsLength(): number {
    return this.vecLen(Slots.ParameterOptimizerState.momentums);
  }
  momentums(i: number, obj = new FbsTensor()): FbsTensor {
    return obj.__init(this.tableAt(Slots.ParameterOptimizerState.momentums, i), this.bb);
  }

  static start(b: Builder): void {
    b.startObject(Slots.ParameterOptimizerState.count);
  }
  static addParamName(b: Builder, o: number): void {
    b.addFieldOffset(Slots.ParameterOptimizerState.paramName, o, 0);
  }
  static addMomentums(b: Builder, o: number): void {
    b.addFieldOffset(Slots.ParameterOptimizerState.momentums, o, 0);
  }
  static end(b: Builder): number {
    return b.endObject();
  }
}

/** Accessor for `OptimizerGroup`. */
export class FbsOptimizerGroup extends TableAccessor {
  groupName(): string | null {
    return this.str(Slots.OptimizerGroup.groupName);
  }
  step(): bigint {
    const p = this.field(Slots.OptimizerGroup.step);
    return p === 0 ? 0n : this.bb.readInt64(p);
  }
  initialLearningRate(): number {
    const p = this.field(Slots.OptimizerGroup.initialLearningRate);
    return p === 0 ? 0 : this.bb.readFloat32(p);
  }
  hasOptimizerStates(): boolean {
    return this.has(Slots.OptimizerGroup.optimizerStates);
  }
  optimizerStatesLength(): number {
    return this.vecLen(Slots.OptimizerGroup.optimizerStates);
  }
  optimizerStates(i: number, obj = new FbsParameterOptimizerState()): FbsParameterOptimizerState {
    return obj.__init(this.tableAt(Slots.OptimizerGroup.optimizerStates, i), this.bb);
  }

  static start(b: Builder): void {
    b.startObject(Slots.OptimizerGroup.count);
  }
  static addGroupName(b: Builder, o: number): void {
    b.addFieldOffset(Slots.OptimizerGroup.groupName, o, 0);
  }
  static addStep(b: Builder, v: bigint): void {
    b.addFieldInt64(Slots.OptimizerGroup.step, v, 0n);
  }
  static addInitialLearningRate(b: Builder, v: number): void {
    b.addFieldFloat32(Slots.OptimizerGroup.initialLearningRate, v, 0);
  }
  static addOptimizerStates(b: Builder, o: number): void {
    b.addFieldOffset(Slots.OptimizerGroup.optimizerStates, o, 0);
  }
  static end(b: Builder): number {
    return b.endObject();
  }
}

/** Accessor for `IntProperty`, `FloatProperty` and `StringProperty` (same slots: name, value). */
export class FbsProperty extends TableAccessor {
  name(): string | null {
    return this.str(Slots.Property.name);
  }
  intValue(): bigint {
    const p = this.field(Slots.Property.value);
    return p === 0 ? 0n : this.bb.readInt64(p);
  }
  floatValue(): number {
    const p = this.field(Slots.Property.value);
    return p === 0 ? 0 : this.bb.readFloat32(p);
  }
  stringValue(): string | null {
    return this.str(Slots.Property.value);
  }

  static start(b: Builder): void {
    b.startObject(Slots.Property.count);
  }
  static addName(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Property.name, o, 0);
  }
  static addIntValue(b: Builder, v: bigint): void {
    b.addFieldInt64(Slots.Property.value, v, 0n);
  }
  static addFloatValue(b: Builder, v: number): void {
    b.addFieldFloat32(Slots.Property.value, v, 0);
  }
  static addStringValue(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Property.value, o, 0);
  }
  static end(b: Builder): number {
    return b.endObject();
  }
}

/** Accessor for `PropertyBag`. */
export class FbsPropertyBag extends TableAccessor {
  intsLength(): number {
    return this.vecLen(Slots.PropertyBag.ints);
  }
  ints(i: number, obj = new FbsProperty()): FbsProperty {
    return obj.__init(this.tableAt(Slots.PropertyBag.ints, i), this.bb);
  }
  floatsLength(): number {
    return this.vecLen(Slots.PropertyBag.floats);
  }
  floats(i: number, obj = new FbsProperty()): FbsProperty {
    return obj.__init(this.tableAt(Slots.PropertyBag.floats, i), this.bb);
  }
  stringsLength(): number {
    return this.vecLen(Slots.PropertyBag.strings);
  }
  strings(i: number, obj = new FbsProperty()): FbsProperty {
    return obj.__init(this.tableAt(Slots.PropertyBag.strings, i), this.bb);
  }

  static start(b: Builder): void {
    b.startObject(Slots.PropertyBag.count);
  }
  static addInts(b: Builder, o: number): void {
    b.addFieldOffset(Slots.PropertyBag.ints, o, 0);
  }
  static addFloats(b: Builder, o: number): void {
    b.addFieldOffset(Slots.PropertyBag.floats, o, 0);
  }
  static addStrings(b: Builder, o: number): void {
    b.addFieldOffset(Slots.PropertyBag.strings, o, 0);
  }
  static end(b: Builder): number {
    return b.endObject();
  }
}

/** Accessor for the root table `Checkpoint`. */
export class FbsCheckpoint extends TableAccessor {
  /** Root accessor of a (verified) buffer. */
  static getRoot(bb: ByteBuffer, obj = new FbsCheckpoint()): FbsCheckpoint {
    return obj.__init(bb.readUint32(bb.position()) + bb.position(), bb);
  }
  static bufferHasIdentifier(bb: ByteBuffer): boolean {
    return bb.capacity() >= 8 && bb.__has_identifier(ODTC_IDENTIFIER);
  }

  version(): number {
    const p = this.field(Slots.Checkpoint.version);
    return p === 0 ? 0 : this.bb.readInt32(p);
  }
  moduleState(obj = new FbsModuleState()): FbsModuleState | null {
    const p = this.field(Slots.Checkpoint.moduleState);
    return p === 0 ? null : obj.__init(this.bb.__indirect(p), this.bb);
  }
  hasOptimizerGroups(): boolean {
    return this.has(Slots.Checkpoint.optimizerGroups);
  }
  optimizerGroupsLength(): number {
    return this.vecLen(Slots.Checkpoint.optimizerGroups);
  }
  optimizerGroups(i: number, obj = new FbsOptimizerGroup()): FbsOptimizerGroup {
    return obj.__init(this.tableAt(Slots.Checkpoint.optimizerGroups, i), this.bb);
  }
  propertyBag(obj = new FbsPropertyBag()): FbsPropertyBag | null {
    const p = this.field(Slots.Checkpoint.propertyBag);
    return p === 0 ? null : obj.__init(this.bb.__indirect(p), this.bb);
  }

  static start(b: Builder): void {
    b.startObject(Slots.Checkpoint.count);
  }
  static addVersion(b: Builder, v: number): void {
    b.addFieldInt32(Slots.Checkpoint.version, v, 0);
  }
  static addModuleState(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Checkpoint.moduleState, o, 0);
  }
  static addOptimizerGroups(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Checkpoint.optimizerGroups, o, 0);
  }
  static addPropertyBag(b: Builder, o: number): void {
    b.addFieldOffset(Slots.Checkpoint.propertyBag, o, 0);
  }
  static end(b: Builder): number {
    return b.endObject();
  }
  static finish(b: Builder, root: number): void {
    b.finish(root, ODTC_IDENTIFIER);
  }
}

/** A `[table]` vector from already-built table offsets. */
export function createOffsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}
