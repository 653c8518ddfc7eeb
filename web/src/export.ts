/**
 * Exports from the page: the trained model as a standalone inference ONNX file, and the training checkpoint.
 *
 * The model: tools/web/prepare.ts wrote inference_template.onnx with exportInferencePass (the eval model pruned to
 * its logits, every parameter baked in as an initializer); here the initializers get the trained values. Only the
 * ONNX schema (protobufjs) is needed in the browser, not the transforms layer.
 * The checkpoint: TrainingSession.toCheckpoint() encoded as ODTC v2, the file ORT's and onnx-train's loaders read.
 */
import { encodeOdtc } from '../../src/checkpoint/odtc.js';
import { onnxType } from '../../src/onnx/schema.js';
import type { ModelProto } from '../../src/onnx/types.js';
import type { TrainingSession } from '../../src/runtime/training-session.js';
import type { WebDeviceEngine } from '../../src/runtime/adapters/web-gpu-state.js';

/** The inference model with the session's current parameters (call engine.syncToHost() first on WebGPU). */
export function exportModel(template: Uint8Array, session: TrainingSession): Uint8Array {
  const type = onnxType('ModelProto');
  const model = type.decode(template) as unknown as ModelProto;
  const wanted = new Set(session.manifest.parameters.map((p) => p.name));
  const done = new Set<string>();
  for (const init of model.graph?.initializer ?? []) {
    const name = init.name ?? '';
    if (!wanted.has(name)) continue;
    const p = session.getParameter(name);
    const d = p.data;
    init.raw_data = new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
    init.float_data = [];
    done.add(name);
  }
  const missing = [...wanted].filter((n) => !done.has(n));
  if (missing.length) throw new Error(`inference template lacks parameter(s) ${missing.join(', ')} (re-run "npm run web:prepare")`);
  return type.encode(model as never).finish();
}

/** ODTC v2 bytes of the session's state (parameters, AdamW moments, step). */
export function exportCheckpoint(session: TrainingSession): Uint8Array {
  return encodeOdtc(session.toCheckpoint(true)).checkpoint;
}

/** Both, after copying device state to the host. */
export async function exportAll(template: Uint8Array, session: TrainingSession, engine: WebDeviceEngine): Promise<{ model: Uint8Array; checkpoint: Uint8Array }> {
  await engine.syncToHost();
  return { model: exportModel(template, session), checkpoint: exportCheckpoint(session) };
}

/** Lets the browser save `bytes` as `name`. */
export function download(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
