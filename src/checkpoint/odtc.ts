/**
 * ODTC: ORT's on-device-training flatbuffer checkpoint (`ort_training_checkpoint.fbs`, identifier "ODTC"),
 * versions 1 and 2. Pure byte codecs; file and companion-file I/O live in `io.ts`.
 *
 * Versions (onnxruntime/core/flatbuffers/checkpoint_version.h): 1 = ModuleState, OptimizerGroups,
 * PropertyBag; 2 = adds `ModuleState.is_nominal_state`. The later `has_external_data` /
 * `Tensor.external_data_offset` fields (microsoft/onnxruntime#20077) came without a version bump, so they are
 * decided by field presence. Native ORT accepts only its own version (equality check), so keep the version
 * you read when writing back for a native reader.
 */
import { Builder, ByteBuffer } from 'flatbuffers';
import { OnnxTrainError } from '../errors.js';
import { byteLength, DataType, isKnownDataType } from './dtype.js';
import {
  FbsCheckpoint,
  FbsModuleState,
  FbsOptimizerGroup,
  FbsParameterOptimizerState,
  FbsProperty,
  FbsPropertyBag,
  FbsTensor,
  createOffsetVector,
} from './odtc-schema.js';
import { verifyOdtc } from './odtc-verify.js';
import { duplicateParamName, hasProperty, propertyProblem, setProperty, tensorProblem } from './tensor-check.js';
import type {
  CheckpointOptimizerState,
  CheckpointState,
  CheckpointTensor,
  OptimizerGroup,
  PropertyValue,
} from './types.js';

/** ODTC versions this module reads and writes. */
export const ODTC_VERSIONS = [1, 2] as const;
/** The version written by default (what ORT 1.17–1.19 writes and accepts). */
export const ODTC_DEFAULT_VERSION = 2;
/** ORT's `kMinimumSizeForExternalData`: tensors smaller than this stay inline even with external data. */
export const ODTC_MIN_EXTERNAL_BYTES = 64;

/** Options of {@link decodeOdtc}. */
export interface DecodeOdtcOptions {
  /** File path for error messages. */
  where?: string;
  /**
   * Reads `length` bytes at `offset` of the external data file (ODTC with `has_external_data`). Without it,
   * a tensor stored externally is an error.
   */
  readExternal?: (offset: number, length: number, tensorName: string) => Uint8Array;
  /** Receives non-fatal findings (e.g. a version newer than 2). */
  onWarning?: (message: string) => void;
}

/** Options of {@link encodeOdtc}. */
export interface EncodeOdtcOptions {
  /** Checkpoint version to write: 2 (default) or 1 (no nominal state, no external data). */
  version?: number;
  /**
   * Store parameter bytes in a separate external data buffer (ORT's layout for >2 GB checkpoints):
   * tensors of at least `minBytes` (default {@link ODTC_MIN_EXTERNAL_BYTES}) go there, 8-byte aligned.
   */
  externalData?: boolean | { minBytes?: number };
}

/** Result of {@link encodeOdtc}: the flatbuffer and, when requested, the external data bytes. */
export interface EncodedOdtc {
  checkpoint: Uint8Array;
  /** Companion file contents (ORT names it `<checkpoint>.data`); absent unless `externalData` was asked. */
  externalData?: Uint8Array;
}

const READ_FIX = 'the checkpoint is damaged or was not written by ORT/onnx-train; re-create it';

/** True when `bytes` carry the ODTC file identifier at bytes 4..8. */
export function isOdtc(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[4] === 0x4f && bytes[5] === 0x44 && bytes[6] === 0x54 && bytes[7] === 0x43;
}

/**
 * Decodes an ODTC checkpoint. Verifies the whole flatbuffer first, then checks every tensor (known data
 * type, valid dims, data length == elements × element size, STRING element count), unique names, and the
 * version (1, 2; newer ones are read with a warning). Any failure is OnnxTrainError('BAD_CHECKPOINT').
 * Tensor data is copied out of `bytes`.
 */
