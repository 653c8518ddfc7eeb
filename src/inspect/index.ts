/**
 * Read-only inspection of ONNX models and ORT training artifact sets (what `onnx-train inspect` prints).
 */
import * as fs from 'node:fs';
import { OnnxTrainError } from '../errors.js';
import { inspectArtifacts, type ArtifactsReport } from './artifacts.js';
import { inspectModelFile, type ModelReport } from './model.js';

export * from './model.js';
export * from './artifacts.js';
export { onnxOp, onnxOpNames, whyNotStandard, ortDefaultDomainNote, ONNX_TABLE_OPSET, type OnnxOpInfo } from './onnx-ops.js';

export type InspectResult =
  | { readonly type: 'model'; readonly report: ModelReport }
  | { readonly type: 'artifacts'; readonly report: ArtifactsReport };

/**
 * Inspects a .onnx file or an artifact folder. Every failure is an OnnxTrainError naming the path: 'IO' (missing,
 * unreadable), 'BAD_MODEL' (not a valid ONNX model), 'BAD_CHECKPOINT', 'BAD_ARGUMENT' (a folder without artifacts).
 */
export async function inspectPath(p: string): Promise<InspectResult> {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    throw new OnnxTrainError('IO', `cannot open: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}`,
      'check the path', p);
  }
  if (st.isDirectory()) return { type: 'artifacts', report: await inspectArtifacts(p) };
  return { type: 'model', report: inspectModelFile(p) };
}
