/**
 * lowerTrainingOps: Model → Model pass that rewrites an ONNX Runtime training graph (`training_model.onnx` from
 * onnxruntime-training's generate_artifacts) into standard ONNX that stock onnxruntime-node / -web can run.
 *
 * Contract
 * - requires: a model whose main graph is well formed (every value defined once, acyclic). Nodes in domains
 *   other than the default and ai.onnx.ml, and default-domain ops that are not standard at the model's opset
 *   (MaxPoolGrad, LayerNormalization below 17, …), must each have a rule in RULES whose `check` passes.
 * - ensures: no such op remains (except those named in `keep`); every original graph input stays and keeps
 *   its meaning (unless `accumulation: 'none'` removes the gradient buffers and `lazy_reset_grad`); every
 *   original graph output keeps its name and type; values keep their names, so value_info, the loss output and
 *   user outputs still line up; in-place updates become new graph outputs (below); the default-domain opset is
 *   the model's own unless a rule needs more (`minOpset`), in which case existing nodes are upgraded
 *   (opset-upgrade.ts) and the IR version raised to match; unused opset imports and value_info entries of
 *   vanished values are removed; the result passes `assertValid`. The argument is not modified.
 * - fails: before anything is rewritten, with one OnnxTrainError('UNLOWERED_OP') listing every node that no
 *   rule covers, whose rule refuses it, or that blocks the opset upgrade (domain::op, node names, reason).
 *
 * Lowered training-graph interface (accumulation: 'buffers', the default)
 *   inputs  (unchanged): user inputs, loss inputs (labels/target), every parameter, one
 *           `<param>_grad.accumulation.buffer` per trainable parameter, `lazy_reset_grad` bool[1].
 *   outputs: the original outputs in their original order — loss, user outputs, and the ORT flags
 *           `<param>_grad.accumulation.out` bool[1] (now a constant `true`; dropped with `flags: false`) —
 *           followed by one `<param>_grad.accumulation.buffer.out` per accumulator, in node order (= trainable
 *           parameter order), same type and shape as the buffer:
 *           `buffer.out = lazy_reset_grad ? grad : buffer + grad`.
 *   Naming rule: a state input S that ORT updated in place gets the output `S.out` (suffixed _1, _2… only
 *   if that name is taken). The runtime feeds `S.out` back as `S` on the next step (ORT's Module feeds
 *   `lazy_reset_grad = !accumulate` and sets accumulate after each TrainStep; LazyResetGrad clears it).
 * With `accumulation: 'none'` the accumulators disappear: the buffer inputs and `lazy_reset_grad` are removed
 * and each gradient is a graph output named after ORT's gradient value (`<param>_grad`), in the same order
 * (flags as above).
 */
import { GraphBuilder, Value, valueInfo } from '../builder/index.js';
import { OnnxTrainError } from '../errors.js';
import { Graph, Model, Node } from '../ir/graph.js';
import { assertValid } from '../ir/validate.js';
import { cloneModel } from '../onnx/io.js';
import type { ValueInfoProto } from '../onnx/types.js';
import { DataType } from '../onnx/dtypes.js';
import { RULES, REFUSED } from '../ops/lowering/index.js';
import { IN_PLACE_ACCUMULATOR_V2 } from '../ops/lowering/core/index.js';
import type { LoweringContext, LoweringRule } from '../ops/lowering/rule.js';
import { isStandardOp } from './onnx-ops.js';
import { inferShapeInfo, type GraphShapeInfo } from './shape-info.js';
import { irVersionForOpset, upgradeGraph, upgradeProblems } from './opset-upgrade.js';

export interface LowerOptions {
  /** Rule table (default: RULES). */
  readonly rules?: Readonly<Record<string, LoweringRule>>;
  /** `domain::OpType` of non-standard ops to leave in place (e.g. contrib forward ops the target runtime has). */
  readonly keep?: readonly string[];
  /** 'buffers' (default): explicit gradient-accumulation state; 'none': output the gradients directly. */
  readonly accumulation?: 'buffers' | 'none';
  /** Keep ORT's `<param>_grad.accumulation.out` bool flag outputs (constant true). Default true. */
  readonly flags?: boolean;
  /** Lowest default-domain opset for the result (the pass may go higher when a rule needs it). */
  readonly opset?: number;
  /** File name for error messages. */
  readonly where?: string;
}

