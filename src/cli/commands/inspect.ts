import { inspectPath } from '../../inspect/index.js';
import { defineCommand } from '../command.js';
import { renderInspect } from '../render/inspect.js';

/** Format tag of the --json output; bumped when its shape changes incompatibly. */
export const INSPECT_JSON_FORMAT = 'onnx-train/inspect@1';

export default defineCommand({
  name: 'inspect',
  summary: 'show what an ONNX model or an ORT training artifact folder holds, and which ops need lowering',
  positionals: { usage: '<model.onnx | artifacts-folder>', min: 1, max: 1 },
  flags: {
    json: { type: 'boolean', description: `print one JSON object ("format": "${INSPECT_JSON_FORMAT}") instead of text` },
  },
  details: `A model: IR version, opsets, producer, inputs and outputs with their types and (symbolic) shapes, parameter
counts, the op histogram by domain, and the ops a stock ONNX Runtime cannot run (non-standard domains such as
com.microsoft, names that are no ONNX op such as MaxPoolGrad, and ops used below the opset that introduced them).
An artifacts folder (training_model.onnx, eval_model.onnx, optimizer_model.onnx, checkpoint): each model, plus the
checkpoint's format, version and tensors, checked against the training model's parameter inputs.`,
  async run(args, io) {
    const result = await inspectPath(args.positionals[0]!);
    io.out(args.flags.json ? `${JSON.stringify({ format: INSPECT_JSON_FORMAT, ...result }, null, 2)}\n` : renderInspect(result));
    return 0;
  },
});
