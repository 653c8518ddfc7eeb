/**
 * Training state as an explicit value: step (bigint), learning rate, parameters, optimizer state and gradient
 * accumulation buffers, all keyed by name. Converts to and from the checkpoint model (src/checkpoint) so that
 * save -> load -> continue is exact.
 *
 * Optimizer state names in checkpoints: ORT's ODTC stores per-parameter "momentums" keyed `momentum0`,
 * `momentum1`. We map the Adam family's upstream slots onto them (exp_avg -> momentum0, exp_avg_sq -> momentum1,
 * TF's m/v likewise) so ORT tooling can read our checkpoints; every other slot (max_exp_avg_sq, exp_avg_sq_row,
 * exp_avg_sq_col, vhat, …) is stored under its upstream name.
 */
import { OnnxTrainError } from '../errors.js';
import { dtypeInfo, dtypeFromOrt } from '../onnx/dtypes.js';
import type { CheckpointState, CheckpointTensor, PropertyValue } from '../checkpoint/types.js';
import type { HostTensor, TensorArray, TensorType } from './engine.js';
import type { Manifest } from '../transforms/manifest.js';

export interface TrainingState {
  /** Completed optimizer updates. */
  step: bigint;
  /** Current learning rate (what the next update uses, unless the schedule is in-graph). */
  lr: number;
  /** Base learning rate (initial lr) as ORT's checkpoint stores it. */
  initialLr: number;
  /** All parameters (trainable and frozen) by name. */
  params: Map<string, HostTensor>;
  /** Optimizer state by `<param>.<slot>` input name of the optimizer graph. */
  optimizer: Map<string, HostTensor>;
  /** Gradient accumulation buffers by parameter name. */
  grads: Map<string, HostTensor>;
  /** Free-form properties (ODTC property bag). */
  properties: Record<string, PropertyValue>;
}

const SLOT_TO_MOMENTUM: Record<string, string> = { exp_avg: 'momentum0', exp_avg_sq: 'momentum1', m: 'momentum0', v: 'momentum1' };
const MOMENTUM_TO_SLOT = (slot: string, available: Set<string>): string | undefined => {
  for (const [s, m] of Object.entries(SLOT_TO_MOMENTUM)) if (m === slot && available.has(s)) return s;
  return available.has(slot) ? slot : undefined;
};

export function arrayFor(type: TensorType, n: number): TensorArray {
  switch (type) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'float16': return new Uint16Array(n);
    case 'int32': return new Int32Array(n);
    case 'int64': return new BigInt64Array(n);
    case 'int8': return new Int8Array(n);
    case 'uint8': case 'bool': return new Uint8Array(n);
  }
}

function tensorFromCheckpoint(t: CheckpointTensor, where: string): HostTensor {
  const info = dtypeInfo(t.dataType);
  const type = info?.ort as TensorType | undefined;
  if (!type || !['float32', 'float64', 'float16', 'int32', 'int64', 'int8', 'uint8', 'bool'].includes(type)) {
    throw new OnnxTrainError('BAD_CHECKPOINT', `tensor "${t.name}" has data type ${info?.name ?? t.dataType}, which the runtime cannot train`, 'convert the parameter to float32', where);
  }
  const n = t.dims.reduce((a, d) => a * d, 1);
  const data = arrayFor(type, n);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (t.data.length !== bytes.length) {
    throw new OnnxTrainError('BAD_CHECKPOINT', `tensor "${t.name}" has ${t.data.length} bytes, its shape [${t.dims}] needs ${bytes.length}`, 'the checkpoint is corrupt', where);
  }
  bytes.set(t.data);
  return { type, dims: [...t.dims], data };
}

function tensorToCheckpoint(name: string, t: HostTensor): CheckpointTensor {
  const dataType = dtypeFromOrt(t.type);
  if (dataType === undefined) throw new OnnxTrainError('BAD_ARGUMENT', `cannot store tensor "${name}" of type ${t.type}`);
  const d = t.data;
  return { name, dataType, dims: [...t.dims], data: new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice() };
}

/**
 * Builds the initial state for an augmented folder from its checkpoint: every manifest parameter must be present
 * with the declared shape and type — all mismatches are reported together and nothing is half-loaded.
 */