/** One node the pass cannot lower. */
export interface LoweringProblem {
  /** `domain::OpType`. */
  readonly op: string;
  /** Node name (or `#<index>` when unnamed). */
  readonly node: string;
  readonly reason: string;
}

export interface LowerReport {
  /** Lowered node count per `domain::OpType`. */
  readonly lowered: Record<string, number>;
  /** Default-domain opset before and after. */
  readonly opset: { readonly from: number; readonly to: number };
  /** Nodes rewritten by the opset upgrade, per op. */
  readonly upgraded: Record<string, number>;
  /** In-place state made explicit: graph input → new graph output. */
  readonly stateOutputs: readonly { readonly input: string; readonly output: string }[];
  /** Gradient outputs added in `accumulation: 'none'` mode: parameter gradient value names. */
  readonly gradientOutputs: readonly string[];
  readonly removedInputs: readonly string[];
  readonly removedOutputs: readonly string[];
  readonly removedOpsetImports: readonly string[];
  readonly removedValueInfo: number;
  /** Nodes that became dead (feeding nothing) and were removed. */
  readonly removedNodes: number;
}

export interface LowerResult {
  readonly model: Model;
  readonly changed: boolean;
  readonly report: LowerReport;
}

/** The UNLOWERED_OP error, carrying the problems for tools that want them (`onnx-train inspect`). */
export class UnloweredOpsError extends OnnxTrainError {
  readonly problems: readonly LoweringProblem[];
  constructor(problems: readonly LoweringProblem[], where?: string) {
    super('UNLOWERED_OP', describeProblems(problems),
      'only ops with a lowering rule can run on stock ONNX Runtime (see RULES in src/ops/lowering/index.ts); re-export the model without the listed ops, or pass keep: [...] for ops your runtime implements',
      where);
    this.name = 'UnloweredOpsError';
    this.problems = problems;
  }
}

function describeProblems(problems: readonly LoweringProblem[]): string {
  const groups = new Map<string, { op: string; reason: string; nodes: string[] }>();
  for (const p of problems) {
    const k = `${p.op}\n${p.reason}`;
    const g = groups.get(k) ?? { op: p.op, reason: p.reason, nodes: [] };
    g.nodes.push(p.node);
    groups.set(k, g);
  }
  const lines = [...groups.values()].map((g) => {
    const shown = g.nodes.slice(0, 5).map((x) => `"${x}"`).join(', ');
    const more = g.nodes.length > 5 ? `, … (${g.nodes.length - 5} more)` : '';
    return `  - ${g.op} × ${g.nodes.length} (${shown}${more}): ${g.reason}`;
  });
  const ops = new Set(problems.map((p) => p.op)).size;
  return `${problems.length} node(s) using ${ops} op(s) cannot be lowered to standard ONNX:\n${lines.join('\n')}`;
}

/** What the pass would do with a model: the nodes to lower, the target opset, and every problem. */
export interface LoweringPlan {
  readonly items: readonly { readonly node: Node; readonly rule: LoweringRule }[];
  readonly from: number;
  readonly to: number;
  readonly problems: readonly LoweringProblem[];
  readonly shapes: GraphShapeInfo;
}

const nodeLabel = (n: Node, g: Graph) => n.name || `#${g.nodes.indexOf(n)}`;

/** A context whose builder writes into `g` scoped by the node name. */
function contextFor(g: Graph, n: Node, plan: { to: number; shapes: GraphShapeInfo }, updateState?: LoweringContext['updateState']): LoweringContext {
  const b = new GraphBuilder(g, { opset: plan.to, scope: nodeLabel(n, g) });
  return { b, shapes: plan.shapes, opset: plan.to, updateState };
}

/**
 * Inspects `model` without changing it (the model is cloned internally only by lowerTrainingOps; here the
 * graph is read, and rule checks must not write). Exposed for `onnx-train inspect`.
 */
