/**
 * The browser entry to onnx-train's runtime: loads an augmented folder over HTTP into an ArtifactsBundle and
 * creates a TrainingSession on onnxruntime-web (WebGPU or wasm), the same TrainingSession the Node CLI uses.
 * Only browser-safe modules are imported here (no node:*; vite.config.ts fails the build if one slips in).
 */
import type { InferenceSession } from 'onnxruntime-common';
import { decodeOdtc, encodeOdtc } from '../../src/checkpoint/odtc.js';
import { TrainingSession, type ArtifactsBundle } from '../../src/runtime/training-session.js';
import { stateAliases, WebDeviceEngine, type OrtWebModule, type WebDeviceEp } from '../../src/runtime/adapters/web-gpu-state.js';
import { parseManifest } from '../../src/transforms/manifest.js';

export { TrainingSession, WebDeviceEngine, encodeOdtc };
export type { ArtifactsBundle, WebDeviceEp };

async function fetchBytes(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status} (run "npm run web:prepare")`);
  return new Uint8Array(await res.arrayBuffer());
}

/** An augmented folder served at `base` (ending in '/'), as a bundle. */
export async function fetchBundle(base: string): Promise<ArtifactsBundle & { inferenceTemplate: Uint8Array }> {
  const manifest = parseManifest(await (await fetch(`${base}manifest.json`)).json(), `${base}manifest.json`);
  const f = manifest.files;
  const [training, evalModel, optimizer, trainStep, checkpoint, inferenceTemplate] = await Promise.all([
    fetchBytes(base + f.training), fetchBytes(base + f.eval), fetchBytes(base + f.optimizer),
    f.trainStep ? fetchBytes(base + f.trainStep) : Promise.resolve(undefined),
    fetchBytes(base + f.checkpoint), fetchBytes(`${base}inference_template.onnx`),
  ]);
  return {
    manifest,
    models: { training, eval: evalModel, optimizer, ...(trainStep ? { trainStep } : {}) },
    checkpoint: decodeOdtc(checkpoint, { where: base + f.checkpoint }),
    inferenceTemplate,
  };
}

/** True when the browser hands out a WebGPU adapter. */
export async function webgpuAvailable(): Promise<boolean> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    return !!(await gpu.requestAdapter());
  } catch {
    return false;
  }
}

/**
 * Loads the onnxruntime-web build for `ep` (one per page: the asyncify build with the WebGPU EP, or the plain wasm
 * build) and configures it: binaries from `${assetBase}ort/`, wasm threads = the cores when the page is
 * cross-origin isolated (COOP/COEP), else 1.
 */
export async function loadOrt(ep: WebDeviceEp, assetBase: string, threads?: number): Promise<OrtWebModule> {
  const ort = (ep === 'webgpu' ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm')) as unknown as OrtWebModule;
  ort.env.wasm.wasmPaths = `${assetBase}ort/`;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.max(1, threads ?? (navigator.hardwareConcurrency || 1)) : 1;
  ort.env.logLevel = 'warning';
  return ort;
}

export interface Trainer {
  readonly session: TrainingSession;
  readonly engine: WebDeviceEngine;
  readonly bundle: ArtifactsBundle & { inferenceTemplate: Uint8Array };
}

/** TrainingSession.fromBundle on a WebDeviceEngine whose state (params, moments) stays on the device. */
export async function createTrainer(ort: OrtWebModule, ep: WebDeviceEp, bundle: Trainer['bundle'], opts: { recordPlacement?: boolean } = {}): Promise<Trainer> {
  const engine = new WebDeviceEngine(ort, {
    ep,
    state: stateAliases(bundle.manifest),
    // The fused step's logits are never read during training: leave them unfetched so only the loss comes back.
    discard: new Set(bundle.manifest.userOutputs),
    recordPlacement: opts.recordPlacement ?? true,
  });
  const session = await TrainingSession.fromBundle(bundle, { engine });
  return { session, engine, bundle };
}

export type { InferenceSession };
