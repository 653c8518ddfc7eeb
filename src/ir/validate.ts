/**
 * Checks a model for what ONNX Runtime would reject at load time, reporting every problem at once:
 * values used but never defined, a value defined twice, duplicate node names, cycles, domains used without an
 * opset import, attributes whose type tag disagrees with the field that is set, graph outputs never produced.
 */
import { OnnxTrainError } from '../errors.js';
import { AttributeType, type AttributeProto } from '../onnx/types.js';
import { Graph, Model } from './graph.js';

export interface ValidationIssue {
  readonly where: string;
  readonly message: string;
}

const FIELD_FOR_TYPE: Record<number, keyof AttributeProto> = {
  [AttributeType.FLOAT]: 'f', [AttributeType.INT]: 'i', [AttributeType.STRING]: 's', [AttributeType.TENSOR]: 't',
  [AttributeType.GRAPH]: 'g', [AttributeType.SPARSE_TENSOR]: 'sparse_tensor', [AttributeType.TYPE_PROTO]: 'tp',
  [AttributeType.FLOATS]: 'floats', [AttributeType.INTS]: 'ints', [AttributeType.STRINGS]: 'strings',
  [AttributeType.TENSORS]: 'tensors', [AttributeType.GRAPHS]: 'graphs', [AttributeType.SPARSE_TENSORS]: 'sparse_tensors',
  [AttributeType.TYPE_PROTOS]: 'type_protos',
};
const SCALAR_FIELDS: (keyof AttributeProto)[] = ['f', 'i', 's', 't', 'g', 'sparse_tensor', 'tp'];
const LIST_FIELDS: (keyof AttributeProto)[] = ['floats', 'ints', 'strings', 'tensors', 'graphs', 'sparse_tensors', 'type_protos'];

/** Returns all issues (empty when the model is valid). */
export function validateModel(model: Model): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const domains = new Set(model.opsets.keys());
  if (!domains.has('') && !domains.has('ai.onnx')) issues.push({ where: 'model', message: 'no opset import for the default ONNX domain' });
  validateGraph(model.graph, new Set(), issues, domains, model.graph.name || 'main graph');
  return issues;
}

/** Throws one INVALID_GRAPH error listing every issue. */
export function assertValid(model: Model, where?: string): void {
  const issues = validateModel(model);
  if (issues.length) {
    const list = issues.slice(0, 50).map((i) => `  - ${i.where}: ${i.message}`).join('\n');
    throw new OnnxTrainError('INVALID_GRAPH', `the model has ${issues.length} problem(s) ONNX Runtime would reject:\n${list}${issues.length > 50 ? '\n  - …' : ''}`,
      'this is a bug in the transform that produced the model; please report it with the model', where);
  }
}

function validateGraph(g: Graph, outerNames: Set<string>, issues: ValidationIssue[], domains: Set<string>, label: string): void {
  const defined = new Set<string>(outerNames);
  const definedHere = new Map<string, string>();
  const define = (name: string, by: string) => {
    if (!name) return;
    const prev = definedHere.get(name);
    if (prev) issues.push({ where: `${label}`, message: `value "${name}" is defined twice (${prev} and ${by})` });
    definedHere.set(name, by);
    defined.add(name);
  };
  for (const i of g.inputs) define(i.name ?? '', 'graph input');
  for (const k of g.initializers.keys()) {
    if (!g.isGraphInput(k)) define(k, 'initializer');
  }
  const nodeNames = new Set<string>();
  // Walk in file order; a use before its definition is either a cycle or a mis-ordered graph.
  const producedLater = new Set<string>();
  for (const n of g.nodes) n.outputs.forEach((o) => o && producedLater.add(o));
  for (const n of g.nodes) {
    const where = `${label} › node "${n.name || '(unnamed)'}" (${n.qualifiedOp})`;
    if (n.name) {
      if (nodeNames.has(n.name)) issues.push({ where, message: 'duplicate node name' });
      nodeNames.add(n.name);
    }
    if (!n.opType) issues.push({ where, message: 'node has no op_type' });
    const dom = n.domain === 'ai.onnx' ? '' : n.domain;
    if (!domains.has(dom) && !(dom === '' && domains.has('ai.onnx'))) {
      issues.push({ where, message: `domain "${n.domain}" has no opset import` });
    }
    n.inputs.forEach((inp, idx) => {
      if (!inp || defined.has(inp)) return;
      issues.push({ where, message: producedLater.has(inp) ? `input ${idx} "${inp}" is used before the node that produces it (cycle or wrong order)` : `input ${idx} "${inp}" is not defined (no graph input, initializer or node output has this name)` });
    });
    for (const a of n.attributes) checkAttribute(a, n.subgraphs.has(a.name ?? ''), where, issues);
    for (const [name, sg] of n.subgraphs) {
      (Array.isArray(sg) ? sg : [sg]).forEach((s, i) => validateGraph(s, defined, issues, domains, `${where} › ${name}${Array.isArray(sg) ? `[${i}]` : ''}`));
    }
    n.outputs.forEach((o) => define(o, `node "${n.name}"`));
  }
  for (const o of g.outputs) {
    if (!o.name) issues.push({ where: label, message: 'a graph output has no name' });
    else if (!defined.has(o.name)) issues.push({ where: label, message: `graph output "${o.name}" is never produced` });
  }
}

function checkAttribute(a: AttributeProto, isGraph: boolean, where: string, issues: ValidationIssue[]): void {
  const w = `${where} › attribute "${a.name}"`;
  if (!a.name) { issues.push({ where, message: 'attribute without a name' }); return; }
  if (a.ref_attr_name) return; // function attribute reference
  const type = a.type ?? 0;
  const field = FIELD_FOR_TYPE[type];
  if (!field) { issues.push({ where: w, message: `unknown attribute type ${type}` }); return; }
  if (isGraph) return;
  const present = (f: keyof AttributeProto) => {
    const v = a[f];
    if (v === undefined || v === null) return false;
    if (Array.isArray(v)) return v.length > 0;
    return Object.prototype.hasOwnProperty.call(a, f) || true;
  };
  const setScalars = SCALAR_FIELDS.filter((f) => Object.prototype.hasOwnProperty.call(a, f) && a[f] !== undefined && a[f] !== null);
  const setLists = LIST_FIELDS.filter(present);
  const isList = LIST_FIELDS.includes(field);
  const others = [...setScalars, ...setLists].filter((f) => f !== field);
  if (others.length) issues.push({ where: w, message: `type is ${attrTypeName(type)} but field(s) ${others.join(', ')} are set` });
  if (!isList && !setScalars.includes(field)) issues.push({ where: w, message: `type is ${attrTypeName(type)} but "${field}" is not set` });
}

function attrTypeName(t: number): string {
  return Object.entries(AttributeType).find(([, v]) => v === t)?.[0] ?? String(t);
}
