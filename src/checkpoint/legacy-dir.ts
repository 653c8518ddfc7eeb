/**
 * ORT's legacy directory checkpoint (ORT ≤ 1.14-era training_api; still shipped in some public repos): a
 * folder of `.pbseq` message-sequence files (see `pbseq.ts`). Pure: maps file names to bytes both ways; the
 * folder I/O is in `io.ts`.
 *
 * File names (orttraining/training_api/checkpoint.cc of that era; `<g>` = group, `<k>` = momentum key):
 *
 * | file                                | content                                                             |
 * | ----------------------------------- | ------------------------------------------------------------------- |
 * | `paramtrain_tensors.pbseq`          | trainable parameters                                                |
 * | `paramfrozen_tensors.pbseq`         | frozen parameters                                                   |
 * | `param_tensors.pbseq`               | all parameters, older layout without the split (read as trainable)  |
 * | `optim_<g>_<k>_tensors.pbseq`       | momentum `<k>` (`momentum0`, `momentum1`) of every param, tensors named by param |
 * | `optim_<g>_properties.pbseq`        | scalars `learning_rate_` (FLOAT) and `step_` (INT64) of group `<g>` |
 * | `custom_properties.pbseq`           | user properties as scalar tensors (INT64, FLOAT, STRING)            |
 */
import { OnnxTrainError } from '../errors.js';
import { DataType, dataTypeName, elementCount } from './dtype.js';
import { decodePbseq, encodePbseq } from './pbseq.js';
import { duplicateParamName, hasProperty, propertyProblem, setProperty } from './tensor-check.js';
import type { CheckpointState, CheckpointTensor, OptimizerGroup, PropertyValue } from './types.js';

/** File holding trainable parameters; its presence marks a legacy checkpoint folder. */
export const LEGACY_TRAINABLE_FILE = 'paramtrain_tensors.pbseq';
export const LEGACY_FROZEN_FILE = 'paramfrozen_tensors.pbseq';
export const LEGACY_ALL_PARAMS_FILE = 'param_tensors.pbseq';
export const LEGACY_PROPERTIES_FILE = 'custom_properties.pbseq';

const OPTIM_TENSORS = /^optim_([A-Za-z0-9.-]+)_([A-Za-z0-9.-][A-Za-z0-9._-]*)_tensors\.pbseq$/;
const OPTIM_PROPERTIES = /^optim_([A-Za-z0-9.-]+)_properties\.pbseq$/;
const SAFE_GROUP = /^[A-Za-z0-9.-]+$/;
const SAFE_KEY = /^[A-Za-z0-9-][A-Za-z0-9._-]*$/;

/** True for file names this module reads. */
export function isLegacyCheckpointFile(name: string): boolean {
  return (
    name === LEGACY_TRAINABLE_FILE ||
    name === LEGACY_FROZEN_FILE ||
    name === LEGACY_ALL_PARAMS_FILE ||
    name === LEGACY_PROPERTIES_FILE ||
    OPTIM_TENSORS.test(name) ||
    OPTIM_PROPERTIES.test(name)
  );
}

/** Reads a scalar property tensor as a JS value (INT64 → bigint, FLOAT/DOUBLE → number, STRING → string). */
function scalarValue(t: CheckpointTensor, where: string): PropertyValue {
  const fail = (what: string): never => {
    throw new OnnxTrainError('BAD_CHECKPOINT', `property "${t.name}" ${what}`, 'properties must be scalar INT64, FLOAT or STRING tensors', where);
  };
  if (elementCount(t.dims) !== 1) fail(`has shape [${t.dims.join(',')}], expected a single element`);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  switch (t.dataType) {
    case DataType.INT64:
      return dv.getBigInt64(0, true);
    case DataType.FLOAT:
      return dv.getFloat32(0, true);
    case DataType.DOUBLE:
      return dv.getFloat64(0, true);
    case DataType.STRING:
      return t.strings![0]!;
    default:
      return fail(`has type ${dataTypeName(t.dataType)}`);
  }
}

