/**
 * The conv/pool/norm rules inside the whole pass on the real CNN artifacts: lowerTrainingOps (RULES, all
 * tables) turns the training model into standard ONNX at the model's own opset; stock onnxruntime-node runs it;
 * the gradient it accumulates agrees with central finite differences of the same graph's loss (whose forward
 * part is standard ops plus the lowered BatchNormInternal). For ResNet-50 the only trainable tensor is conv0's
 * weight, so its gradient flows back through every ConvGrad, BatchNormalizationGrad, ReluGrad and the
 * MaxPoolGrad of the network; for the seizure CNN through both 1-D ConvGrads.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModel } from '../../../../src/onnx/io.js';
import { Model } from '../../../../src/ir/graph.js';
import { lowerTrainingOps } from '../../../../src/transforms/lower.js';
import { encodeModel } from '../../../../src/onnx/io.js';
import { randomTensor, rng } from '../../../reference/conv-norm.js';
import { shapeInfo } from '../../../helpers/lowering.js';
import { ort, type Feeds } from '../../../helpers/ort.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifact = (set: string) => path.resolve(here, '../../../../../shared/artifacts', set, 'training_model.onnx');

interface E2ECase {
  set: string;
  batch: number;
  labels: bigint[];
  /** Trainable parameters (their `<p>_grad.accumulation.buffer` inputs exist). */
  trainable: string[];
  opset: number;
}

const cases: E2ECase[] = [
  { set: 'seizureguard-cnn1d', batch: 3, labels: [0n, 1n, 1n], trainable: ['classifier.0.weight', 'classifier.0.bias', 'classifier.1.weight', 'classifier.1.bias'], opset: 17 },
  { set: 'resnet50-conv0', batch: 2, labels: [3n, 917n], trainable: ['resnetv17_conv0_weight'], opset: 12 },
];

for (const c of cases) {
  const t_ = fs.existsSync(artifact(c.set)) ? test : test.skip;
  t_(`conv-norm rules › ${c.set} lowered by lowerTrainingOps › runs on stock ORT and its gradient matches finite differences of its loss`, async (t) => {
    const { model, report } = lowerTrainingOps(Model.fromProto(readModel(artifact(c.set))));
    t.is(report.opset.to, c.opset, 'lowered at the model\'s own opset');
    const g = model.graph;
    const shapes = shapeInfo(g);
    const r = rng(c.set.length);
    const feeds: Feeds = {};
    for (const i of g.inputs) {
      const name = i.name!;
      const dims = shapes.shape(name)!.map((d) => (typeof d === 'number' ? d : c.batch));
      if (name === 'labels') feeds[name] = new ort.Tensor('int64', BigInt64Array.from(c.labels), dims);
      else if (name === 'lazy_reset_grad') feeds[name] = new ort.Tensor('bool', Uint8Array.from([1]), [1]);
      else if (name.endsWith('_grad.accumulation.buffer')) feeds[name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, d) => a * d, 1)), dims);
      else {
        const [lo, hi] = name.includes('running_var') ? [0.5, 1.5] : g.inputs.indexOf(i) === 0 ? [-1, 1] : [-0.1, 0.1];
        feeds[name] = new ort.Tensor('float32', Float32Array.from(randomTensor(dims, r, lo, hi).data), dims);
      }
    }
    const session = await ort.InferenceSession.create(encodeModel(model.toProto()), { executionProviders: ['cpu'] });
    try {
      const lossName = g.outputs[0].name!;
      const base = await session.run(feeds);
      const grads = c.trainable.map((p) => base[`${p}_grad.accumulation.buffer.out`].data as Float32Array);
      const norm = Math.sqrt(grads.reduce((a, gr) => a + gr.reduce((s, v) => s + v * v, 0), 0));
      t.true(Number.isFinite(norm) && norm > 0, `gradient norm ${norm}`);

      // Loss along a direction v over all trainable tensors: (L(θ + εv) − L(θ − εv)) / 2ε ≈ <∇L, v>.
      const along = async (dir: Float64Array[], eps: number) => {
        const at = async (sign: number) => {
          const f = { ...feeds };
          c.trainable.forEach((p, k) => {
            const x = feeds[p].data as Float32Array;
            f[p] = new ort.Tensor('float32', Float32Array.from(x, (v, j) => v + sign * eps * dir[k][j]), feeds[p].dims);
          });
          return Number((await session.run(f, [lossName]))[lossName].data[0]);
        };
        return ((await at(1)) - (await at(-1))) / (2 * eps);
      };

      // The random-weight networks are strongly curved (ReLU kinks, batch statistics): small steps, and float32
      // losses, hence percent-level tolerances. Converged slopes were checked down to ε = 3e-5.
      // 1) Along the gradient itself the slope must be |∇L|.
      const unit = grads.map((gr) => Float64Array.from(gr, (v) => v / norm));
      const slope = await along(unit, 3e-5);
      t.log(`${c.set}: |grad| = ${norm.toPrecision(6)}, finite-difference slope along it = ${slope.toPrecision(6)}`);
      t.true(Math.abs(slope - norm) <= 1e-2 * norm, `slope ${slope} vs |grad| ${norm}`);
      // 2) The three largest gradient coordinates, one at a time.
      const flat = grads.flatMap((gr, k) => Array.from(gr, (v, j) => ({ k, j, v })));
      for (const { k, j, v } of flat.sort((a, b) => Math.abs(b.v) - Math.abs(a.v)).slice(0, 3)) {
        const dir = grads.map((gr) => new Float64Array(gr.length));
        dir[k][j] = 1;
        const fd = await along(dir, 1e-4);
        t.log(`${c.set}: ${c.trainable[k]}[${j}] gradient ${v.toPrecision(6)}, finite differences ${fd.toPrecision(6)}`);
        t.true(Math.abs(fd - v) <= 5e-2 * Math.abs(v), `${c.trainable[k]}[${j}]: ${fd} vs ${v}`);
      }
    } finally {
      await session.release();
    }
  });
}