export function stateFromCheckpoint(manifest: Manifest, ckpt: CheckpointState, where = 'checkpoint'): TrainingState {
  const byName = new Map<string, CheckpointTensor>();
  for (const t of [...ckpt.trainable, ...ckpt.frozen]) byName.set(t.name, t);
  const problems: string[] = [];
  const params = new Map<string, HostTensor>();
  for (const p of manifest.parameters) {
    const t = byName.get(p.name);
    if (!t) { problems.push(`missing parameter "${p.name}" [${p.shape}]`); continue; }
    if (t.dims.length !== p.shape.length || t.dims.some((d, i) => typeof p.shape[i] === 'number' && d !== p.shape[i])) {
      problems.push(`parameter "${p.name}": checkpoint shape [${t.dims}] but the model expects [${p.shape}]`);
      continue;
    }
    if (dtypeInfo(t.dataType)?.ort !== p.dtype) { problems.push(`parameter "${p.name}": checkpoint type ${dtypeInfo(t.dataType)?.name} but the model expects ${p.dtype}`); continue; }
    params.set(p.name, tensorFromCheckpoint(t, where));
  }
  const known = new Set(manifest.parameters.map((p) => p.name));
  for (const name of byName.keys()) if (!known.has(name)) problems.push(`checkpoint has "${name}", which the model does not use`);

  const optimizer = new Map<string, HostTensor>();
  const group = ckpt.optimizer?.groups[0];
  const slotsByParam = new Map<string, Set<string>>();
  for (const s of manifest.optimizer.state) {
    let set = slotsByParam.get(s.param);
    if (!set) slotsByParam.set(s.param, (set = new Set()));
    set.add(s.slot);
  }
  const loaded = new Set<string>();
  if (group) {
    for (const ps of group.params) {
      const slots = slotsByParam.get(ps.param);
      for (const m of ps.momentums) {
        const slot = slots ? MOMENTUM_TO_SLOT(m.name, slots) : undefined;
        const decl = manifest.optimizer.state.find((s) => s.param === ps.param && s.slot === slot);
        if (!decl) { problems.push(`optimizer state "${ps.param}" / "${m.name}" does not belong to this optimizer (${String(manifest.optimizer.spec.type)})`); continue; }
        if (m.dims.length !== decl.shape.length || m.dims.some((d, i) => d !== decl.shape[i])) {
          problems.push(`optimizer state "${decl.input}": checkpoint shape [${m.dims}] but expected [${decl.shape}]`);
          continue;
        }
        optimizer.set(decl.input, tensorFromCheckpoint(m, where));
        loaded.add(decl.input);
      }
    }
  }
  if (problems.length) {
    throw new OnnxTrainError('SHAPE_MISMATCH', `the checkpoint does not match the model (${problems.length} problem(s)):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      'use the checkpoint written for these artifacts (or re-run "onnx-train augment" from the original artifacts)', where);
  }
  for (const s of manifest.optimizer.state) {
    if (loaded.has(s.input)) continue;
    const n = s.shape.reduce((a, d) => a * d, 1);
    const data = arrayFor(s.dtype, n);
    if (s.init !== 0) (data as Float32Array).fill(s.init);
    optimizer.set(s.input, { type: s.dtype, dims: [...s.shape], data });
  }
  const grads = new Map<string, HostTensor>();
  for (const g of manifest.training.grads) {
    const p = params.get(g.param)!;
    grads.set(g.param, { type: p.type, dims: p.dims, data: arrayFor(p.type, p.data.length) });
  }
  const lrProp = ckpt.properties['onnx_train.lr'];
  const initialLr = group?.initialLearningRate ?? manifest.optimizer.lr;
  return {
    step: group?.step ?? 0n,
    lr: typeof lrProp === 'number' ? lrProp : initialLr,
    initialLr,
    params,
    optimizer,
    grads,
    properties: { ...ckpt.properties },
  };
}

/** The checkpoint model of a state (ODTC-compatible naming; see the module doc). */
export function stateToCheckpoint(manifest: Manifest, s: TrainingState, includeOptimizer = true): CheckpointState {
  const trainable: CheckpointTensor[] = [];
  const frozen: CheckpointTensor[] = [];
  for (const p of manifest.parameters) (p.trainable ? trainable : frozen).push(tensorToCheckpoint(p.name, s.params.get(p.name)!));
  const params = manifest.optimizer.params.map((p) => ({
    param: p.name,
    momentums: manifest.optimizer.state.filter((st) => st.param === p.name)
      .map((st) => tensorToCheckpoint(SLOT_TO_MOMENTUM[st.slot] ?? st.slot, s.optimizer.get(st.input)!)),
  }));
  return {
    format: 'odtc',
    trainable,
    frozen,
    optimizer: includeOptimizer ? { groups: [{ name: 'group0', step: s.step, initialLearningRate: s.initialLr, params }] } : undefined,
    properties: { ...s.properties, 'onnx_train.lr': s.lr },
  };
}
