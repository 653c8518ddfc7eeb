/**
 * The Node entry of the runtime: load an augmented artifacts folder from disk, create a TrainingSession on an
 * onnxruntime-node / onnxruntime-web engine, save checkpoints atomically and resume from them.
 *
 * Porting code written for the removed `ort.TrainingSession` means changing the import:
 *
 *   import { TrainingSession } from 'onnx-train/node';
 *   const s = await TrainingSession.create({ checkpointState, trainModel, evalModel, optimizerModel },
 *                                          { executionProviders: ['cpu'] });
 *
 * `trainModel` may point into an augmented folder (manifest.json next to it) or at an original ORT
 * training_model.onnx, which is then lowered and augmented in memory on the fly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxTrainError } from '../errors.js';
import { readCheckpoint, writeCheckpoint } from '../checkpoint/io.js';
import type { CheckpointState } from '../checkpoint/types.js';
import { parseManifest, type Manifest } from '../transforms/manifest.js';
import { buildAugmented, type AugmentedSet, type AugmentOptions } from '../transforms/augment.js';
import type { OrtArtifacts } from '../transforms/artifacts.js';
import { decodeOdtc } from '../checkpoint/odtc.js';
import { Model } from '../ir/graph.js';
import { decodeModel, encodeModel } from '../onnx/io.js';
import { webgpuCompatPass } from '../transforms/webgpu-compat.js';
import { dtypeInfo } from '../onnx/dtypes.js';
import type { TensorType } from './engine.js';
import type { ExecutionProvider, SessionOptions } from './engine.js';
import { createEngine, isExecutionProvider } from './engines.js';
import { stateAliases } from './adapters/device-state.js';
import { TrainingSession as CoreSession, type ArtifactsBundle, type TrainingRuntimeOptions } from './training-session.js';

export { CoreSession };

/** Reads an augmented folder (manifest.json + models + checkpoint) into memory. */
export async function loadArtifactsFolder(folder: string, checkpointPath?: string): Promise<ArtifactsBundle> {
  const mfile = path.join(folder, 'manifest.json');
  if (!fs.existsSync(mfile)) {
    throw new OnnxTrainError('BAD_MODEL', 'no manifest.json: this is not an augmented artifacts folder', `run "onnx-train augment ${folder} -o <out>" first`, folder);
  }
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(mfile, 'utf8'));
  } catch (e) {
    throw new OnnxTrainError('BAD_MODEL', `manifest.json is not valid JSON: ${(e as Error).message}`, 're-run "onnx-train augment"', mfile);
  }
  const manifest = parseManifest(json, mfile);
  const read = (f: string) => {
    const p = path.join(folder, f);
    if (!fs.existsSync(p)) throw new OnnxTrainError('IO', `missing file ${f} listed in manifest.json`, 're-run "onnx-train augment"', folder);
    return new Uint8Array(fs.readFileSync(p));
  };
  const checkpoint = await readCheckpoint(checkpointPath ?? path.join(folder, manifest.files.checkpoint));
  return {
    manifest,
    models: {
      training: read(manifest.files.training),
      eval: manifest.files.eval ? read(manifest.files.eval) : undefined,
      optimizer: read(manifest.files.optimizer),
      trainStep: manifest.files.trainStep ? read(manifest.files.trainStep) : undefined,
    },
    checkpoint,
  };
}

/** ORT-style create options: paths or bytes. */
export interface TrainingSessionCreateOptions {
  checkpointState: string | Uint8Array;
  trainModel: string | Uint8Array;
  evalModel?: string | Uint8Array;
  optimizerModel?: string | Uint8Array;
}

/** ORT-style session options (the subset that matters here) plus onnx-train's runtime options. */
export interface NodeSessionOptions extends Omit<TrainingRuntimeOptions, 'engine' | 'session'> {
  executionProviders?: readonly (ExecutionProvider | { name: ExecutionProvider })[];
  intraOpNumThreads?: number;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /** Disable spinning of idle intra-op threads (when sessions alternate on few cores). */
  noSpinning?: boolean;
  /**
   * webgpu: keep parameters and optimizer state in GPU memory between steps; only the loss and what the caller
   * fetches are copied to the host (default true; `false`, or ONNX_TRAIN_DEVICE_STATE=0 in the environment, copies
   * every output back to the host as cpu/cuda do).
   */
  deviceState?: boolean;
}

function pickEp(opts: NodeSessionOptions): ExecutionProvider {
  const first = opts.executionProviders?.[0];
  const name = typeof first === 'string' ? first : first?.name ?? 'cpu';
  if (!isExecutionProvider(name)) {
    throw new OnnxTrainError('BAD_ARGUMENT', `unknown execution provider "${name}"`, 'use one of cpu, cuda, wasm, webgpu');
  }
  return name;
}

/** A TrainingSession with the Node-only additions (files). */
export class TrainingSession extends CoreSession {
  /**
   * ORT-compatible factory. Also accepts the path of an augmented folder as the first argument.
   */
  static async create(options: TrainingSessionCreateOptions | string, sessionOptions: NodeSessionOptions = {}): Promise<TrainingSession> {
    const bundle = typeof options === 'string' ? await loadArtifactsFolder(options) : await bundleFromOptions(options);
    return TrainingSession.fromBundleNode(bundle, sessionOptions);
  }

