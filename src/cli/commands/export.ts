/**
 * `onnx-train export <artifacts-or-augmented folder> [--checkpoint <ckpt>] --out <model.onnx>`: an inference
 * model with the (trained) weights of a checkpoint baked in, from the folder's eval model. See
 * src/transforms/export.ts for which outputs are kept.
 */
import * as path from 'node:path';
import { OnnxTrainError } from '../../errors.js';
import { readCheckpoint } from '../../checkpoint/io.js';
import { encodeModel, writeModel } from '../../onnx/io.js';
import { NodeEngine } from '../../runtime/adapters/node.js';
import { classifyTrainingModel, readArtifacts } from '../../transforms/artifacts.js';
import { exportInferencePass, type ExportResult } from '../../transforms/export.js';
import { readModel } from '../../onnx/io.js';
import { Model } from '../../ir/graph.js';
import { defineCommand } from '../command.js';

export interface ExportFolderOptions {
  /** Checkpoint to take the weights from (default: the folder's own checkpoint). */
  readonly checkpoint?: string;
  /** Output names to keep (default: see exportInferencePass). */
  readonly outputs?: readonly string[];
  /** Skip the onnxruntime-node load check (default false). */
  readonly skipLoadCheck?: boolean;
}

/**
 * Exports the eval model of an ORT artifacts folder or an augmented folder with a checkpoint's weights baked
 * in, checks that onnxruntime-node loads the result, and writes it atomically to `out`.
 */
export async function exportFolder(folder: string, out: string, opts: ExportFolderOptions = {}): Promise<ExportResult> {
  const a = readArtifacts(folder);
  const ckptPath = opts.checkpoint ?? a.paths.checkpoint;
  if (!ckptPath) {
    throw new OnnxTrainError('BAD_ARGUMENT', 'the folder has no checkpoint', 'pass the trained weights with --checkpoint <file>', a.folder);
  }
  const ckpt = await readCheckpoint(ckptPath);
  if (ckpt.nominal) {
    throw new OnnxTrainError('BAD_CHECKPOINT', 'the checkpoint is nominal (shapes only, no values)', 'pass a checkpoint with parameter values', ckptPath);
  }
  const tensors = [...ckpt.trainable, ...ckpt.frozen];
  let result: ExportResult;
  if (a.kind === 'augmented') {
    const evalModel = Model.fromProto(readModel(a.paths.eval));
    result = exportInferencePass(evalModel, tensors, {
      lossOutput: a.manifest.lossOutput,
      outputs: opts.outputs,
      parameters: a.manifest.parameters.map((p) => p.name),
    }, a.paths.eval);
  } else {
    if (!a.eval) throw new OnnxTrainError('IO', 'the folder has no eval_model.onnx', 'export needs the eval model written by generate_artifacts', a.folder);
    const iface = classifyTrainingModel(a.training, new Set(tensors.map((t) => t.name)), a.paths.training);
    result = exportInferencePass(a.eval, tensors, {
      lossOutput: iface.lossOutput,
      outputs: opts.outputs,
      parameters: iface.parameters.map((p) => p.name),
    }, a.paths.eval);
  }
  const bytes = encodeModel(result.model.toProto());
  if (!opts.skipLoadCheck) {
    const s = await new NodeEngine('cpu').load(bytes);
    await s.release();
  }
  writeModel(path.resolve(out), result.model.toProto());
  return result;
}

export default defineCommand({
  name: 'export',
  summary: 'bake a checkpoint\'s weights into the eval model: an inference-only ONNX model',
  positionals: { usage: '<artifacts or augmented folder>', min: 1, max: 1 },
  flags: {
    out: { type: 'string', description: 'file to write the inference model to', placeholder: 'model.onnx' },
    checkpoint: { type: 'string', description: 'checkpoint with the weights (default: the folder\'s checkpoint)', placeholder: 'ckpt' },
    fetch: { type: 'string[]', description: 'output to keep (default: every eval output but the loss; the loss when there is no other)', placeholder: 'name' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  details: [
    'The loss branch is removed when the eval model has another output (e.g. logits) — and with it the label input.',
    'When the loss is the only output it is kept (the model then still needs labels); use --fetch with an internal',
    'value name (one that has value_info) to export something else.',
  ].join('\n'),
  async run(args, io) {
    const out = args.flags.out;
    if (!out) throw new OnnxTrainError('BAD_ARGUMENT', 'missing --out <model.onnx>', 'run "onnx-train export --help" for usage');
    const r = await exportFolder(args.positionals[0]!, out, { checkpoint: args.flags.checkpoint, outputs: args.flags.fetch.length ? args.flags.fetch : undefined });
    if (args.flags.json) {
      io.out(`${JSON.stringify({ out: path.resolve(out), inputs: r.inputs, outputs: r.outputs, keptLoss: r.keptLoss, baked: r.baked.length, droppedInputs: r.droppedInputs })}\n`);
    } else {
      io.out(`wrote ${out}: inputs ${r.inputs.join(', ')} -> outputs ${r.outputs.join(', ')} (${r.baked.length} parameters baked in${r.droppedInputs.length ? `; dropped ${r.droppedInputs.join(', ')}` : ''})\n`);
      if (r.keptLoss) io.out('note: the eval model has no output besides the loss, so the loss was kept (it needs the labels); use --fetch to pick another output\n');
    }
    return 0;
  },
});
