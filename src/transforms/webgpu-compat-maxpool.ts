/**
 * The WebGPU EP's MaxPool has no Indices output ("The Indices output is not supported yet", at run time), and
 * what the MaxPoolGrad lowering (src/ops/lowering/conv-norm/max-pool-grad.ts) does with Indices needs int64 ops
 * the EP lacks (Mod, Equal, ScatterElements on int64). This rule makes every MaxPool of a graph Indices-free:
 *
 * - Indices unused (seizureguard's frozen pools): the output is dropped.
 * - Indices used by a lowered MaxPoolGrad: the positions are recomputed from the forward input X and output Y,
 *   the same window taps the lowering walks (row-major tap order, padding taps excluded):
 *
 *       taps[nc, o, j] = Xflat[nc, table[o, j]]                 Gather (a constant int32 table)
 *       w[nc, o, j]    = taps == Y[nc, o] ? K − j : 0            Equal, Where (0 for a padding tap)
 *       hit[nc, o, j]  = w == max(max_j w, 0.5)                  ReduceMax, Max, Equal
 *
 *   `hit` is one-hot on the FIRST tap whose value equals the window's max, which is the element ORT's MaxPool
 *   reports as the window's index (its kernel keeps the first maximum: `if (x > Yh)`); the 0.5 floor leaves a
 *   window without a match (NaN-only) without gradient. Y holds one of X's values bit for bit (a max copies), so
 *   the Equal is exact. Two lowered forms are rewritten:
 *   - window (opset < 16, overlapping windows): `Equal(Unsqueeze(Mod(Indices, HW)), table)` -> `hit`, laid out
 *     [N, C, O…, K] as the lowering's; everything after it (Cast, Mul by dY, ConvTranspose) is unchanged, so the
 *     gradient is bit-identical when `hit` is;
 *   - scatter (opset >= 16, or disjoint windows): `ScatterElements(zeros, Reshape(Indices, [-1]), Reshape(dY, [-1]))`
 *     -> the same routing as the window form (`Where(hit, dY, 0)` summed back onto the input grid by a
 *     ConvTranspose with an identity weight over the K taps), flattened. Equal to the scatter-add up to the order
 *     of the additions where windows overlap (a value reaches an input element from at most K windows).
 *
 * Needs: storage_order 0, the static spatial dims of X (and its channel count for the window form). Every op used
 * runs on the WebGPU EP (checked with ORT's placement log: float Gather with int32 indices, Equal/Where/Max on
 * float32, ReduceMax, ConvTranspose, Transpose and Reshape on float32).
 */
import { GraphBuilder, Value } from '../builder/index.js';
import { Graph, Node } from '../ir/graph.js';
import { DataType } from '../onnx/dtypes.js';
import { tensorToArray } from '../onnx/tensor.js';
import type { TensorProto } from '../onnx/types.js';
import { explicitPads, outputSize, readWindowAttrs, transposeFit } from '../ops/lowering/conv-norm/geometry.js';
import { inferShapeInfo } from './shape-info.js';

const FLOATS = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16]);

/** Window geometry of a MaxPool with static spatial dims of X. */
export interface PoolGeometry {
  readonly xSpatial: readonly number[];
  readonly ySpatial: readonly number[];
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** [begin…, end…] */
  readonly pads: readonly number[];
}

/**
 * table[o·K + j]: the row-major offset inside one image of tap j (row-major over the kernel) of output position o
 * (row-major over Y's spatial dims), or −1 for a tap in the padding (or past the input, with ceil_mode).
 */
export function tapTable(p: PoolGeometry): { table: number[]; taps: number; outputs: number } {
  const k = p.xSpatial.length;
  const taps = p.kernel.reduce((a, v) => a * v, 1);
  const outputs = p.ySpatial.reduce((a, v) => a * v, 1);
  const table: number[] = [];
  const o = Array<number>(k).fill(0);
  for (let oi = 0; oi < outputs; oi++) {
    let rest = oi;
    for (let i = k - 1; i >= 0; i--) { o[i] = rest % p.ySpatial[i]; rest = Math.floor(rest / p.ySpatial[i]); }
    for (let j = 0; j < taps; j++) {
      let jr = j;
      const coord = Array<number>(k).fill(0);
      let inside = true;
      for (let i = k - 1; i >= 0; i--) {
        const ji = jr % p.kernel[i];
        jr = Math.floor(jr / p.kernel[i]);
        coord[i] = o[i] * p.strides[i] - p.pads[i] + ji * p.dilations[i];
        if (coord[i] < 0 || coord[i] >= p.xSpatial[i]) inside = false;
      }
      let off = 0;
      for (let i = 0; i < k; i++) off = off * p.xSpatial[i] + coord[i];
      table.push(inside ? off : -1);
    }
  }
  return { table, taps, outputs };
}

