/**
 * What is in an ONNX model, as plain JSON-ready data: header, I/O with symbolic shapes, parameters, an op histogram
 * and the ops that a stock ONNX Runtime cannot run (the ones `lower` must rewrite). Reads only; never runs a model.
 */
import { OnnxTrainError } from '../errors.js';
import { dtypeInfo, dtypeName } from '../onnx/dtypes.js';
import { toNumber } from '../onnx/int64.js';
import { readModel } from '../onnx/io.js';
import type { DimensionProto, GraphProto, ModelProto, NodeProto, TypeProto, ValueInfoProto } from '../onnx/types.js';
import { whyNotStandard } from './onnx-ops.js';

/** A dimension: a number, a symbolic name, or null when the model leaves it unknown. */
export type Dim = number | string | null;

export interface ValueReport {
  readonly name: string;
  /** `float32`, `int64`, `bool`, … for tensors; `seq(float32)`, `optional(…)`, `map(…)` otherwise; `?` when untyped. */
  readonly type: string;
  /** Dims, or null when the model declares no shape (unknown rank). */
  readonly shape: readonly Dim[] | null;
}

/** The role a training/eval graph input plays (ORT on-device-training artifact layout). */
export type InputRole = 'input' | 'parameter' | 'trainable' | 'frozen' | 'grad_buffer' | 'lazy_reset_grad';

export interface InputReport extends ValueReport {
  readonly role: InputRole;
}

export interface TensorCount {
  readonly count: number;
  /** Total elements (exact below 2^53). */
  readonly elements: number;
}

export interface ParameterReport {
  /** Every parameter fed as a graph input. */
  readonly total: TensorCount;
  /** Parameters that receive gradients; absent when the model alone cannot tell (an eval model without its set). */
  readonly trainable?: TensorCount & { readonly names: readonly string[] };
  readonly frozen?: TensorCount & { readonly names: readonly string[] };
  /**
   * How parameters were told apart from user inputs: `checkpoint` (names listed in the set's checkpoint),
   * `training model` (the set's training model: trainable = has a gradient buffer), or `shapes` (graph inputs
   * whose dims are all static and float; in a training model trainable = has a `<name>_grad.accumulation.buffer`).
   */
  readonly source: ParameterSource;
}

export type ParameterSource = 'checkpoint' | 'training model' | 'shapes';

export interface OpCount {
  /** `ai.onnx` for the default domain. */
  readonly domain: string;
  readonly op: string;
  readonly count: number;
}

export interface NonStandardOp extends OpCount {
  /** Why a stock ONNX Runtime cannot run it. */
  readonly reason: string;
  /** Node names (or `#index` for unnamed nodes), in graph order, subgraph nodes as `parent/child`. */
  readonly nodes: readonly string[];
}

/**
 * What the model is: judged from its shape for a lone file (ORT training artifacts have telltale inputs and ops),
 * from its file name in an artifact folder. `train_step` is the fused step of a folder `onnx-train augment` wrote.
 */
export type ModelKind = 'training' | 'eval' | 'optimizer' | 'train_step' | 'model';

export interface ModelReport {
  readonly file: string;
  readonly kind: ModelKind;
  readonly irVersion: number;
  readonly producer: { readonly name: string; readonly version: string };
  readonly opsets: readonly { readonly domain: string; readonly version: number }[];
  readonly inputs: readonly InputReport[];
  readonly outputs: readonly ValueReport[];
  readonly initializers: TensorCount;
  /** Parameters fed as graph inputs (training/eval artifacts); absent for plain models. */
  readonly parameters?: ParameterReport;
  /** Nodes, subgraphs included. */
  readonly nodes: number;
  /** Op histogram, sorted by domain then op. */
  readonly ops: readonly OpCount[];
  /** Ops a stock ONNX Runtime cannot run, sorted by domain then op. Empty when the model is portable. */
  readonly nonStandard: readonly NonStandardOp[];
  /** Model-local functions (their bodies are counted in `ops` where called). */
  readonly functions: readonly string[];
}

