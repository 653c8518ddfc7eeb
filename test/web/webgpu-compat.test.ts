/**
 * tools/web/webgpu-compat.ts against the augmented MNIST set it rewrites: the rewritten graphs compute what the
 * originals compute (onnxruntime-node CPU, real digits, the fixture's weights), use no op the WebGPU EP lacks, and
 * keep their interface but for the narrowed inputs. Plus the adapter's placement-log parser on ORT's real lines.
 *
 * And the lora set (../shared/artifacts/lora-linear-mse, read in place): its ReduceMean gradient
 * (`Scale(dY, Div(Size(X), Size(dY)))`) is rewritten too, the rewritten graphs give the same loss and gradients on
 * the CPU EP, and TrainingSession trains it on onnxruntime-node's WebGPU EP (SwiftShader) with ORT's placement
 * report showing every node of every session on WebGpuExecutionProvider.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { encodeModel } from '../../src/onnx/io.js';
import type { Model } from '../../src/ir/graph.js';
import { parsePlacement } from '../../src/runtime/adapters/web-gpu-state.js';
import { batchAt, loadMnist } from '../../src/runtime/data/mnist.js';
import { readOrtArtifacts } from '../../src/transforms/artifacts.js';
import { buildAugmented, type AugmentedSet } from '../../src/transforms/augment.js';
import { FIXTURE } from '../../tools/web/prepare.js';
import { webgpuCompatPass } from '../../src/transforms/webgpu-compat.js';
import { inferShapeInfo } from '../../src/transforms/shape-info.js';
import { GraphBuilder } from '../../src/builder/index.js';
import { OnnxTrainError } from '../../src/errors.js';
import { swiftShaderAvailable, webgpuEnvFix, webgpuHelp } from '../../src/runtime/adapters/webgpu-env.js';
import { batchFor, haveSet, maxRelDiff as relDiff, SETS, setDir } from '../helpers/artifact-sets.js';
import { REPO } from '../cli/helpers.js';
import { runModel } from '../helpers/ort.js';
import { randn, rng } from '../helpers/rng.js';

let set: AugmentedSet;
const LORA = 'lora-linear-mse';
let lora: AugmentedSet | undefined;

test.before(async () => {
  set = await buildAugmented(readOrtArtifacts(FIXTURE), {}, { readCheckpoint: (f) => readCheckpoint(f) });
  if (haveSet(LORA)) lora = await buildAugmented(readOrtArtifacts(setDir(LORA)), {}, { readCheckpoint: (f) => readCheckpoint(f) });
});

const session = (m: Model) => ort.InferenceSession.create(encodeModel(m.toProto()));

/** Feeds of train_step.onnx for batch k after `step` updates: the fixture's weights, zero moments. */
function stepFeeds(s: AugmentedSet, k: number, step: number, narrow: boolean): Record<string, ort.Tensor> {
  const { train } = loadMnist();
  const b = batchAt(train, k, 64);
  const f: Record<string, ort.Tensor> = {
    input: new ort.Tensor('float32', b.images, [64, 784]),
    labels: narrow ? new ort.Tensor('int32', Int32Array.from(b.labels, Number), [64]) : new ort.Tensor('int64', b.labels, [64]),
  };
  for (const p of s.checkpoint.trainable) f[p.name] = new ort.Tensor('float32', new Float32Array(p.data.slice().buffer), p.dims);
  for (const st of s.manifest.optimizer.state) f[st.input] = new ort.Tensor('float32', new Float32Array(st.shape.reduce((a, d) => a * d, 1)).fill(0.001), st.shape);
  const ts = s.manifest.trainStep!;
  f[ts.stepInput] = narrow ? new ort.Tensor('float32', Float32Array.of(step), [1]) : new ort.Tensor('int64', BigInt64Array.of(BigInt(step)), [1]);
  if (ts.lrInput) f[ts.lrInput] = new ort.Tensor('float32', Float32Array.of(1e-3), [1]);
  return f;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1e-6, Math.abs(a[i])));
  return m;
}

