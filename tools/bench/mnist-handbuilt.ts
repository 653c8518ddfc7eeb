/**
 * The "no framework overhead" reference: a hand-written fused train step for the 784-500-10 MLP as one graph of
 * standard ops, written with src/builder — forward Gemm/Relu/Gemm/SoftmaxCrossEntropyLoss, a manual backward
 * (softmax - onehot, transposed Gemms for the weight gradients, ReduceSum for the biases, Where for ReLU) and a
 * minimal transformers AdamW (m, v, then p with the bias corrections folded into one scalar step size). It is
 * what a person who knows ORT would write by hand for this one model; onnx-train's generated graph should be
 * about as fast.
 *
 * Interface: inputs `input` [B,784], `labels` [B] int64, the 4 parameters (torch names), `<p>.m` / `<p>.v`,
 * `step` int64[1] (1-based), `lr` float[1]; outputs `loss`, `<p>.out`, `<p>.m.out`, `<p>.v.out`.
 */
import { GraphBuilder, type Value } from '../../src/builder/index.js';
import { DataType } from '../../src/onnx/dtypes.js';
import { encodeModel } from '../../src/onnx/io.js';
import { CLASSES, HIDDEN, PIXELS, type AdamHyper } from './mnist-setup.js';

export const HAND_PARAMS = [
  { name: 'fc1.weight', shape: [HIDDEN, PIXELS] },
  { name: 'fc1.bias', shape: [HIDDEN] },
  { name: 'fc2.weight', shape: [CLASSES, HIDDEN] },
  { name: 'fc2.bias', shape: [CLASSES] },
] as const;

export function buildHandTrainStep(batch: number, h: AdamHyper): { bytes: Uint8Array; nodes: number } {
  const b = GraphBuilder.create('mnist_mlp_train_step_by_hand', { opset: 17 });
  const F = DataType.FLOAT;
  const x = b.input('input', F, [batch, PIXELS]);
  const labels = b.input('labels', DataType.INT64, [batch]);
  const P: Record<string, Value> = {};
  const M: Record<string, Value> = {};
  const V: Record<string, Value> = {};
  for (const p of HAND_PARAMS) P[p.name] = b.input(p.name, F, p.shape);
  const step = b.input('step', DataType.INT64, [1]);
  const lr = b.input('lr', F, [1]);
  for (const p of HAND_PARAMS) {
    M[p.name] = b.input(`${p.name}.m`, F, p.shape);
    V[p.name] = b.input(`${p.name}.v`, F, p.shape);
  }

  // forward
  const h1 = b.op.Gemm(x, P['fc1.weight'], P['fc1.bias'], { transB: 1 });
  const a1 = b.op.Relu(h1);
  const logits = b.op.Gemm(a1, P['fc2.weight'], P['fc2.bias'], { transB: 1 });
  // Graph outputs are produced under their final names (b.output would otherwise add an Identity copy).
  const [loss, logp] = b.node('SoftmaxCrossEntropyLoss', [logits, labels], { attrs: { reduction: 'mean' }, outputs: ['loss', 'log_prob'], dtypes: [F, F] });

  // backward: d loss / d logits = (softmax - onehot) / B
  const onehot = b.op.OneHot(labels, b.i64([CLASSES]), b.const([0, 1], F));
  const dlogits = b.op.Mul(b.op.Sub(b.op.Exp(logp), onehot), 1 / batch);
  const grads: Record<string, Value> = {};
  grads['fc2.weight'] = b.op.Gemm(dlogits, a1, undefined, { transA: 1 });
  grads['fc2.bias'] = b.op.ReduceSum(dlogits, [0], 0);
  const da1 = b.op.MatMul(dlogits, P['fc2.weight']);
  const dh1 = b.op.Where(b.op.Greater(h1, 0), da1, 0);
  grads['fc1.weight'] = b.op.Gemm(dh1, x, undefined, { transA: 1 });
  grads['fc1.bias'] = b.op.ReduceSum(dh1, [0], 0);

  // AdamW: stepSize = lr * sqrt(1 - b2^t) / (1 - b1^t), one scalar for every parameter
  const t = b.op.Cast(step, F);
  const bc1 = b.op.Sub(1, b.op.Pow(b.f32(h.beta1), t));
  const bc2 = b.op.Sub(1, b.op.Pow(b.f32(h.beta2), t));
  const stepSize = b.op.Div(b.op.Mul(lr, b.op.Sqrt(bc2)), bc1);
  const decay = h.weightDecay ? b.op.Sub(1, b.op.Mul(lr, h.weightDecay)) : undefined;
  const named = (op: string, inputs: Value[], name: string) => b.node(op, inputs, { outputs: [name], dtypes: [F] })[0];
  b.output(loss);
  for (const p of HAND_PARAMS) {
    const g = grads[p.name];
    const m = named('Add', [b.op.Mul(M[p.name], h.beta1), b.op.Mul(g, 1 - h.beta1)], `${p.name}.m.out`);
    const v = named('Add', [b.op.Mul(V[p.name], h.beta2), b.op.Mul(b.op.Mul(g, g), 1 - h.beta2)], `${p.name}.v.out`);
    const upd = b.op.Div(b.op.Mul(m, stepSize), b.op.Add(b.op.Sqrt(v), h.eps));
    const np = decay ? named('Mul', [b.op.Sub(P[p.name], upd), decay], `${p.name}.out`) : named('Sub', [P[p.name], upd], `${p.name}.out`);
    b.output(np);
    b.output(m);
    b.output(v);
  }
  const proto = b.toModel('onnx-train-bench').toProto();
  return { bytes: encodeModel(proto), nodes: proto.graph?.node?.length ?? 0 };
}