  /** From an in-memory bundle, picking the engine from `executionProviders`. */
  static async fromBundleNode(bundle: ArtifactsBundle, so: NodeSessionOptions = {}): Promise<TrainingSession> {
    const ep = pickEp(so);
    const engine = await createEngine(ep);
    const session: SessionOptions = { threads: so.intraOpNumThreads, logSeverity: so.logSeverityLevel, noSpinning: so.noSpinning };
    if (ep === 'webgpu') {
      // Every node on the GPU: rewrite what the WebGPU EP lacks (LogSoftmax, int64, Size, float64).
      const { bundle: b, narrowInputs } = webgpuBundle(bundle);
      bundle = b;
      session.narrowInputs = narrowInputs;
      if (so.deviceState ?? process.env.ONNX_TRAIN_DEVICE_STATE !== '0') session.deviceOutputs = [...stateAliases(bundle.manifest).keys()];
    }
    const core = await CoreSession.fromBundle(bundle, { ...so, engine, session });
    Object.setPrototypeOf(core, TrainingSession.prototype);
    return core as TrainingSession;
  }

  /**
   * Saves parameters, optimizer state, step, learning rate and properties. Atomic: a crash mid-save leaves the
   * previous file intact. Format from the extension (.safetensors) or `format`; default ODTC v2.
   */
  async saveCheckpoint(file: string, opts: { format?: 'odtc' | 'safetensors'; includeOptimizerState?: boolean } = {}): Promise<void> {
    const format = opts.format ?? (file.endsWith('.safetensors') ? 'safetensors' : 'odtc');
    await this.syncToHost(); // one batched readback of device-resident state (no-op on host engines)
    await writeCheckpoint(file, this.toCheckpoint(opts.includeOptimizerState !== false), { format });
  }
}

async function bundleFromOptions(o: TrainingSessionCreateOptions): Promise<ArtifactsBundle> {
  if (typeof o.trainModel === 'string') {
    const dir = path.dirname(o.trainModel);
    if (fs.existsSync(path.join(dir, 'manifest.json'))) {
      return loadArtifactsFolder(dir, typeof o.checkpointState === 'string' ? o.checkpointState : undefined);
    }
  }
  const bytes = (x: string | Uint8Array | undefined) => (x === undefined ? undefined : typeof x === 'string' ? new Uint8Array(fs.readFileSync(x)) : x);
  const ckpt: CheckpointState = typeof o.checkpointState === 'string' ? await readCheckpoint(o.checkpointState) : decodeOdtc(o.checkpointState);
  return augmentInMemory({ training: bytes(o.trainModel)!, eval: bytes(o.evalModel), optimizer: bytes(o.optimizerModel), checkpoint: ckpt });
}

/**
 * Original ORT artifacts (bytes) -> an augmented bundle, in memory: lowering, the standard-op replacement of the
 * optimizer with the original node's attributes, the fused step and the checkpoint, exactly as `augment` writes them.
 */
export async function augmentInMemory(a: { training: Uint8Array; eval?: Uint8Array; optimizer?: Uint8Array; checkpoint: CheckpointState }, opts: Omit<AugmentOptions, 'out'> = {}): Promise<ArtifactsBundle> {
  const model = (b: Uint8Array, name: string) => Model.fromProto(decodeModel(b, name));
  const ort: OrtArtifacts = {
    kind: 'ort',
    folder: '<memory>',
    paths: { training: 'training_model.onnx', eval: a.eval && 'eval_model.onnx', optimizer: a.optimizer && 'optimizer_model.onnx', checkpoint: 'checkpoint' },
    training: model(a.training, 'training_model.onnx'),
    eval: a.eval && model(a.eval, 'eval_model.onnx'),
    optimizer: a.optimizer && model(a.optimizer, 'optimizer_model.onnx'),
  };
  return bundleOfSet(await buildAugmented(ort, opts, { readCheckpoint: async () => a.checkpoint }));
}

/** An augmented set (transforms/augment) as the bundle a TrainingSession opens: models encoded, nothing written. */
export function bundleOfSet(set: AugmentedSet): ArtifactsBundle {
  const enc = (m: Model) => encodeModel(m.toProto());
  return {
    manifest: set.manifest,
    models: { training: enc(set.training), eval: enc(set.eval), optimizer: enc(set.optimizer), trainStep: set.trainStep ? enc(set.trainStep) : undefined },
    checkpoint: set.checkpoint as CheckpointState,
  };
}

/**
 * The bundle with every model rewritten for the WebGPU EP, and the feeds that must be narrowed. All or nothing:
 * when one graph cannot be made fully GPU-resident, the originals run (ORT puts the rest on the CPU EP) and a
 * warning says why, so that every session of a bundle agrees on its input types.
 */
export function webgpuBundle(bundle: ArtifactsBundle): { bundle: ArtifactsBundle; narrowInputs: Record<string, TensorType> } {
  const narrowInputs: Record<string, TensorType> = {};
  const rewrite = (bytes: Uint8Array | undefined, name: string) => {
    if (!bytes) return undefined;
    const { model, report } = webgpuCompatPass(Model.fromProto(decodeModel(bytes, name)), name);
    for (const [input, [, to]] of Object.entries(report.narrowedInputs)) narrowInputs[input] = dtypeInfo(to)!.ort as TensorType;
    return encodeModel(model.toProto());
  };
  const m = bundle.models;
  try {
    const models = { training: rewrite(m.training, 'training_model.onnx')!, eval: rewrite(m.eval, 'eval_model.onnx'), optimizer: rewrite(m.optimizer, 'optimizer_model.onnx')!, trainStep: rewrite(m.trainStep, 'train_step.onnx') };
    return { bundle: { ...bundle, models }, narrowInputs };
  } catch (e) {
    if (!(e instanceof OnnxTrainError && e.code === 'UNSUPPORTED_OP')) throw e;
    process.emitWarning(`some nodes will run on the CPU EP: ${e.what}`, 'OnnxTrainWebGpu');
    return { bundle, narrowInputs: {} };
  }
}

export type { Manifest, ArtifactsBundle };