test('webgpu-compat › train_step › same loss, parameters and moments as the original (steps 1 and 1000)', async (t) => {
  const orig = await session(set.trainStep!);
  const compat = await session(webgpuCompatPass(set.trainStep!, 'train_step.onnx').model);
  try {
    for (const step of [1, 1000]) {
      const a = await orig.run(stepFeeds(set, 3, step, false));
      const b = await compat.run(stepFeeds(set, 3, step, true));
      t.deepEqual(Object.keys(b).sort(), Object.keys(a).sort(), 'same outputs');
      const la = (a[set.manifest.lossOutput].data as Float32Array)[0];
      const lb = (b[set.manifest.lossOutput].data as Float32Array)[0];
      t.true(Math.abs(la - lb) <= 1e-5 * Math.abs(la), `loss ${la} vs ${lb}`);
      for (const name of [...Object.values(set.manifest.trainStep!.paramOutputs), ...Object.values(set.manifest.trainStep!.stateOutputs)]) {
        // float32 bias correction (1 − β^t) instead of float64: relative differences stay far below 1e-4.
        const d = maxRelDiff(a[name].data as Float32Array, b[name].data as Float32Array);
        t.true(d < 1e-4, `step ${step}: ${name} max relative difference ${d}`);
      }
    }
  } finally {
    await orig.release();
    await compat.release();
  }
});

test('webgpu-compat › eval › same loss and logits as the original', async (t) => {
  const { test: digits } = loadMnist();
  const feeds = (narrow: boolean) => {
    const f: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', digits.images.slice(0, 100 * 784), [100, 784]),
      labels: narrow ? new ort.Tensor('int32', Int32Array.from(digits.labels.slice(0, 100), Number), [100]) : new ort.Tensor('int64', digits.labels.slice(0, 100), [100]),
    };
    for (const p of set.checkpoint.trainable) f[p.name] = new ort.Tensor('float32', new Float32Array(p.data.slice().buffer), p.dims);
    return f;
  };
  const a = await (await session(set.eval)).run(feeds(false));
  const b = await (await session(webgpuCompatPass(set.eval, 'eval_model.onnx').model)).run(feeds(true));
  for (const k of Object.keys(a)) t.true(maxRelDiff(a[k].data as Float32Array, b[k].data as Float32Array) < 1e-5, k);
});

test('webgpu-compat › every model › no op the WebGPU EP lacks, no 64-bit value, interface kept but narrowed inputs', (t) => {
  const models = { training: set.training, eval: set.eval, optimizer: set.optimizer, trainStep: set.trainStep! };
  for (const [name, m] of Object.entries(models)) {
    const r = webgpuCompatPass(m, name);
    const g = r.model.graph;
    const ops = new Set(g.nodes.map((n) => n.opType));
    for (const op of ['SoftmaxCrossEntropyLoss', 'LogSoftmax', 'Size']) t.false(ops.has(op), `${name}: no ${op}`);
    const types = [...g.inputs, ...g.outputs].map((v) => v.type?.tensor_type?.elem_type);
    t.false(types.includes(7) || types.includes(11), `${name}: no int64/float64 input or output`);
    t.false(g.nodes.some((n) => n.opType === 'Cast' && [7, 11].includes(n.attrInt('to') ?? 0)), `${name}: no Cast to int64/float64`);
    t.deepEqual(g.inputs.map((i) => i.name), m.graph.inputs.map((i) => i.name), `${name}: same inputs, same order`);
    t.deepEqual(g.outputs.map((o) => o.name), m.graph.outputs.map((o) => o.name), `${name}: same outputs`);
    for (const [input, [from, to]] of Object.entries(r.report.narrowedInputs)) {
      t.is(from, 7);
      t.is(to, input === 'labels' ? 6 : 1, `${name}: ${input} becomes ${input === 'labels' ? 'int32' : 'float32'}`);
    }
  }
});