function scalarTensor(name: string, value: PropertyValue): CheckpointTensor {
  if (typeof value === 'string') return { name, dataType: DataType.STRING, dims: [], data: new Uint8Array(0), strings: [value] };
  const data = new Uint8Array(8);
  const dv = new DataView(data.buffer);
  if (typeof value === 'bigint') {
    dv.setBigInt64(0, value, true);
    return { name, dataType: DataType.INT64, dims: [], data };
  }
  dv.setFloat32(0, value, true);
  return { name, dataType: DataType.FLOAT, dims: [], data: data.slice(0, 4) };
}

/**
 * Decodes a legacy checkpoint folder given as `file name → bytes` (only the names in the table above are
 * read; others are ignored). `where` is the folder path for messages. Groups come out sorted by name,
 * momentum keys sorted, parameters in the order of the first momentum file.
 */
export function decodeLegacyDir(files: ReadonlyMap<string, Uint8Array>, where: string): CheckpointState {
  const at = (name: string): string => `${where}/${name}`;
  const state: CheckpointState = { format: 'pbseq', trainable: [], frozen: [], properties: {} };
  const has = (name: string): boolean => files.has(name);
  if (!has(LEGACY_TRAINABLE_FILE) && !has(LEGACY_ALL_PARAMS_FILE) && !has(LEGACY_FROZEN_FILE)) {
    throw new OnnxTrainError(
      'BAD_CHECKPOINT',
      `folder holds no ${LEGACY_TRAINABLE_FILE} / ${LEGACY_ALL_PARAMS_FILE}: not a legacy ORT checkpoint`,
      'point at the folder that contains the .pbseq files, or at an ODTC/safetensors file',
      where,
    );
  }
  if (has(LEGACY_TRAINABLE_FILE)) state.trainable.push(...decodePbseq(files.get(LEGACY_TRAINABLE_FILE)!, at(LEGACY_TRAINABLE_FILE)));
  if (has(LEGACY_ALL_PARAMS_FILE)) state.trainable.push(...decodePbseq(files.get(LEGACY_ALL_PARAMS_FILE)!, at(LEGACY_ALL_PARAMS_FILE)));
  if (has(LEGACY_FROZEN_FILE)) state.frozen.push(...decodePbseq(files.get(LEGACY_FROZEN_FILE)!, at(LEGACY_FROZEN_FILE)));
  const dup = duplicateParamName(state);
  if (dup !== undefined) {
    throw new OnnxTrainError('BAD_CHECKPOINT', `parameter "${dup}" appears twice`, 'the legacy checkpoint is inconsistent; re-create it', where);
  }

  // Optimizer: group -> param -> key -> tensor.
  const groups = new Map<string, { step: bigint; lr: number; params: Map<string, CheckpointTensor[]> }>();
  const group = (g: string) => {
    let e = groups.get(g);
    if (e === undefined) {
      e = { step: 0n, lr: 0, params: new Map() };
      groups.set(g, e);
    }
    return e;
  };
  const names = [...files.keys()].sort();
  for (const file of names) {
    const m = OPTIM_TENSORS.exec(file);
    if (m === null) continue;
    const [, g, key] = m as unknown as [string, string, string];
    const e = group(g);
    for (const t of decodePbseq(files.get(file)!, at(file))) {
      let moms = e.params.get(t.name);
      if (moms === undefined) {
        moms = [];
        e.params.set(t.name, moms);
      }
      moms.push({ ...t, name: key });
    }
  }
  for (const file of names) {
    const m = OPTIM_PROPERTIES.exec(file);
    if (m === null) continue;
    const e = group(m[1]!);
    for (const t of decodePbseq(files.get(file)!, at(file))) {
      const v = scalarValue(t, at(file));
      if (t.name === 'learning_rate_' && typeof v === 'number') e.lr = v;
      else if (t.name === 'step_' && typeof v === 'bigint') e.step = v;
    }
  }
  if (groups.size > 0) {
    const out: OptimizerGroup[] = [];
    for (const [name, e] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      out.push({
        name,
        step: e.step,
        initialLearningRate: e.lr,
        params: [...e.params].map(([param, momentums]) => ({ param, momentums })),
      });
    }
    state.optimizer = { groups: out };
  }

  if (has(LEGACY_PROPERTIES_FILE)) {
    for (const t of decodePbseq(files.get(LEGACY_PROPERTIES_FILE)!, at(LEGACY_PROPERTIES_FILE))) {
      if (hasProperty(state.properties, t.name)) {
        throw new OnnxTrainError('BAD_CHECKPOINT', `property "${t.name}" appears twice`, undefined, at(LEGACY_PROPERTIES_FILE));
      }
      setProperty(state.properties, t.name, scalarValue(t, at(LEGACY_PROPERTIES_FILE)));
    }
  }
  return state;
}