export function planLowering(model: Model, opts: LowerOptions = {}): LoweringPlan {
  const g = model.graph;
  const rules = opts.rules ?? RULES;
  const keep = new Set(opts.keep ?? []);
  const from = model.opset;
  const problems: LoweringProblem[] = [];
  const items: { node: Node; rule: LoweringRule }[] = [];
  for (const n of g.nodes) {
    if (isStandardOp(n.domain, n.opType, from)) {
      for (const sg of n.subgraphs.values()) for (const s of Array.isArray(sg) ? sg : [sg]) subgraphProblems(s, from, keep, problems);
      continue;
    }
    const op = n.qualifiedOp;
    if (keep.has(op)) continue;
    const rule = rules[op];
    if (!rule) {
      problems.push({ op, node: nodeLabel(n, g), reason: REFUSED[op] ?? 'no lowering rule covers this op' });
      continue;
    }
    items.push({ node: n, rule });
  }
  const to = Math.max(from, opts.opset ?? 0, ...items.map((i) => i.rule.minOpset ?? 0));
  for (const p of upgradeProblems(g, from, to)) problems.push({ op: p.node.qualifiedOp, node: nodeLabel(p.node, g), reason: p.reason });
  const shapes = inferShapeInfo(g);
  const plan = { items, from, to, problems, shapes };
  const nodeCount = g.nodes.length;
  const noop: LoweringContext['updateState'] = () => undefined;
  for (const { node, rule } of items) {
    let reason: string | undefined;
    try {
      reason = rule.check(node, contextFor(g, node, plan, noop));
    } catch (e) {
      reason = `the rule's check failed: ${(e as Error).message}`;
    }
    if (g.nodes.length !== nodeCount) throw new Error(`bug: the check of lowering rule ${rule.op} added nodes to the graph`);
    if (reason) problems.push({ op: rule.op, node: nodeLabel(node, g), reason });
  }
  return plan;
}

function subgraphProblems(g: Graph, opset: number, keep: ReadonlySet<string>, problems: LoweringProblem[]): void {
  for (const n of g.nodes) {
    if (!isStandardOp(n.domain, n.opType, opset) && !keep.has(n.qualifiedOp)) {
      problems.push({ op: n.qualifiedOp, node: nodeLabel(n, g), reason: `inside the subgraph "${g.name}" (If/Loop/Scan body); the lowering only rewrites the main graph` });
    }
    for (const sg of n.subgraphs.values()) for (const s of Array.isArray(sg) ? sg : [sg]) subgraphProblems(s, opset, keep, problems);
  }
}

/** Clones a Model through its proto (deep; the input stays untouched). */
function cloneIR(model: Model): Model {
  return Model.fromProto(cloneModel(model.toProto()));
}

/**
 * Lowers every ORT training-only op of `model` to standard ONNX. See the module comment for the contract and
 * the resulting graph interface. Throws UnloweredOpsError (code UNLOWERED_OP) listing every problem at once.
 */