/** The geometry of MaxPool `n` (whose input has the static spatial dims `xSpatial`), or why there is none. */
export function poolGeometry(n: Node, xSpatial: readonly number[]): PoolGeometry | string {
  const rank = xSpatial.length;
  const a = readWindowAttrs(n, rank);
  if (typeof a === 'string') return a;
  if (!a.kernel) return 'it has no kernel_shape';
  const pads = explicitPads(a, a.kernel, xSpatial);
  if (!pads) return 'its pads are unknown';
  const ySpatial = xSpatial.map((s, i) => outputSize(s, a.kernel![i], a.strides[i], a.dilations[i], pads[i], pads[i + rank], a.ceilMode));
  return { xSpatial, ySpatial, kernel: a.kernel, strides: a.strides, dilations: a.dilations, pads };
}

/**
 * The first-maximum one-hot of every window, as the pair (w, best) with hit = Equal(w, best): w [NC, O, K]
 * (K − j for a tap equal to the window's max, else 0) and best [NC, O, 1] (max over the taps, at least 0.5).
 * Kept apart so that a caller can reshape the float tensors before comparing (Transpose and Reshape of a bool
 * tensor are what the WebGPU EP lacks).
 */
function firstMax(b: GraphBuilder, x: Value, y: Value, p: PoolGeometry, dtype: number): { w: Value; best: Value } {
  const { table, taps, outputs } = tapTable(p);
  const image = p.xSpatial.reduce((a, v) => a * v, 1);
  const index = b.const(table.map((v) => (v < 0 ? 0 : v)), DataType.INT32, [outputs, taps]);
  const prio = b.const(table.map((v, i) => (v < 0 ? 0 : taps - (i % taps))), dtype, [outputs, taps]);
  const windows = b.op.Gather(b.op.Reshape(x, [-1, image]), index, 1); // [NC, O, K]
  const w = b.op.Where(b.op.Equal(windows, b.op.Reshape(y, [-1, outputs, 1])), prio, b.const(0, dtype));
  const best = b.op.Max(b.op.ReduceMax(w, [2], 1), b.const(0.5, dtype));
  return { w, best };
}

/** One use of a MaxPool's Indices output, as the lowering left it. */
type IndicesUse =
  | { readonly kind: 'window'; readonly hit: Node }
  | { readonly kind: 'scatter'; readonly scatter: Node };

export interface MaxPoolSite {
  readonly pool: Node;
  readonly uses: readonly IndicesUse[];
  readonly geometry?: PoolGeometry;
  readonly problem?: string;
}

function constData(g: Graph, name: string): { dims: number[]; data: number[] } | undefined {
  let t: TensorProto | undefined;
  const init = g.initializers.get(name);
  if (init && !g.isGraphInput(name)) t = init;
  else {
    const p = g.producer(name);
    if (p && p.opType === 'Constant' && p.domain === '') t = p.attrTensor('value');
  }
  if (!t) return undefined;
  const copy = t.raw_data && t.raw_data.length ? { ...t, raw_data: new Uint8Array(t.raw_data) } : t;
  return { dims: (t.dims ?? []).map(Number), data: Array.from(tensorToArray(copy) as ArrayLike<number | bigint>, Number) };
}

/** The one node using `name`, when `name` has exactly one use (and is no graph output). */
function soleUse(g: Graph, name: string): { node: Node; index: number } | undefined {
  const uses = g.uses(name);
  return uses.length === 1 && !g.isGraphOutput(name) ? uses[0] : undefined;
}