/**
 * Encodes a state as legacy checkpoint files (`file name → bytes`). Always writes
 * `paramtrain_tensors.pbseq` (the folder's marker), the others only when there is something to store.
 * Properties keep their type (number → FLOAT, i.e. float32). Throws OnnxTrainError('BAD_ARGUMENT') for
 * nominal states and group/momentum names that would not survive ORT's `_`-split file naming.
 */
export function encodeLegacyDir(state: CheckpointState): Map<string, Uint8Array> {
  const bad = (what: string, fix?: string): never => {
    throw new OnnxTrainError('BAD_ARGUMENT', `cannot write legacy checkpoint: ${what}`, fix);
  };
  if (state.nominal) bad('a nominal checkpoint has no tensor data', 'write ODTC instead');
  const dup = duplicateParamName(state);
  if (dup !== undefined) bad(`parameter "${dup}" appears twice`);

  const files = new Map<string, Uint8Array>();
  files.set(LEGACY_TRAINABLE_FILE, encodePbseq(state.trainable));
  if (state.frozen.length > 0) files.set(LEGACY_FROZEN_FILE, encodePbseq(state.frozen));

  const groupNames = new Set<string>();
  for (const g of state.optimizer?.groups ?? []) {
    if (!SAFE_GROUP.test(g.name)) bad(`optimizer group name "${g.name}" must match ${SAFE_GROUP} (file names split on "_")`);
    if (groupNames.has(g.name)) bad(`optimizer group "${g.name}" appears twice`);
    groupNames.add(g.name);
    const byKey = new Map<string, CheckpointTensor[]>();
    const params = new Set<string>();
    for (const p of g.params) {
      if (params.has(p.param)) bad(`parameter "${p.param}" has two optimizer states in group "${g.name}"`);
      params.add(p.param);
      const keys = new Set<string>();
      for (const m of p.momentums) {
        if (!SAFE_KEY.test(m.name)) bad(`momentum key "${m.name}" must match ${SAFE_KEY}`);
        if (keys.has(m.name)) bad(`momentum "${m.name}" of "${p.param}" appears twice`);
        keys.add(m.name);
        let list = byKey.get(m.name);
        if (list === undefined) {
          list = [];
          byKey.set(m.name, list);
        }
        list.push({ ...m, name: p.param });
      }
    }
    for (const [key, tensors] of byKey) files.set(`optim_${g.name}_${key}_tensors.pbseq`, encodePbseq(tensors));
    if (g.step < -(1n << 63n) || g.step >= 1n << 63n) bad(`step ${g.step} of group "${g.name}" does not fit int64`);
    files.set(
      `optim_${g.name}_properties.pbseq`,
      encodePbseq([scalarTensor('learning_rate_', g.initialLearningRate), scalarTensor('step_', g.step)], 'typed'),
    );
  }

  const props = Object.entries(state.properties);
  if (props.length > 0) {
    files.set(
      LEGACY_PROPERTIES_FILE,
      encodePbseq(
        props.map(([k, v]) => {
          const problem = propertyProblem(k, v);
          if (problem !== undefined) bad(problem);
          return scalarTensor(k, v);
        }),
        'typed',
      ),
    );
  }
  return files;
}