test('web-gpu-state › parsePlacement › reads ORT\'s placement report, all-on-one-EP and split', (t) => {
  const pre = '2026-11-25 16:46:43.29 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]';
  t.deepEqual(parsePlacement([`${pre} Node placements`, `${pre}  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 83`]),
    [{ ep: 'WebGpuExecutionProvider', count: 83, nodes: [] }]);
  t.deepEqual(parsePlacement([
    `${pre} Node placements`,
    `${pre}  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 2`,
    `${pre}   LogSoftmax ()`,
    `${pre}   Unsqueeze (u1)`,
    `${pre}  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 15`,
    `${pre}   Gemm (/fc1/Gemm)`,
  ]), [
    { ep: 'CPUExecutionProvider', count: 2, nodes: ['LogSoftmax ()', 'Unsqueeze (u1)'] },
    { ep: 'WebGpuExecutionProvider', count: 15, nodes: ['Gemm (/fc1/Gemm)'] },
  ]);
});

// ------------------------------------------------------------------------------------------------ sizeAsCount

/** Operands the WebGPU EP reads from CPU memory, where int64 is fine: shapes, axes, slice bounds. */
const CPU_OPERANDS: Readonly<Record<string, readonly number[]>> = { Expand: [1], Reshape: [1], Slice: [1, 2, 3, 4], ReduceSum: [1], Unsqueeze: [1], Squeeze: [1] };

/** Nodes that produce an int64 value (element types as shape-info infers them) used other than as a CPU operand. */
function int64Computed(m: Model): string[] {
  const g = m.graph;
  const shapes = inferShapeInfo(g);
  return g.nodes.filter((n) => n.outputs.some((o) => shapes.dtype(o) === 7 && (g.isGraphOutput(o) || g.uses(o).some((u) => !CPU_OPERANDS[u.node.opType]?.includes(u.index)))))
    .map((n) => `${n.opType} "${n.name}"`);
}

/** `out = Cast(Div(Size(x), Size(y)), float)` (ReduceMean's gradient scale) and `Cast(Div(Size(m), 2), int32)`. */
function countModel(combine: 'Div' | 'Mul' = 'Div') {
  const b = GraphBuilder.create('counts', { opset: 17 });
  const x = b.input('x', 1, ['N', 3, 4]); // float32, one symbolic axis: counted on a [N, 1, 1] slice
  const y = b.input('y', 1, ['N', 3]);
  const m = b.input('m', 9, ['N', 'K']); // bool, no static axis: counted through an int32 copy
  const ratio = b.node1(combine, [b.node1('Size', [x], undefined, 7), b.node1('Size', [y], undefined, 7)], undefined, 7);
  b.output(b.op.Cast(ratio, 1), 'ratio', 1);
  b.output(b.op.Cast(b.op.Div(b.node1('Size', [m], undefined, 7), b.i64(2)), 6), 'half_m', 6);
  return b.toModel();
}

test('webgpu-compat › sizeAsCount › Size / Div between counts become int32 counts with the same values', async (t) => {
  const model = countModel();
  const r = webgpuCompatPass(model, 'counts');
  const g = r.model.graph;
  t.false(g.nodes.some((n) => n.opType === 'Size'), 'no Size left');
  t.deepEqual(r.report.applied.sizeAsCount, ['Size "Size", Size "Size_1"', 'Size "Size_2"']);
  t.true(g.nodes.some((n) => n.opType === 'Slice'), 'the float32 input is counted on a slice');
  t.deepEqual(int64Computed(r.model), [], 'int64 values only as slice operands');
  for (const [n, k] of [[1, 1], [5, 3], [7, 0]]) {
    const feeds = {
      x: new ort.Tensor('float32', new Float32Array(n * 12).fill(NaN), [n, 3, 4]),
      y: new ort.Tensor('float32', new Float32Array(n * 3), [n, 3]),
      m: new ort.Tensor('bool', new Uint8Array(n * k), [n, k]),
    };
    const [a, b] = [await runModel(model, feeds), await runModel(r.model, feeds)];
    t.deepEqual(Array.from(b.ratio.data as Float32Array), Array.from(a.ratio.data as Float32Array), `ratio, N=${n}`);
    t.deepEqual(Array.from(b.half_m.data as Int32Array), [Math.trunc(n * k / 2)], `half of N·K, N=${n}, K=${k}`);
    t.deepEqual(Array.from(a.half_m.data as Int32Array), [Math.trunc(n * k / 2)]);
  }
});