export function decodeOdtc(bytes: Uint8Array, options: DecodeOdtcOptions = {}): CheckpointState {
  const where = options.where;
  // A Node Buffer's slice() is a view, not a copy; work on a plain Uint8Array so copies are copies.
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    verifyOdtc(bytes, where);
    return new OdtcDecoder(bytes, options).decode();
  } catch (e) {
    if (e instanceof OnnxTrainError) throw e;
    // Belt and braces: the verifier should make this unreachable, but no raw exception may escape a reader.
    throw new OnnxTrainError('BAD_CHECKPOINT', `cannot decode ODTC checkpoint: ${(e as Error).message}`, READ_FIX, where);
  }
}

class OdtcDecoder {
  private readonly bb: ByteBuffer;
  private readonly where: string | undefined;

  constructor(
    bytes: Uint8Array,
    private readonly options: DecodeOdtcOptions,
  ) {
    this.bb = new ByteBuffer(bytes);
    this.where = options.where;
  }

  private fail(what: string, fix = READ_FIX): never {
    throw new OnnxTrainError('BAD_CHECKPOINT', what, fix, this.where);
  }

  decode(): CheckpointState {
    const root = FbsCheckpoint.getRoot(this.bb);
    const version = root.version();
    if (version < 1) this.fail(`checkpoint version is ${version}; ODTC versions start at 1`);
    if (version > ODTC_DEFAULT_VERSION) {
      this.options.onWarning?.(
        `ODTC checkpoint version ${version} is newer than the versions this reader knows (1, 2); fields it does not know are ignored`,
      );
    }

    const state: CheckpointState = { format: 'odtc', version, trainable: [], frozen: [], properties: {} };
    const ms = root.moduleState();
    if (ms !== null) {
      const nominal = ms.isNominalState();
      if (nominal) state.nominal = true;
      const names = new Set<string>();
      for (let i = 0; i < ms.requiresGradParamsLength(); i++) {
        state.trainable.push(this.tensor(ms.requiresGradParams(i), `module_state.requires_grad_params[${i}]`, nominal, names));
      }
      for (let i = 0; i < ms.frozenParamsLength(); i++) {
        state.frozen.push(this.tensor(ms.frozenParams(i), `module_state.frozen_params[${i}]`, nominal, names));
      }
    }

    // Present-but-empty (ORT SaveCheckpoint without optimizer state) stays distinguishable from absent
    // (generate_artifacts output), so a round trip reproduces the file's structure.
    if (root.hasOptimizerGroups()) state.optimizer = this.optimizer(root);
    const bag = root.propertyBag();
    if (bag !== null) state.properties = this.properties(bag);
    return state;
  }

  private tensor(t: FbsTensor, ctx: string, allowEmpty: boolean, names: Set<string>): CheckpointTensor {
    const name = t.name();
    if (name === null || name.length === 0) this.fail(`${ctx} has no name`);
    const label = `${ctx} ("${name}")`;
    // Check for duplicates before copying any data (see the payload rule in odtc-verify.ts).
    if (names.has(name)) this.fail(`${label}: tensor name "${name}" appears twice`);
    names.add(name);

    const dataType = t.dataType();
    if (!isKnownDataType(dataType)) this.fail(`${label} has unknown data type ${dataType}`);
    const dims: number[] = [];
    for (let i = 0; i < t.dimsLength(); i++) {
      const d = t.dims(i);
      if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${label} has invalid dim ${d} at axis ${i}`);
      dims.push(Number(d));
    }

    const out: CheckpointTensor = { name, dataType, dims, data: new Uint8Array(0) };
    if (dataType === DataType.STRING) {
      const strings: string[] = [];
      for (let i = 0; i < t.stringDataLength(); i++) strings.push(t.stringData(i));
      out.strings = strings;
    } else {
      const ext = t.externalDataOffset();
      if (ext >= 0n) {
        out.data = this.external(label, name, ext, byteLength(dataType, dims));
      } else if (ext !== -1n) {
        this.fail(`${label} has invalid external_data_offset ${ext}`);
      } else {
        const raw = t.rawDataView();
        if (raw !== null) out.data = new Uint8Array(raw); // a copy: the file buffer is not retained
      }
    }
    const problem = tensorProblem(out, allowEmpty);
    if (problem !== undefined) this.fail(`${label} ${problem}`);
    return out;
  }

  private external(label: string, name: string, offset: bigint, length: number | undefined): Uint8Array {
    if (length === undefined) this.fail(`${label} has invalid dims for external data`);
    const read = this.options.readExternal;
    if (read === undefined) {
      this.fail(
        `${label} keeps its data in an external data file, and none was provided`,
        'read the checkpoint from its file with readCheckpoint (which opens "<checkpoint>.data" next to it), or pass readExternal',
      );
    }
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${label} has external_data_offset ${offset} beyond any file`);
    return read(Number(offset), length, name);
  }

