/**
 * `onnx-train lower <model.onnx> --out <out.onnx>`: lowers the ONNX Runtime training ops of one graph to standard
 * ONNX (src/transforms/lower.ts), checks that onnxruntime-node loads the result, and writes it atomically.
 */
import * as path from 'node:path';
import { OnnxTrainError } from '../../errors.js';
import { Model } from '../../ir/graph.js';
import { encodeModel, readModel, writeModel } from '../../onnx/io.js';
import { NodeEngine } from '../../runtime/adapters/node.js';
import { lowerTrainingOps, type LowerResult } from '../../transforms/lower.js';
import { defineCommand } from '../command.js';

export interface LowerFileOptions {
  /** 'buffers' (default) or 'none' (gradients as outputs, no accumulation state). */
  readonly accumulation?: 'buffers' | 'none';
  /** Keep ORT's bool `*_grad.accumulation.out` flags (default true, as lowerTrainingOps). */
  readonly flags?: boolean;
  /** `domain::Op` to leave in place. */
  readonly keep?: readonly string[];
  readonly skipLoadCheck?: boolean;
}

/** Lowers `input` into `out` (nothing is written when lowering or the load check fails). */
export async function lowerFile(input: string, out: string, opts: LowerFileOptions = {}): Promise<LowerResult> {
  if (path.resolve(input) === path.resolve(out)) {
    throw new OnnxTrainError('BAD_ARGUMENT', 'the output file is the input file', 'write the lowered model to a new file', out);
  }
  const model = Model.fromProto(readModel(input));
  const r = lowerTrainingOps(model, { accumulation: opts.accumulation, flags: opts.flags, keep: opts.keep, where: input });
  const proto = r.model.toProto();
  if (!opts.skipLoadCheck && !(opts.keep?.length)) {
    const s = await new NodeEngine('cpu').load(encodeModel(proto));
    await s.release();
  }
  writeModel(out, proto);
  return r;
}

export default defineCommand({
  name: 'lower',
  summary: 'lower the onnxruntime-training ops of one ONNX graph to standard ONNX',
  positionals: { usage: '<model.onnx>', min: 1, max: 1 },
  flags: {
    out: { type: 'string', description: 'file to write the lowered model to', placeholder: 'out.onnx' },
    accumulation: { type: 'string', description: 'gradient accumulation: explicit buffers, or none (gradients as outputs)', choices: ['buffers', 'none'], default: 'buffers' },
    'no-flags': { type: 'boolean', description: 'drop ORT\'s bool *_grad.accumulation.out outputs' },
    keep: { type: 'string[]', description: 'leave this domain::Op in place (the target runtime has it; skips the load check)', placeholder: 'domain::Op' },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
  details: [
    'Lowered interface (default): the original inputs and outputs, plus one "<buffer>.out" output per gradient',
    'accumulation buffer (= lazy_reset_grad ? grad : buffer + grad), fed back as the buffer on the next step.',
    'With --accumulation none the buffers and lazy_reset_grad go and each gradient "<param>_grad" is an output.',
  ].join('\n'),
  async run(args, io) {
    const out = args.flags.out;
    if (!out) throw new OnnxTrainError('BAD_ARGUMENT', 'missing --out <out.onnx>', 'run "onnx-train lower --help" for usage');
    const r = await lowerFile(args.positionals[0]!, out, {
      accumulation: args.flags.accumulation as 'buffers' | 'none',
      flags: !args.flags['no-flags'],
      keep: args.flags.keep,
    });
    if (args.flags.json) {
      io.out(`${JSON.stringify({ out: path.resolve(out), ...r.report })}\n`);
    } else {
      const ops = Object.entries(r.report.lowered).map(([k, v]) => `${k} ×${v}`).join(', ') || 'nothing';
      io.out(`wrote ${out}: lowered ${ops}; opset ${r.report.opset.from} -> ${r.report.opset.to}` +
        `${r.report.stateOutputs.length ? `; ${r.report.stateOutputs.length} state output(s) (${r.report.stateOutputs.map((s) => s.output).slice(0, 3).join(', ')}${r.report.stateOutputs.length > 3 ? ', …' : ''})` : ''}\n`);
    }
    return 0;
  },
});