test('webgpu-compat › sizeAsCount › a product of counts or a constant outside int32 is refused, naming the node', (t) => {
  const e = t.throws(() => webgpuCompatPass(countModel('Mul'), 'counts'), { instanceOf: OnnxTrainError });
  t.is(e?.code, 'UNSUPPORTED_OP');
  t.regex(e!.message, /sizeAsCount cannot rewrite Size "Size": Size "Size" is used by Mul "Mul"/);
  const b = GraphBuilder.create('big', { opset: 17 });
  const x = b.input('x', 1, ['N']);
  b.output(b.op.Cast(b.op.Div(b.node1('Size', [x], undefined, 7), b.i64(2 ** 40)), 1), 'y', 1);
  const e2 = t.throws(() => webgpuCompatPass(b.toModel(), 'big'), { instanceOf: OnnxTrainError });
  t.is(e2?.code, 'UNSUPPORTED_OP');
  t.regex(e2!.message, /holds 1099511627776, outside int32/);
});

// ------------------------------------------------------------------------------------------------ lora-linear-mse

const loraMissing = () => `${setDir(LORA)} missing (the lora artifact set from ../shared/artifacts)`;

/** Ops the WebGPU EP of onnxruntime 1.30 lacks (or, for Size, that produce int64 values it cannot hold). */
const NOT_ON_WEBGPU = ['SoftmaxCrossEntropyLoss', 'LogSoftmax', 'Size'];

/**
 * Feeds for a lora graph: the batch, the checkpoint's parameters (an all-zero one replaced by seeded values), zero gradient buffers with a fresh accumulation,
 * initial optimizer state, step 1 and the manifest's lr; `narrowed` converts the inputs the compat pass narrowed.
 */
function loraFeeds(s: AugmentedSet, m: Model, narrowed: Readonly<Record<string, readonly [number, number]>> = {}): Record<string, ort.Tensor> {
  const all: Record<string, ort.Tensor> = { ...batchFor(SETS.find((x) => x.name === LORA)!, s.manifest.inputs, 7) };
  const r = rng(11);
  for (const p of [...s.checkpoint.trainable, ...s.checkpoint.frozen]) {
    const data = new Float32Array(p.data.slice().buffer);
    // LoRA's B starts at zero, which makes A's gradient zero: random values instead, so every gradient is checked.
    all[p.name] = new ort.Tensor('float32', data.every((v) => v === 0) ? randn(r, data.length, 0.5) : data, p.dims);
  }
  const size = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);
  for (const g of s.manifest.training.grads) all[g.bufferInput] = new ort.Tensor('float32', new Float32Array(size(all[g.param].dims)), all[g.param].dims);
  all[s.manifest.training.lazyResetInput] = new ort.Tensor('bool', Uint8Array.of(1), [1]);
  for (const st of s.manifest.optimizer.state) all[st.input] = new ort.Tensor('float32', new Float32Array(size(st.shape)).fill(st.init), st.shape);
  for (const stepInput of [s.manifest.optimizer.stepInput, s.manifest.trainStep?.stepInput]) if (stepInput) all[stepInput] = new ort.Tensor('int64', BigInt64Array.of(1n), [1]);
  for (const lrInput of [s.manifest.optimizer.lrInput, s.manifest.trainStep?.lrInput]) if (lrInput) all[lrInput] = new ort.Tensor('float32', Float32Array.of(s.manifest.optimizer.lr), [1]);
  const feeds: Record<string, ort.Tensor> = {};
  for (const i of m.graph.inputs) {
    const name = i.name ?? '';
    const f = all[name];
    if (!f) throw new Error(`test: no feed for input ${name}`);
    const to = narrowed[name]?.[1];
    feeds[name] = to === 6 ? new ort.Tensor('int32', Int32Array.from(f.data as BigInt64Array, Number), f.dims)
      : to === 1 ? new ort.Tensor('float32', Float32Array.from(f.data as BigInt64Array, Number), f.dims) : f;
  }
  return feeds;
}