  private optimizer(root: FbsCheckpoint): CheckpointOptimizerState {
    const groups: OptimizerGroup[] = [];
    const groupNames = new Set<string>();
    const g = new FbsOptimizerGroup();
    const ps = new FbsParameterOptimizerState();
    for (let i = 0; i < root.optimizerGroupsLength(); i++) {
      root.optimizerGroups(i, g);
      const ctx = `optimizer_groups[${i}]`;
      const name = g.groupName();
      if (name === null) this.fail(`${ctx} has no group_name`);
      if (groupNames.has(name)) this.fail(`${ctx}: optimizer group "${name}" appears twice`);
      groupNames.add(name);
      const group: OptimizerGroup = { name, step: g.step(), initialLearningRate: g.initialLearningRate(), params: [] };
      const params = new Set<string>();
      for (let j = 0; j < g.optimizerStatesLength(); j++) {
        g.optimizerStates(j, ps);
        const pctx = `${ctx}.optimizer_states[${j}]`;
        const param = ps.paramName();
        if (param === null || param.length === 0) this.fail(`${pctx} has no param_name`);
        if (params.has(param)) this.fail(`${pctx}: parameter "${param}" has two optimizer states in group "${name}"`);
        params.add(param);
        const momentums: CheckpointTensor[] = [];
        const keys = new Set<string>();
        for (let k = 0; k < ps.momentumsLength(); k++) {
          momentums.push(this.tensor(ps.momentums(k), `${pctx} ("${param}").momentums[${k}]`, false, keys));
        }
        group.params.push({ param, momentums });
      }
      groups.push(group);
    }
    return { groups };
  }

  private properties(bag: FbsPropertyBag): Record<string, PropertyValue> {
    const out: Record<string, PropertyValue> = {};
    const p = new FbsProperty();
    const add = (ctx: string, name: string | null, value: PropertyValue): void => {
      if (name === null) this.fail(`${ctx} has no name`);
      if (hasProperty(out, name)) this.fail(`${ctx}: property "${name}" appears twice`);
      setProperty(out, name, value);
    };
    for (let i = 0; i < bag.intsLength(); i++) {
      bag.ints(i, p);
      add(`property_bag.ints[${i}]`, p.name(), p.intValue());
    }
    for (let i = 0; i < bag.floatsLength(); i++) {
      bag.floats(i, p);
      add(`property_bag.floats[${i}]`, p.name(), p.floatValue());
    }
    for (let i = 0; i < bag.stringsLength(); i++) {
      bag.strings(i, p);
      const v = p.stringValue();
      if (v === null) this.fail(`property_bag.strings[${i}] ("${p.name()}") has no value`);
      add(`property_bag.strings[${i}]`, p.name(), v);
    }
    return out;
  }
}