/** Every MaxPool with an Indices output, with the uses of Indices recognised (or the reason they are not). */
export function maxPoolSites(g: Graph): MaxPoolSite[] {
  const shapes = inferShapeInfo(g);
  const sites: MaxPoolSite[] = [];
  for (const pool of g.nodes) {
    if (pool.opType !== 'MaxPool' || pool.domain !== '' || !pool.outputs[1]) continue;
    const indices = pool.outputs[1];
    if (g.isGraphOutput(indices)) { sites.push({ pool, uses: [], problem: `its Indices output "${indices}" is a graph output` }); continue; }
    const uses = g.uses(indices);
    if (!uses.length) { sites.push({ pool, uses: [] }); continue; }
    const fail = (problem: string) => sites.push({ pool, uses: [], problem: `its Indices output "${indices}" is used (${uses.map((u) => `${u.node.opType} "${u.node.name}"`).join(', ')}): ${problem}` });
    if (pool.attrInt('storage_order', 0) !== 0) { fail('storage_order=1 (column-major indices) is not rewritten'); continue; }
    const x = pool.inputs[0];
    const dtype = shapes.dtype(x);
    if (dtype === undefined || !FLOATS.has(dtype)) { fail(`the element type of X ("${x}") is not a known float type`); continue; }
    const dims = shapes.shape(x);
    const xSpatial = dims?.slice(2);
    if (!dims || !xSpatial!.every((d): d is number => typeof d === 'number' && d > 0)) { fail(`the spatial dims of X ("${x}") are not static: ${JSON.stringify(dims)}`); continue; }
    const geometry = poolGeometry(pool, xSpatial as number[]);
    if (typeof geometry === 'string') { fail(geometry); continue; }
    const ys = shapes.shape(pool.outputs[0])?.slice(2);
    if (ys && ys.length === geometry.ySpatial.length && ys.some((d, i) => typeof d === 'number' && d !== geometry.ySpatial[i])) {
      fail(`Y's spatial dims ${JSON.stringify(ys)} differ from the window geometry's ${JSON.stringify(geometry.ySpatial)}`); continue;
    }
    const { table } = tapTable(geometry);
    const image = geometry.xSpatial.reduce((a, v) => a * v, 1);
    const found: IndicesUse[] = [];
    let problem: string | undefined;
    for (const u of uses) {
      const why = recognise(g, u.node, u.index, image, table, geometry, found);
      if (why) { problem = why; break; }
    }
    if (!problem && found.some((f) => f.kind === 'window') && typeof dims[1] !== 'number') problem = `the channel count of X ("${x}") is not static`;
    if (problem) fail(problem);
    else sites.push({ pool, uses: found, geometry });
  }
  return sites;
}

/** Matches one use of Indices against the lowering's two forms; returns why it does not match. */
function recognise(g: Graph, n: Node, index: number, image: number, table: readonly number[], p: PoolGeometry, out: IndicesUse[]): string | undefined {
  const k = p.xSpatial.length;
  if (n.opType === 'Mod' && index === 0) {
    const m = constData(g, n.inputs[1]);
    if (!m || m.data.length !== 1 || m.data[0] !== image) return `Mod "${n.name}" does not take the indices modulo the image size ${image}`;
    const un = soleUse(g, n.outputs[0]);
    if (!un || un.node.opType !== 'Unsqueeze') return `Mod "${n.name}" is not followed by an Unsqueeze only`;
    const axes = un.node.attrInts('axes') ?? constData(g, un.node.inputs[1] ?? '')?.data;
    if (!axes || axes.length !== 1 || (axes[0] !== 2 + k && axes[0] !== -1)) return `Unsqueeze "${un.node.name}" does not add the trailing tap axis`;
    const eq = soleUse(g, un.node.outputs[0]);
    if (!eq || eq.node.opType !== 'Equal') return `Unsqueeze "${un.node.name}" is not followed by an Equal only`;
    const t = constData(g, eq.node.inputs[1 - eq.index]);
    const taps = p.kernel.reduce((a, v) => a * v, 1);
    const want = [...p.ySpatial, taps];
    if (!t || t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i])) return `Equal "${eq.node.name}" does not compare with a constant [${want.join(', ')}] tap table`;
    if (t.data.some((v, i) => v !== table[i])) return `the tap table of Equal "${eq.node.name}" is not the MaxPool's windows (row-major, -1 for padding)`;
    out.push({ kind: 'window', hit: eq.node });
    return undefined;
  }
  if (n.opType === 'Reshape' && index === 0) {
    const s = constData(g, n.inputs[1]);
    if (!s || s.data.length !== 1 || s.data[0] !== -1) return `Reshape "${n.name}" does not flatten the indices`;
    const sc = soleUse(g, n.outputs[0]);
    if (!sc || sc.node.opType !== 'ScatterElements' || sc.index !== 1) return `the flattened indices of Reshape "${n.name}" are not only the indices of a ScatterElements`;
    const scatter = sc.node;
    if (scatter.attrInt('axis', 0) !== 0) return `ScatterElements "${scatter.name}" does not scatter along axis 0`;
    if (!['none', 'add'].includes(scatter.attrString('reduction', 'none')!)) return `ScatterElements "${scatter.name}" has reduction "${scatter.attrString('reduction')}"`;
    if (!zerosOf(g, scatter.inputs[0])) return `ScatterElements "${scatter.name}" does not scatter into zeros (Reshape(ConstantOfShape(…), [-1]))`;
    out.push({ kind: 'scatter', scatter });
    return undefined;
  }
  return `${n.opType} "${n.name}" is not part of a lowered MaxPoolGrad (window or scatter form)`;
}