export function lowerTrainingOps(model: Model, opts: LowerOptions = {}): LowerResult {
  const m = cloneIR(model);
  const g = m.graph;
  const plan = planLowering(m, opts);
  if (plan.problems.length) throw new UnloweredOpsError(plan.problems, opts.where);

  const mode = opts.accumulation ?? 'buffers';
  const keepFlags = opts.flags ?? true;
  const { from, to, shapes } = plan;
  const lowered: Record<string, number> = {};
  const stateOutputs: { input: string; output: string }[] = [];
  const gradientOutputs: string[] = [];
  const removedOutputs: string[] = [];
  const removedInputs: string[] = [];

  // 1. Opset upgrade of the existing nodes (before new nodes are emitted at the target opset).
  let upgraded: Record<string, number> = {};
  if (to > from) {
    upgraded = upgradeGraph(g, from, to, shapes);
    m.opsets.set(m.opsets.has('') || !m.opsets.has('ai.onnx') ? '' : 'ai.onnx', to);
    m.irVersion = Math.max(m.irVersion, irVersionForOpset(to));
  }

  // 2. Lower node by node. Outputs keep their names: a result produced by a node the rule just created takes
  //    the original name directly (its fresh name is only referenced by those new nodes), anything else gets an
  //    Identity.
  const flagNames = new Set<string>();
  for (const { node: n, rule } of plan.items) {
    lowered[rule.op] = (lowered[rule.op] ?? 0) + 1;
    const isAccumulator = rule.op === IN_PLACE_ACCUMULATOR_V2;
    if (isAccumulator && n.outputs[0]) flagNames.add(n.outputs[0]);
    const start = g.nodes.length;
    const pending: { input: string; value: Value }[] = [];
    const ctx = contextFor(g, n, plan, (input, value) => pending.push({ input, value }));
    let results: readonly (Value | undefined)[];
    if (isAccumulator && mode === 'none') {
      results = lowerAccumulatorDirect(n, ctx, gradientOutputs);
    } else {
      results = rule.lower(n, ctx);
    }
    const binder = new Binder(g, g.nodes.slice(start));
    g.removeNode(n);
    n.outputs.forEach((name, i) => {
      if (!name) return;
      if (isAccumulator && i === 0 && !keepFlags) return; // flag output removed below
      const v = results[i];
      if (!v) {
        if (g.isGraphOutput(name) || g.uses(name).length) {
          throw new Error(`bug: lowering rule ${rule.op} returned nothing for output ${i} ("${name}") of node "${n.name}", which is used`);
        }
        return;
      }
      binder.bind(v, name);
    });
    if (mode === 'buffers') {
      for (const p of pending) {
        const out = uniqueOutputName(g, `${p.input}.out`);
        binder.bind(p.value, out);
        g.outputs.push(outputInfoLike(g, p.input, out));
        stateOutputs.push({ input: p.input, output: out });
      }
    }
  }
  if (!keepFlags) {
    g.outputs = g.outputs.filter((o) => {
      if (!flagNames.has(o.name ?? '')) return true;
      removedOutputs.push(o.name ?? '');
      return false;
    });
  }

  // 3. Clean up: order, dead nodes, inputs that lost their last use ('none' mode), value_info, imports.
  g.invalidate();
  g.topoSort();
  const removedNodes = g.removeDeadNodes();
  if (mode === 'none') {
    const candidates = new Set<string>(['lazy_reset_grad']);
    for (const { node } of plan.items) if (node.opType === 'InPlaceAccumulatorV2' && node.inputs[0]) candidates.add(node.inputs[0]);
    g.inputs = g.inputs.filter((i) => {
      const name = i.name ?? '';
      if (!candidates.has(name) || g.uses(name).length || g.isGraphOutput(name)) return true;
      removedInputs.push(name);
      return false;
    });
    g.invalidate();
  }
  const removedValueInfo = pruneValueInfo(g);
  const removedOpsetImports = pruneOpsetImports(m);

  // 4. Ensures.
  const left = g.nodes.filter((n) => !isStandardOp(n.domain, n.opType, to) && !(opts.keep ?? []).includes(n.qualifiedOp));
  if (left.length) throw new Error(`bug: after lowering, non-standard ops remain: ${left.map((n) => `${n.qualifiedOp} "${n.name}"`).join(', ')}`);
  assertValid(m, opts.where);

  const report: LowerReport = {
    lowered, opset: { from, to }, upgraded, stateOutputs, gradientOutputs, removedInputs, removedOutputs,
    removedOpsetImports, removedValueInfo, removedNodes,
  };
  const changed = plan.items.length > 0 || to > from || removedOpsetImports.length > 0 || removedValueInfo > 0 || removedNodes > 0;
  return { model: m, changed, report };
}

/**
 * 'none' mode: the gradient becomes a graph output under its own name (`<param>_grad` in ORT artifacts), or
 * under `<name>.out` when it must be cast to the buffer's type or the name is already an input/output; the
 * flag becomes a constant.
 */
