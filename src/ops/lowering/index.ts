/**
 * The exhaustive table of ONNX Runtime training-only ops this project lowers to standard ONNX, keyed by
 * `domain::OpType` (default domain written `ai.onnx`, e.g. 'ai.onnx::MaxPoolGrad'), plus the ops it refuses
 * on purpose (with the reason users see). One rule per file in core/, conv-norm/ and elementwise/.
 */
import type { LoweringRule } from './rule.js';
import { CORE_RULES } from './core/index.js';
import { CONV_NORM_RULES } from './conv-norm/index.js';
import { ELEMENTWISE_RULES } from './elementwise/index.js';

/** Joins rule tables; a key defined twice or a key that disagrees with its rule's `op` is a bug. */
export function combineRules(...tables: Readonly<Record<string, LoweringRule>>[]): Readonly<Record<string, LoweringRule>> {
  const out: Record<string, LoweringRule> = {};
  for (const t of tables) {
    for (const [k, r] of Object.entries(t)) {
      if (out[k]) throw new Error(`bug: lowering rule ${k} is defined twice`);
      if (r.op !== k) throw new Error(`bug: lowering rule table key ${k} holds the rule for ${r.op}`);
      out[k] = r;
    }
  }
  return Object.freeze(out);
}

/** Every op the lowering pass can rewrite. */
export const RULES: Readonly<Record<string, LoweringRule>> = combineRules(CORE_RULES, CONV_NORM_RULES, ELEMENTWISE_RULES);

const RNN = 'ORT\'s recurrent training ops stash every gate activation and need a reverse-time loop for the gradient (a Loop/Scan lowering is not implemented); export the model with the RNN unrolled into MatMul/Sigmoid/Tanh before generate_artifacts, or keep it frozen in a separate inference model';
const PYTHON = 'runs Python code (a torch.autograd.Function through ORTModule) that cannot be expressed in ONNX; replace the custom function by ONNX-exportable PyTorch ops';
const ATEN = 'calls a PyTorch ATen kernel, which exists only in ORT builds linked with PyTorch; export the model so that this op becomes standard ONNX (e.g. a newer opset or torch.onnx fallback off)';

/** Ops refused on purpose, with the reason (shown in the UNLOWERED_OP error instead of "no rule"). */
export const REFUSED: Readonly<Record<string, string>> = Object.freeze({
  'com.microsoft::LSTMTraining': RNN,
  'com.microsoft::LSTMGrad': RNN,
  'com.microsoft::GRUTraining': RNN,
  'com.microsoft::GRUGrad': RNN,
  'com.microsoft::PythonOp': PYTHON,
  'com.microsoft::PythonOpGrad': PYTHON,
  'com.microsoft::ATen': ATEN,
  'com.microsoft::ATenOp': ATEN,
  'org.pytorch.aten::ATen': ATEN,
});

export { CORE_RULES, CONV_NORM_RULES, ELEMENTWISE_RULES };
export type { LoweringRule, LoweringContext, ShapeInfo } from './rule.js';