/** Which parameters are trainable, when known from outside the model (an artifact set's checkpoint or training model). */
export interface ParameterSplit {
  readonly trainable: readonly string[];
  readonly frozen: readonly string[];
  readonly source: Exclude<ParameterSource, 'shapes'>;
}

export interface InspectModelOptions {
  /** Classifies parameter inputs by these names instead of by shapes. */
  readonly split?: ParameterSplit;
  /** The model's role when known (e.g. from its file name in an artifact set) instead of guessing it. */
  readonly kind?: ModelKind;
}

const GRAD_BUFFER_SUFFIX = '_grad.accumulation.buffer';
const LAZY_RESET = 'lazy_reset_grad';
const DEFAULT_DOMAIN_LABEL = 'ai.onnx';

/** Reads and inspects one .onnx file (external data is not loaded: only shapes are needed). */
export function inspectModelFile(file: string, opts: InspectModelOptions = {}): ModelReport {
  const model = readModel(file, { loadExternal: false });
  if (!model.graph) {
    // Short byte strings can be valid protobuf; an ONNX model always has a graph.
    throw new OnnxTrainError('BAD_MODEL', 'not an ONNX model: it decodes, but has no graph', 'check that the file is a .onnx model', file);
  }
  return inspectModel(model, file, opts);
}

/** Inspects a decoded model; `file` is recorded in the report. */
export function inspectModel(model: ModelProto, file: string, opts: InspectModelOptions = {}): ModelReport {
  const graph: GraphProto = model.graph ?? {};
  const opsets = (model.opset_import ?? []).map((o) => ({ domain: domainLabel(o.domain ?? ''), version: toNumber(o.version) }));
  const onnxOpset = opsets.find((o) => o.domain === DEFAULT_DOMAIN_LABEL)?.version;

  const { histogram, nonStandard, nodes } = analyseOps(model, onnxOpset);
  const kind = opts.kind ?? modelKind(graph, histogram);
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const roles = inputRoles(graph, initNames, kind, opts);
  const inputs: InputReport[] = (graph.input ?? []).map((vi) => ({ ...valueReport(vi), role: roles.get(vi.name ?? '') ?? 'input' }));

  const report: ModelReport = {
    file,
    kind,
    irVersion: toNumber(model.ir_version),
    producer: { name: model.producer_name ?? '', version: model.producer_version ?? '' },
    opsets,
    inputs,
    outputs: (graph.output ?? []).map(valueReport),
    initializers: {
      count: graph.initializer?.length ?? 0,
      elements: (graph.initializer ?? []).reduce((a, t) => a + (t.dims ?? []).reduce<number>((p, d) => p * toNumber(d), 1), 0),
    },
    nodes,
    ops: histogram,
    nonStandard,
    functions: (model.functions ?? []).map((f) => `${domainLabel(f.domain ?? '')}::${f.name ?? ''}`),
  };
  if (kind === 'training' || kind === 'eval' || kind === 'train_step') {
    return { ...report, parameters: parameterReport(inputs, opts.split?.source ?? 'shapes') };
  }
  return report;
}

function domainLabel(d: string): string {
  return d === '' ? DEFAULT_DOMAIN_LABEL : d;
}

function modelKind(graph: GraphProto, ops: readonly OpCount[]): ModelKind {
  const inputs = (graph.input ?? []).map((i) => i.name ?? '');
  if (inputs.some((n) => n.endsWith(GRAD_BUFFER_SUFFIX)) || inputs.includes(LAZY_RESET)) return 'training';
  const optimizerOps = new Set(['AdamWOptimizer', 'SGDOptimizerV2', 'AdamOptimizer', 'SGDOptimizer', 'LambOptimizer']);
  if (ops.length > 0 && ops.every((o) => o.domain === 'com.microsoft' && optimizerOps.has(o.op))) return 'optimizer';
  // An eval model of an artifact set takes its parameters as inputs: static-shaped float inputs with no initializer.
  const params = (graph.input ?? []).filter((vi) => isParameterShaped(vi) && !(graph.initializer ?? []).some((t) => t.name === vi.name));
  return params.length > 0 && params.length < (graph.input ?? []).length ? 'eval' : 'model';
}