/**
 * Encodes a checkpoint state as ODTC (version 2 by default, or 1). Writes tensors, optimizer groups and
 * properties in the order of `state` (ORT sorts by name when it saves, but maps by name when it loads).
 * Both parameter vectors are always written, even empty, because ORT's loader requires them. Properties are
 * split by JS type: bigint → ints, number → floats (stored as float32), string → strings.
 * Throws OnnxTrainError('BAD_ARGUMENT') for a state that cannot be stored (inconsistent tensor, duplicate
 * names, int64 overflow, nominal/external data with version 1).
 */
export function encodeOdtc(state: CheckpointState, options: EncodeOdtcOptions = {}): EncodedOdtc {
  const version = options.version ?? ODTC_DEFAULT_VERSION;
  const bad = (what: string, fix?: string): never => {
    throw new OnnxTrainError('BAD_ARGUMENT', `cannot write ODTC checkpoint: ${what}`, fix);
  };
  if (!Number.isInteger(version) || version < 1 || version > 0x7fffffff) bad(`invalid version ${version}`);
  if (version === 1 && state.nominal) bad('a nominal state needs ODTC version 2', 'write with version 2');
  const ext = options.externalData;
  const minExternal = ext === undefined || ext === false ? Infinity : ext === true ? ODTC_MIN_EXTERNAL_BYTES : ext.minBytes ?? ODTC_MIN_EXTERNAL_BYTES;
  if (version === 1 && minExternal !== Infinity) bad('external data needs ODTC version 2', 'write with version 2');

  const dup = duplicateParamName(state);
  if (dup !== undefined) bad(`parameter "${dup}" appears twice`);

  const nominal = state.nominal === true;
  const totalBytes = [...state.trainable, ...state.frozen].reduce((n, t) => n + t.data.length, 0);
  const b = new Builder(Math.min(Math.max(1024, totalBytes + 4096), 0x7fffffff));
  const externalChunks: Uint8Array[] = [];
  let externalSize = 0;

  const tensor = (t: CheckpointTensor, ctx: string, allowEmpty: boolean, allowExternal: boolean): number => {
    const problem = tensorProblem(t, allowEmpty);
    if (problem !== undefined) bad(`${ctx} "${t.name}" ${problem}`);
    const name = b.createString(t.name);
    const dims = FbsTensor.createDims(b, t.dims);
    let raw = 0;
    let strings = 0;
    let extOffset = -1n;
    if (t.dataType === DataType.STRING) {
      const offs = (t.strings ?? []).map((s) => b.createString(s));
      strings = createOffsetVector(b, offs);
    } else if (allowExternal && t.data.length >= minExternal) {
      const pad = (8 - (externalSize % 8)) % 8;
      if (pad > 0) externalChunks.push(new Uint8Array(pad));
      extOffset = BigInt(externalSize + pad);
      externalChunks.push(t.data);
      externalSize += pad + t.data.length;
    } else if (t.data.length > 0 || !nominal) {
      raw = FbsTensor.createRawData(b, t.data);
    }
    FbsTensor.start(b);
    FbsTensor.addName(b, name);
    FbsTensor.addDims(b, dims);
    FbsTensor.addDataType(b, t.dataType);
    if (raw !== 0) FbsTensor.addRawData(b, raw);
    if (strings !== 0) FbsTensor.addStringData(b, strings);
    if (extOffset >= 0n) FbsTensor.addExternalDataOffset(b, extOffset);
    return FbsTensor.end(b);
  };

  // Module state. ORT externalises only module parameters, so optimizer momentums always stay inline.
  const trainable = createOffsetVector(b, state.trainable.map((t) => tensor(t, 'trainable tensor', nominal, true)));
  const frozen = createOffsetVector(b, state.frozen.map((t) => tensor(t, 'frozen tensor', nominal, true)));
  FbsModuleState.start(b);
  FbsModuleState.addRequiresGradParams(b, trainable);
  FbsModuleState.addFrozenParams(b, frozen);
  if (version >= 2) {
    FbsModuleState.addIsNominalState(b, nominal);
    FbsModuleState.addHasExternalData(b, externalChunks.length > 0);
  }
  const moduleState = FbsModuleState.end(b);

  // Optimizer groups.
  let groups = 0;
  if (state.optimizer !== undefined) {
    const groupNames = new Set<string>();
    const offs = state.optimizer.groups.map((g) => {
      if (groupNames.has(g.name)) bad(`optimizer group "${g.name}" appears twice`);
      groupNames.add(g.name);
      if (g.step < -(1n << 63n) || g.step >= 1n << 63n) bad(`step ${g.step} of group "${g.name}" does not fit int64`);
      const seen = new Set<string>();
      const states = g.params.map((p) => {
        if (seen.has(p.param)) bad(`parameter "${p.param}" has two optimizer states in group "${g.name}"`);
        seen.add(p.param);
        const keys = new Set<string>();
        const moms = p.momentums.map((m) => {
          if (keys.has(m.name)) bad(`momentum "${m.name}" of "${p.param}" appears twice`);
          keys.add(m.name);
          return tensor(m, `momentum of "${p.param}"`, false, false);
        });
        const momentums = createOffsetVector(b, moms);
        const param = b.createString(p.param);
        FbsParameterOptimizerState.start(b);
        FbsParameterOptimizerState.addParamName(b, param);
        FbsParameterOptimizerState.addMomentums(b, momentums);
        return FbsParameterOptimizerState.end(b);
      });
      const statesVec = createOffsetVector(b, states);
      const name = b.createString(g.name);
      FbsOptimizerGroup.start(b);
      FbsOptimizerGroup.addGroupName(b, name);
      FbsOptimizerGroup.addStep(b, g.step);
      FbsOptimizerGroup.addInitialLearningRate(b, g.initialLearningRate);
      FbsOptimizerGroup.addOptimizerStates(b, statesVec);
      return FbsOptimizerGroup.end(b);
    });
    groups = createOffsetVector(b, offs);
  }

  // Property bag, split by type like ORT's PropertyBag.
  let bag = 0;
  const entries = Object.entries(state.properties);
  if (entries.length > 0) {
    const ints: number[] = [];
    const floats: number[] = [];
    const strings: number[] = [];
    for (const [k, v] of entries) {
      const problem = propertyProblem(k, v);
      if (problem !== undefined) bad(problem);
      const name = b.createString(k);
      if (typeof v === 'string') {
        const value = b.createString(v);
        FbsProperty.start(b);
        FbsProperty.addName(b, name);
        FbsProperty.addStringValue(b, value);
        strings.push(FbsProperty.end(b));
      } else if (typeof v === 'bigint') {
        FbsProperty.start(b);
        FbsProperty.addName(b, name);
        FbsProperty.addIntValue(b, v);
        ints.push(FbsProperty.end(b));
      } else {
        FbsProperty.start(b);
        FbsProperty.addName(b, name);
        FbsProperty.addFloatValue(b, v);
        floats.push(FbsProperty.end(b));
      }
    }
    const iv = createOffsetVector(b, ints);
    const fv = createOffsetVector(b, floats);
    const sv = createOffsetVector(b, strings);
    FbsPropertyBag.start(b);
    FbsPropertyBag.addInts(b, iv);
    FbsPropertyBag.addFloats(b, fv);
    FbsPropertyBag.addStrings(b, sv);
    bag = FbsPropertyBag.end(b);
  }

  FbsCheckpoint.start(b);
  FbsCheckpoint.addVersion(b, version);
  FbsCheckpoint.addModuleState(b, moduleState);
  if (groups !== 0) FbsCheckpoint.addOptimizerGroups(b, groups);
  if (bag !== 0) FbsCheckpoint.addPropertyBag(b, bag);
  FbsCheckpoint.finish(b, FbsCheckpoint.end(b));

  const out: EncodedOdtc = { checkpoint: b.asUint8Array().slice() };
  if (externalChunks.length > 0) {
    const data = new Uint8Array(externalSize);
    let o = 0;
    for (const c of externalChunks) {
      data.set(c, o);
      o += c.length;
    }
    out.externalData = data;
  }
  return out;
}