test('webgpu-compat › lora-linear-mse › every model rewritten: the ReduceMean gradient\'s Size nodes become int32 counts', (t) => {
  if (!lora) return t.fail(loraMissing());
  const models = { training: lora.training, eval: lora.eval, optimizer: lora.optimizer, trainStep: lora.trainStep! };
  t.true(lora.training.graph.nodes.filter((n) => n.opType === 'Size').length === 2, 'the lowered training graph has the two Size nodes of the ReduceMean gradient');
  for (const [name, m] of Object.entries(models)) {
    const r = webgpuCompatPass(m, name); // throws (UNSUPPORTED_OP) if any site cannot be rewritten
    const g = r.model.graph;
    for (const op of NOT_ON_WEBGPU) t.false(g.nodes.some((n) => n.opType === op), `${name}: no ${op}`);
    t.false(g.nodes.some((n) => n.domain !== ''), `${name}: standard ops only`);
    const types = [...g.inputs, ...g.outputs].map((v) => v.type?.tensor_type?.elem_type);
    t.false(types.includes(7) || types.includes(11), `${name}: no int64/float64 input or output`);
    t.false(g.nodes.some((n) => n.opType === 'Cast' && [7, 11].includes(n.attrInt('to') ?? 0)), `${name}: no Cast to int64/float64`);
    t.deepEqual(g.inputs.map((i) => i.name), m.graph.inputs.map((i) => i.name), `${name}: same inputs, same order`);
    t.deepEqual(g.outputs.map((o) => o.name), m.graph.outputs.map((o) => o.name), `${name}: same outputs`);
    if (name === 'training' || name === 'trainStep') {
      t.deepEqual(r.report.applied.sizeAsCount, ['Size "onnx::ReduceMean::7_Grad/Size_0", Size "onnx::ReduceMean::7_Grad/Size_1"'], `${name}: one count expression`);
    }
    t.deepEqual(int64Computed(r.model), [], `${name}: int64 values only as shape / axes / slice operands`);
  }
});

test('webgpu-compat › lora-linear-mse › same loss and gradients (training), same update (train_step) as the original on the CPU EP', async (t) => {
  if (!lora) return t.fail(loraMissing());
  const s = lora;
  // training_model: the loss and the accumulated gradients are what the rewrite touches; they stay bit-identical
  // (the count is the same integer, cast to float32 the same way).
  const tr = webgpuCompatPass(s.training, 'training_model.onnx');
  const a = await runModel(s.training, loraFeeds(s, s.training));
  const b = await runModel(tr.model, loraFeeds(s, tr.model, tr.report.narrowedInputs));
  t.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  const checked = [s.manifest.lossOutput, ...s.manifest.userOutputs, ...s.training.graph.outputs.map((o) => o.name ?? '').filter((o) => o.endsWith('.buffer.out'))];
  t.is(checked.length, 2 + 4, 'loss, output and four accumulated gradients');
  for (const k of checked) {
    t.true(a[k].type === 'float32' && (a[k].data as Float32Array).some((v) => v !== 0), `${k} is a non-zero float32 tensor`);
    t.deepEqual(Array.from(b[k].data as Float32Array), Array.from(a[k].data as Float32Array), `${k}: bit-identical`);
  }
  // train_step: parameters and moments after one update (float32 bias correction: below 1e-4 relative).
  const st = webgpuCompatPass(s.trainStep!, 'train_step.onnx');
  const c = await runModel(s.trainStep!, loraFeeds(s, s.trainStep!));
  const d = await runModel(st.model, loraFeeds(s, st.model, st.report.narrowedInputs));
  t.is((d[s.manifest.lossOutput].data as Float32Array)[0], (c[s.manifest.lossOutput].data as Float32Array)[0], 'same loss');
  for (const name of [...Object.values(s.manifest.trainStep!.paramOutputs), ...Object.values(s.manifest.trainStep!.stateOutputs)]) {
    const diff = relDiff(d[name].data as Float32Array, c[name].data as Float32Array);
    t.true(diff < 1e-4, `${name}: max relative difference ${diff}`);
  }
});