function isParameterShaped(vi: ValueInfoProto): boolean {
  const t = vi.type?.tensor_type;
  if (!t || !t.shape) return false;
  const floaty = t.elem_type === 1 || t.elem_type === 10 || t.elem_type === 11 || t.elem_type === 16;
  return floaty && (t.shape.dim ?? []).every((d) => typeof dimOf(d) === 'number');
}

function inputRoles(graph: GraphProto, initNames: Set<string>, kind: ModelKind, opts: InspectModelOptions): Map<string, InputRole> {
  const roles = new Map<string, InputRole>();
  if (kind !== 'training' && kind !== 'eval' && kind !== 'train_step') return roles;
  const names = (graph.input ?? []).map((i) => i.name ?? '');
  const buffered = new Set(names.filter((n) => n.endsWith(GRAD_BUFFER_SUFFIX)).map((n) => n.slice(0, -GRAD_BUFFER_SUFFIX.length)));
  const split = opts.split;
  const trainable = new Set(split?.trainable ?? []);
  const frozen = new Set(split?.frozen ?? []);
  for (const vi of graph.input ?? []) {
    const n = vi.name ?? '';
    if (initNames.has(n)) continue; // an input with an initializer is an overridable default, not a parameter feed
    if (n.endsWith(GRAD_BUFFER_SUFFIX)) roles.set(n, 'grad_buffer');
    else if (n === LAZY_RESET) roles.set(n, 'lazy_reset_grad');
    else if (split) {
      if (trainable.has(n)) roles.set(n, 'trainable');
      else if (frozen.has(n)) roles.set(n, 'frozen');
    } else if (buffered.has(n)) roles.set(n, 'trainable');
    else if (isParameterShaped(vi)) roles.set(n, kind === 'training' ? 'frozen' : 'parameter');
  }
  return roles;
}

function parameterReport(inputs: readonly InputReport[], source: ParameterSource): ParameterReport {
  const pick = (sel: readonly InputReport[]) => ({
    count: sel.length,
    elements: sel.reduce((a, i) => a + (i.shape ?? []).reduce<number>((p, d) => p * (typeof d === 'number' ? d : 0), 1), 0),
    names: sel.map((i) => i.name),
  });
  const params = inputs.filter((i) => i.role === 'trainable' || i.role === 'frozen' || i.role === 'parameter');
  const { count, elements } = pick(params);
  if (params.some((i) => i.role === 'parameter')) return { total: { count, elements }, source };
  return {
    total: { count, elements },
    trainable: pick(params.filter((i) => i.role === 'trainable')),
    frozen: pick(params.filter((i) => i.role === 'frozen')),
    source,
  };
}

/** A value's type and shape as text-friendly data. */
export function valueReport(vi: ValueInfoProto): ValueReport {
  return { name: vi.name ?? '', type: typeText(vi.type), shape: shapeOf(vi.type) };
}

function elemName(elem: number | undefined): string {
  if (elem === undefined || elem === 0) return '?';
  const info = dtypeInfo(elem);
  return info?.ort ?? dtypeName(elem).toLowerCase();
}