function lowerAccumulatorDirect(n: Node, ctx: LoweringContext, gradientOutputs: string[]): (Value | undefined)[] {
  const b = ctx.b;
  const g = b.graph;
  const T = ctx.shapes.dtype(n.inputs[0]);
  const gradName = n.inputs[1];
  const needsCast = T !== undefined && ctx.shapes.dtype(gradName) !== T;
  const plain = !needsCast && !!g.producer(gradName) && !g.isGraphOutput(gradName);
  let exposed = gradName;
  if (!plain) {
    const grad = new Value(gradName, ctx.shapes.dtype(gradName));
    exposed = uniqueOutputName(g, `${gradName}.out`);
    b.node(needsCast ? 'Cast' : 'Identity', [grad], { outputs: [exposed], attrs: needsCast ? { to: T } : undefined });
  }
  g.outputs.push(outputInfoLike(g, n.inputs[0], exposed));
  gradientOutputs.push(exposed);
  return [b.const([1], DataType.BOOL, [1]), undefined];
}

/** Binds values returned by a rule to required names, renaming fresh values or inserting an Identity. */
class Binder {
  private readonly created: Set<Node>;
  private readonly renamed = new Map<string, string>();
  private readonly taken = new Set<string>();

  constructor(private readonly g: Graph, created: Node[]) {
    this.created = new Set(created);
  }

  bind(v: Value, name: string): void {
    const current = this.renamed.get(v.name) ?? v.name;
    if (current === name) return;
    const producer = [...this.created].find((n) => n.outputs.includes(current));
    if (producer && !this.taken.has(current) && !this.g.isGraphOutput(current)) {
      for (const n of this.created) {
        n.inputs = n.inputs.map((x) => (x === current ? name : x));
        n.outputs = n.outputs.map((x) => (x === current ? name : x));
      }
      const vi = this.g.valueInfo.get(current);
      if (vi) { this.g.valueInfo.delete(current); this.g.valueInfo.set(name, { ...vi, name }); }
      this.renamed.set(v.name, name);
      this.taken.add(name);
    } else {
      const id = new Node({ opType: 'Identity', name: this.g.uniqueName(`${name}/Identity`), inputs: [current], outputs: [name] });
      this.g.addNode(id);
      this.created.add(id);
      this.taken.add(name);
    }
    this.g.invalidate();
  }
}

function uniqueOutputName(g: Graph, base: string): string {
  const taken = (x: string) => g.isGraphInput(x) || g.isGraphOutput(x) || g.initializers.has(x) || !!g.producer(x);
  if (!taken(base)) return base;
  for (let k = 1; ; k++) if (!taken(`${base}_${k}`)) return `${base}_${k}`;
}

/** A graph-output ValueInfo named `name` with the type (and shape) of graph input `like`. */
function outputInfoLike(g: Graph, like: string, name: string): ValueInfoProto {
  const src = g.inputs.find((i) => i.name === like);
  if (src?.type) return { name, type: JSON.parse(JSON.stringify(src.type)) as ValueInfoProto['type'] };
  return valueInfo(name, 0);
}

function pruneValueInfo(g: Graph): number {
  const alive = new Set<string>([...g.inputs.map((i) => i.name ?? ''), ...g.initializers.keys()]);
  for (const n of g.nodes) n.outputs.forEach((o) => alive.add(o));
  let removed = 0;
  for (const k of [...g.valueInfo.keys()]) {
    if (!alive.has(k)) { g.valueInfo.delete(k); removed++; }
  }
  return removed;
}

function pruneOpsetImports(m: Model): string[] {
  const used = new Set<string>();
  const visit = (g: Graph) => {
    for (const n of g.nodes) {
      used.add(n.domain === 'ai.onnx' ? '' : n.domain);
      for (const sg of n.subgraphs.values()) for (const s of Array.isArray(sg) ? sg : [sg]) visit(s);
    }
  };
  visit(m.graph);
  for (const f of m.extra.functions ?? []) {
    used.add(f.domain ?? '');
    for (const n of f.node ?? []) used.add(n.domain === 'ai.onnx' ? '' : n.domain ?? '');
  }
  const removed: string[] = [];
  for (const d of [...m.opsets.keys()]) {
    if (d === '' || d === 'ai.onnx') continue;
    if (!used.has(d)) { m.opsets.delete(d); removed.push(d); }
  }
  return removed;
}
