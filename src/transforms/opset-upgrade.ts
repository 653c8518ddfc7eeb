/**
 * Raises the default-domain opset of a graph, rewriting the nodes whose meaning or signature changed on the
 * way. Supported range: from opset 12 (the oldest ORT training artifacts, e.g. ResNet-50) up to opset 17.
 *
 * What changes between 12 and 17 for ops that can appear in a training graph (onnx/docs/Changelog.md):
 * - 13: Softmax / LogSoftmax / Hardmax switch from "coerce to 2-D at `axis` (default 1)" to "one axis (default
 *   −1)"; rewritten as Flatten → op(axis=1) → Reshape(Shape(x)) unless the axis is statically the last one.
 *   ReduceSum, Squeeze and Unsqueeze take `axes` as an input instead of an attribute; Split takes `split` as an
 *   input. (Other Reduce* keep the attribute until 18, which is why the upgrade stops at 17.)
 * - 14: BatchNormalization drops the training-mode outputs of version 9 (saved mean/var); a node using them is
 *   refused.
 * - 16: RoiAlign gains `coordinate_transformation_mode` defaulting to "half_pixel", where version 10 behaved as
 *   "output_half_pixel"; the old behaviour is written explicitly.
 * Everything else in 13–17 only widens types or adds optional inputs/attributes with backward-compatible
 * defaults, so the node stays as is. Subgraphs (If/Loop/Scan bodies) are upgraded the same way.
 */
import { GraphBuilder, makeAttribute } from '../builder/index.js';
import type { Graph, Node } from '../ir/graph.js';
import type { ShapeInfo } from '../ops/lowering/rule.js';

export const UPGRADE_MIN_FROM = 12;
export const UPGRADE_MAX_TO = 17;

/** The ONNX IR version a model needs for a default-domain opset (onnx/docs/Versioning.md). */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset === 9) return 4;
  if (opset === 10) return 5;
  if (opset === 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

export interface UpgradeProblem {
  readonly node: Node;
  readonly reason: string;
}

const isDefault = (n: Node) => n.domain === '' || n.domain === 'ai.onnx';
const crosses = (from: number, to: number, v: number) => from < v && v <= to;

function* allNodes(g: Graph): Generator<[Node, Graph]> {
  for (const n of g.nodes) {
    yield [n, g];
    for (const sg of n.subgraphs.values()) for (const s of Array.isArray(sg) ? sg : [sg]) yield* allNodes(s);
  }
}

/** Why the graph cannot be upgraded from `from` to `to` (empty when it can). */
export function upgradeProblems(g: Graph, from: number, to: number): UpgradeProblem[] {
  if (to <= from) return [];
  const problems: UpgradeProblem[] = [];
  if (from < UPGRADE_MIN_FROM || to > UPGRADE_MAX_TO) {
    // Report once, on the first node, so the caller's listing stays readable.
    const first = g.nodes[0];
    const reason = from < UPGRADE_MIN_FROM
      ? `the lowering needs opset ${to} but the model is at opset ${from}; upgrading from below ${UPGRADE_MIN_FROM} is not implemented`
      : `the lowering needs opset ${to}; upgrading past opset ${UPGRADE_MAX_TO} is not implemented`;
    if (first) problems.push({ node: first, reason });
    return problems;
  }
  for (const [n] of allNodes(g)) {
    if (!isDefault(n)) continue;
    if (n.opType === 'BatchNormalization' && crosses(from, to, 14) && n.outputs.filter(Boolean).length > 1) {
      problems.push({ node: n, reason: `BatchNormalization-9 with training-mode outputs has no equivalent at opset ${to}` });
    }
  }
  return problems;
}

/**
 * Rewrites the graph in place for opset `to` (call {@link upgradeProblems} first). Returns how many nodes of each
 * op were rewritten. New nodes are appended; the caller topologically sorts afterwards.
 */
export function upgradeGraph(g: Graph, from: number, to: number, shapes?: ShapeInfo): Record<string, number> {
  const converted: Record<string, number> = {};
  if (to <= from) return converted;
  const count = (op: string) => { converted[op] = (converted[op] ?? 0) + 1; };
  const builders = new Map<Graph, GraphBuilder>();
  const builder = (graph: Graph) => {
    let b = builders.get(graph);
    if (!b) builders.set(graph, (b = new GraphBuilder(graph, { opset: to })));
    return b;
  };
  for (const [n, graph] of [...allNodes(g)]) {
    if (!isDefault(n)) continue;
    if (crosses(from, to, 13)) {
      switch (n.opType) {
        case 'Softmax': case 'LogSoftmax': case 'Hardmax':
          if (upgradeSoftmaxFamily(n, graph, builder, shapes)) count(n.opType);
          continue;
        case 'ReduceSum': case 'Squeeze': case 'Unsqueeze':
          if (moveIntsToInput(n, graph, 'axes', 1, builder)) count(n.opType);
          continue;
        case 'Split':
          if (moveIntsToInput(n, graph, 'split', 1, builder)) count(n.opType);
          continue;
        default: break;
      }
    }
    if (crosses(from, to, 16) && n.opType === 'RoiAlign' && !n.attr('coordinate_transformation_mode')) {
      n.attributes.push(makeAttribute('coordinate_transformation_mode', 'output_half_pixel'));
      count('RoiAlign');
    }
  }
  return converted;
}

/** Moves an INTS attribute into input `index` as an int64 constant. Returns whether the node changed. */
function moveIntsToInput(n: Node, g: Graph, attr: string, index: number, builder: (g: Graph) => GraphBuilder): boolean {
  const ints = n.attrInts(attr);
  if (ints === undefined) return false;
  const b = builder(g);
  const c = b.scope(n.name || n.opType, () => b.i64(ints));
  // A Constant emitted after `n` in node order is fine: the caller re-sorts.
  n.attributes = n.attributes.filter((a) => a.name !== attr);
  while (n.inputs.length < index) n.inputs.push('');
  n.inputs[index] = c.name;
  g.invalidate();
  return true;
}

/**
 * Softmax-family before 13 normalises over the flattened dims [axis, rank); from 13 over one axis. Equal when
 * `axis` is the last dim; otherwise emit Flatten(axis) → op(axis=1) → Reshape(Shape(x)), which is exactly the
 * old definition and needs no rank.
 */
function upgradeSoftmaxFamily(n: Node, g: Graph, builder: (g: Graph) => GraphBuilder, shapes?: ShapeInfo): boolean {
  const axis = n.attrInt('axis', 1);
  const x = n.input(0);
  const rank = x ? shapes?.rank(x) : undefined;
  const last = axis === -1 || (rank !== undefined && (axis < 0 ? axis + rank : axis) === rank - 1);
  if (last) {
    n.attributes = n.attributes.filter((a) => a.name !== 'axis');
    n.attributes.push(makeAttribute('axis', -1));
    return true;
  }
  if (!x) return false;
  const b = builder(g);
  const out = n.outputs[0];
  b.scope(n.name || n.opType, () => {
    const xv = b.value(x);
    const flat = b.op.Flatten(xv, axis);
    const y = b.node1(n.opType, [flat], { axis: 1 });
    b.node('Reshape', [y, b.op.Shape(xv)], { outputs: [out] });
  });
  g.removeNode(n);
  return true;
}