function typeText(t: TypeProto | undefined): string {
  if (!t) return '?';
  if (t.tensor_type) return elemName(t.tensor_type.elem_type);
  if (t.sequence_type) return `seq(${typeText(t.sequence_type.elem_type)})`;
  if (t.optional_type) return `optional(${typeText(t.optional_type.elem_type)})`;
  if (t.map_type) return `map(${elemName(t.map_type.key_type)},${typeText(t.map_type.value_type)})`;
  if (t.sparse_tensor_type) return `sparse(${elemName(t.sparse_tensor_type.elem_type)})`;
  if (t.opaque_type) return `opaque(${t.opaque_type.domain ?? ''}.${t.opaque_type.name ?? ''})`;
  return '?';
}

function shapeOf(t: TypeProto | undefined): Dim[] | null {
  const shape = t?.tensor_type?.shape ?? t?.sparse_tensor_type?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map(dimOf);
}

/**
 * A dimension's value. protobufjs puts field defaults on the prototype (dim_value 0, dim_param ''), so which
 * member of the oneof is set shows only as an own property.
 */
function dimOf(d: DimensionProto): Dim {
  if (Object.hasOwn(d, 'dim_param') && d.dim_param) return d.dim_param;
  if (Object.hasOwn(d, 'dim_value')) return toNumber(d.dim_value);
  return null;
}

interface OpTally {
  count: number;
  nodes: string[];
}

/** Counts every node (subgraphs and called local functions included) and collects the non-standard ones. */
function analyseOps(model: ModelProto, onnxOpset: number | undefined) {
  const tally = new Map<string, OpTally>();
  const functions = new Map((model.functions ?? []).map((f) => [`${f.domain ?? ''}::${f.name ?? ''}`, f]));
  const imported = new Set((model.opset_import ?? []).map((o) => o.domain ?? ''));
  let nodes = 0;
  const expanded = new Set<string>();

  const visit = (list: readonly NodeProto[] | undefined, prefix: string) => {
    (list ?? []).forEach((n, i) => {
      nodes++;
      const domain = n.domain ?? '';
      const op = n.op_type ?? '';
      const key = `${domain}::${op}`;
      const label = `${prefix}${n.name ? n.name : `#${i}`}`;
      let t = tally.get(key);
      if (!t) tally.set(key, (t = { count: 0, nodes: [] }));
      t.count++;
      t.nodes.push(label);
      for (const a of n.attribute ?? []) {
        if (a.g) visit(a.g.node, `${label}/`);
        for (const g of a.graphs ?? []) visit(g.node, `${label}/`);
      }
      const fn = functions.get(key);
      if (fn && !expanded.has(key)) {
        // A local function's body is what runs (ORT inlines it): count and check it once.
        expanded.add(key);
        visit(fn.node, `${domainLabel(domain)}::${op}/`);
      }
    });
  };
  visit(model.graph?.node, '');

  const histogram: OpCount[] = [];
  const nonStandard: NonStandardOp[] = [];
  for (const [key, t] of tally) {
    const sep = key.indexOf('::');
    const rawDomain = key.slice(0, sep);
    const op = key.slice(sep + 2);
    const domain = domainLabel(rawDomain);
    histogram.push({ domain, op, count: t.count });
    if (functions.has(key)) continue;
    let reason = whyNotStandard(rawDomain, op, onnxOpset);
    if (reason === undefined && rawDomain !== '' && rawDomain !== 'ai.onnx' && !imported.has(rawDomain)) {
      reason = `domain "${rawDomain}" is not imported by the model`;
    }
    if (reason !== undefined) nonStandard.push({ domain, op, count: t.count, reason, nodes: t.nodes });
  }
  const order = (a: OpCount, b: OpCount) => domainOrder(a.domain) - domainOrder(b.domain) || cmp(a.domain, b.domain) || cmp(a.op, b.op);
  histogram.sort(order);
  nonStandard.sort(order);
  return { histogram, nonStandard, nodes };
}

/** ai.onnx first, then ai.onnx.ml, then the rest alphabetically. */
function domainOrder(d: string): number {
  return d === DEFAULT_DOMAIN_LABEL ? 0 : d === 'ai.onnx.ml' ? 1 : 2;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