/** Runs `script` under node + tsx from the repository root: stdout piped, stderr through a temporary file. */
async function trainInChild(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-train-webgpu-'));
  const log = path.join(dir, 'stderr.log');
  const fd = fs.openSync(log, 'w');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', fd] });
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve); });
    return { code, stdout, stderr: fs.readFileSync(log, 'utf8') };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** ORT's placement reports in a verbose log, one per session ("Node placements" starts each). */
function placementsBySession(log: string): ReturnType<typeof parsePlacement>[] {
  const sessions: string[][] = [];
  for (const line of log.split('\n')) {
    if (/VerifyEachNodeIsAssignedToAnEp\] Node placements/.test(line)) sessions.push([]);
    if (sessions.length) sessions[sessions.length - 1].push(line);
  }
  return sessions.map((lines) => parsePlacement(lines));
}

test('webgpu-compat › lora-linear-mse › trains on onnxruntime-node\'s WebGPU EP with every node placed on WebGPU', async (t) => {
  if (!lora) return t.fail(loraMissing());
  const fix = webgpuEnvFix();
  if (!fix && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && !swiftShaderAvailable()) {
    return t.fail(`no Vulkan driver for WebGPU: ${webgpuHelp()}`);
  }
  // LD_LIBRARY_PATH only takes effect at process start: train in a child (the runtime test's fixture), {losses} as
  // its last stdout line and ORT's verbose log on its stderr, which goes to a file: a pipe that this busy process
  // drains late fills up, ORT's log stream then fails on EAGAIN and drops every later line (placements included).
  const r = await trainInChild(path.join(REPO, 'test', 'runtime', 'fixtures', 'webgpu-train.ts'), [setDir(LORA), LORA], fix?.env ?? {});
  t.is(r.code, 0, r.stderr.slice(-3000));
  t.notRegex(r.stderr, /OnnxTrainWebGpu|some nodes will run on the CPU EP/, 'the compat pass rewrote every graph (no fallback warning)');
  const reports = placementsBySession(r.stderr);
  t.is(reports.length, 3, 'one placement report per session: training, optimizer, train_step');
  for (const [k, rep] of reports.entries()) {
    t.deepEqual(rep.map((p) => p.ep), ['WebGpuExecutionProvider'], `session ${k}: every node on WebGPU: ${JSON.stringify(rep)}`);
    t.true(rep[0].count > 0);
  }
  t.log(`placements: ${reports.map((rep) => rep.map((p) => `${p.ep} ${p.count}`).join(', ')).join(' | ')}`);
  t.notRegex(r.stderr, /placed on \[CPUExecutionProvider\]|Force fallback to CPU execution/);
  const { losses } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { losses: number[] };
  t.is(losses.length, 8);
  t.true(losses.every(Number.isFinite), `finite losses: ${losses}`);
  t.true(losses[losses.length - 1] < losses[0], `the loss goes down: ${losses[0]} -> ${losses[losses.length - 1]}`);
});