/** Is `name` = Reshape(ConstantOfShape(shape, 0), [-1])? */
function zerosOf(g: Graph, name: string): boolean {
  const r = g.producer(name);
  if (!r || r.opType !== 'Reshape') return false;
  const s = constData(g, r.inputs[1]);
  if (!s || s.data.length !== 1 || s.data[0] !== -1) return false;
  const c = g.producer(r.inputs[0]);
  if (!c || c.opType !== 'ConstantOfShape') return false;
  const v = c.attrTensor('value');
  if (!v) return true;
  const d = tensorToArray(v.raw_data && v.raw_data.length ? { ...v, raw_data: new Uint8Array(v.raw_data) } : v) as ArrayLike<number>;
  return d.length === 1 && Number(d[0]) === 0;
}

/** Rewrites the uses of the site's Indices (see the module doc), then removes the Indices output. */
export function rewriteMaxPool(b: GraphBuilder, site: MaxPoolSite): void {
  const g = b.graph;
  const { pool } = site;
  const indices = pool.outputs[1];
  if (site.uses.length) {
    const shapes = inferShapeInfo(g);
    const p = site.geometry!;
    const dtype = shapes.dtype(pool.inputs[0])!;
    const x = new Value(pool.inputs[0], dtype);
    const y = new Value(pool.outputs[0], dtype);
    const { w, best } = firstMax(b, x, y, p, dtype);
    const taps = p.kernel.reduce((a, v) => a * v, 1);
    const k = p.xSpatial.length;
    for (const u of site.uses) {
      if (u.kind === 'window') {
        // [NC, O, K] -> [N, C, O…, K], the layout of the lowering's hit (float reshapes, then the comparison).
        const c = shapes.shape(pool.inputs[0])![1] as number;
        const hit = b.op.Equal(b.op.Reshape(w, [-1, c, ...p.ySpatial, taps]), b.op.Reshape(best, [-1, c, ...p.ySpatial, 1]));
        g.replaceAllUses(u.hit.outputs[0], hit.name);
      } else {
        const outputs = p.ySpatial.reduce((a, v) => a * v, 1);
        const dy = new Value(u.scatter.inputs[2], dtype); // Reshape(dY, [-1]): [N·C·O] in dY's order
        const routed = b.op.Where(b.op.Equal(w, best), b.op.Reshape(dy, [-1, outputs, 1]), b.const(0, dtype)); // [NC, O, K]
        const stacked = b.op.Reshape(b.op.Transpose(routed, [0, 2, 1]), [-1, taps, ...p.ySpatial]);
        const eye = Array.from({ length: taps * taps }, (_, i) => (i % (taps + 1) === 0 ? 1 : 0));
        const fit = transposeFit(p.xSpatial, p.ySpatial, p.kernel, p.strides, p.dilations, p.pads.slice(0, k));
        const placed = b.op.ConvTranspose(stacked, b.const(eye, dtype, [taps, 1, ...p.kernel]), undefined, {
          kernel_shape: [...p.kernel], strides: [...p.strides], dilations: [...p.dilations], pads: fit.pads,
          output_padding: fit.outputPadding.some((v) => v > 0) ? fit.outputPadding : undefined,
        });
        g.replaceAllUses(u.scatter.outputs[0], b.op.Reshape(placed, [-1]).name);
      }
    }
    // The old index computations are dead now: remove them so that nothing reads Indices any more.
    for (let changed = true; changed;) {
      changed = false;
      for (const n of [...g.nodes]) {
        if (n === pool || !n.outputs.every((o) => !o || (!g.uses(o).length && !g.isGraphOutput(o)))) continue;
        if (!reaches(g, indices, n)) continue;
        g.removeNode(n);
        changed = true;
      }
    }
  }
  if (g.uses(indices).length) throw new Error(`bug: Indices "${indices}" of MaxPool "${pool.name}" still used`);
  pool.outputs = pool.outputs.slice(0, 1);
  g.valueInfo.delete(indices);
  g.invalidate();
}

/** Does `n` depend on `value` (through its inputs, within the graph)? */
function reaches(g: Graph, value: string, n: Node): boolean {
  const seen = new Set<string>();
  const stack = [...n.inputs];
  while (stack.length) {
    const v = stack.pop()!;
    if (v === value) return true;
    if (!v || seen.has(v)) continue;
    seen.add(v);
    const p = g.producer(v);
    if (p) stack.push(...p.inputs);
  }
  return false;
}
