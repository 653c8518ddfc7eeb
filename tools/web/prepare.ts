/**
 * Generates everything the web demo (web/) serves besides its code, into web/public (git-ignored):
 *
 *   artifacts/mnist-mlp/   the MNIST MLP fixture augmented (src/transforms/augment.ts) and made WebGPU-only
 *                          (./webgpu-compat.ts); manifest.json, four models, the ODTC checkpoint, and
 *                          inference_template.onnx (the eval model with the initial weights baked in by
 *                          exportInferencePass; the page swaps the trained weights in to export)
 *   data/mnist.bin         the digits of the `mnist` package in the split of src/runtime/data/mnist.ts (see
 *                          web/src/mnist.ts for the layout)
 *   ort/                   onnxruntime-web's wasm binaries and their loaders (plain and asyncify/WebGPU builds)
 *   tfjs/                  @tensorflow/tfjs-backend-wasm's binaries (the peer benchmark)
 *
 * Run: `npx tsx tools/web/prepare.ts` (idempotent; `web:build` runs it before vite).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpoint } from '../../src/checkpoint/io.js';
import { encodeOdtc } from '../../src/checkpoint/odtc.js';
import type { CheckpointState } from '../../src/checkpoint/types.js';
import { encodeModel } from '../../src/onnx/io.js';
import { loadMnist, type MnistSplit } from '../../src/runtime/data/mnist.js';
import { readOrtArtifacts } from '../../src/transforms/artifacts.js';
import { buildAugmented, type AugmentedSet, type HfOptimizerOptions } from '../../src/transforms/augment.js';
import { exportInferencePass } from '../../src/transforms/export.js';
import type { Manifest } from '../../src/transforms/manifest.js';
import { webgpuCompatPass, type CompatReport } from '../../src/transforms/webgpu-compat.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WEB = path.join(ROOT, 'web');
export const PUBLIC = path.join(WEB, 'public');
export const DIST = path.join(WEB, 'dist');
/** The artifacts the demo trains (MIT, ORT's web demo; see its SOURCE.md). */
export const FIXTURE = fs.existsSync(path.join(ROOT, 'fixtures', 'mnist-mlp-web', 'training_model.onnx'))
  ? path.join(ROOT, 'fixtures', 'mnist-mlp-web')
  : path.resolve(ROOT, '..', 'shared', 'artifacts', 'mnist-mlp-web');

/** The optimizer the demo uses: the fixture's own (ORT AdamW, lr 1e-3, betas 0.9/0.999, eps 1e-6, no decay). */
export const DEMO_OPTIMIZER: HfOptimizerOptions = {};

export interface PreparedArtifacts {
  readonly dir: string;
  readonly manifest: Manifest;
  /** What the WebGPU rewrite did, per model file. */
  readonly compat: Readonly<Record<string, CompatReport>>;
}

/** Augments the fixture, applies the WebGPU rewrite and writes the folder `dir` (replaced). */
export async function writeWebArtifacts(dir = path.join(PUBLIC, 'artifacts', 'mnist-mlp')): Promise<PreparedArtifacts> {
  const a = readOrtArtifacts(FIXTURE);
  const set: AugmentedSet = await buildAugmented(a, DEMO_OPTIMIZER, { readCheckpoint: (f) => readCheckpoint(f) });
  const m = set.manifest;
  const compat: Record<string, CompatReport> = {};
  const models: [string, Uint8Array][] = [];
  for (const [file, model] of [[m.files.training, set.training], [m.files.eval, set.eval], [m.files.optimizer, set.optimizer], [m.files.trainStep, set.trainStep]] as const) {
    if (!file || !model) continue;
    const r = webgpuCompatPass(model, file);
    compat[file] = r.report;
    models.push([file, encodeModel(r.model.toProto())]);
  }
  // The export template is made from the augmented eval model as it is (standard ops, int64 labels pruned away).
  const ckpt = set.checkpoint as unknown as CheckpointState;
  const exported = exportInferencePass(set.eval, ckpt.trainable.concat(ckpt.frozen), { parameters: m.parameters.map((p) => p.name), lossOutput: m.lossOutput });
  models.push(['inference_template.onnx', encodeModel(exported.model.toProto())]);

  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const [file, bytes] of models) fs.writeFileSync(path.join(tmp, file), bytes);
  fs.writeFileSync(path.join(tmp, m.files.checkpoint), encodeOdtc(ckpt).checkpoint);
  fs.writeFileSync(path.join(tmp, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
  fs.writeFileSync(path.join(tmp, 'export.json'), `${JSON.stringify({ outputs: exported.outputs, inputs: exported.inputs, baked: exported.baked, compat }, null, 2)}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return { dir, manifest: m, compat };
}

/**
 * mnist.bin, little-endian:
 *   u32 magic "MNS1", u32 trainCount, u32 testCount, f32[256] pixel table,
 *   u8[trainCount] train labels, u8[testCount] test labels, u8[784·train] train pixels, u8[784·test] test pixels.
 * The package stores pixels as 3-decimal numbers with at most 256 distinct values; each byte indexes the table, so
 * the browser gets exactly the float32 values the Node loader feeds.
 */
export function writeMnist(file = path.join(PUBLIC, 'data', 'mnist.bin')): { train: number; test: number } {
  const { train, test } = loadMnist();
  const values = [...new Set([...distinct(train), ...distinct(test)])].sort((x, y) => x - y);
  if (values.length > 256) throw new Error(`mnist: ${values.length} distinct pixel values, the format holds 256`);
  const table = new Float32Array(256);
  values.forEach((v, i) => { table[i] = v; });
  const index = new Map(values.map((v, i) => [v, i]));
  const header = 12 + 256 * 4;
  const buf = new Uint8Array(header + train.count + test.count + 784 * (train.count + test.count));
  const dv = new DataView(buf.buffer);
  buf.set([0x4d, 0x4e, 0x53, 0x31]);
  dv.setUint32(4, train.count, true);
  dv.setUint32(8, test.count, true);
  new Uint8Array(buf.buffer, 12, 1024).set(new Uint8Array(table.buffer));
  let o = header;
  for (const s of [train, test]) for (let i = 0; i < s.count; i++) buf[o++] = Number(s.labels[i]);
  for (const s of [train, test]) for (let i = 0; i < s.images.length; i++) buf[o++] = index.get(s.images[i])!;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, buf);
  return { train: train.count, test: test.count };
}

function distinct(s: MnistSplit): Set<number> {
  return new Set(s.images);
}

/** Copies the runtime binaries the page loads by URL (ORT and tfjs wasm). */
export function copyRuntimeBinaries(): void {
  const ortDist = path.join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
  const ortOut = path.join(PUBLIC, 'ort');
  fs.mkdirSync(ortOut, { recursive: true });
  for (const f of ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm']) {
    copyIfChanged(path.join(ortDist, f), path.join(ortOut, f));
  }
  const tfDist = path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
  const tfOut = path.join(PUBLIC, 'tfjs');
  fs.mkdirSync(tfOut, { recursive: true });
  for (const f of fs.readdirSync(tfDist).filter((n) => n.endsWith('.wasm'))) copyIfChanged(path.join(tfDist, f), path.join(tfOut, f));
}

function copyIfChanged(from: string, to: string): void {
  const s = fs.statSync(from);
  try {
    const d = fs.statSync(to);
    if (d.size === s.size && d.mtimeMs >= s.mtimeMs) return;
  } catch { /* not there yet */ }
  fs.copyFileSync(from, to);
}

/** All of the above. */
export async function prepareWebAssets(): Promise<PreparedArtifacts> {
  copyRuntimeBinaries();
  writeMnist();
  return writeWebArtifacts();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const r = await prepareWebAssets();
  for (const [file, rep] of Object.entries(r.compat)) {
    console.log(`${file}: ${Object.entries(rep.applied).map(([k, v]) => `${k} ×${v.length}`).join(', ') || 'unchanged'}`);
  }
  console.log(`web assets ready in ${path.relative(ROOT, PUBLIC)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
