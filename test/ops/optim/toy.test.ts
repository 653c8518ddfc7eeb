/**
 * transformers' own optimizer tests (tests/optimization/test_optimization.py, OptimizationTest): a 3-vector
 * trained with MSE towards [0.4, 0.2, −0.5] from [0.1, −0.2, −0.1] must get within 1e-2. The loss and gradient
 * are computed in JS (∂/∂w mean((w − y)²) = 2(w − y)/3) and fed to the optimizer graph each step.
 */
import test from 'ava';
import type { OptimizerSpec } from '../../../src/ops/optim/spec.js';
import { Runner } from './harness.js';

const TARGET = [0.4, 0.2, -0.5];
const W0 = Float32Array.from([0.1, -0.2, -0.1]);

async function train(spec: OptimizerSpec, steps: number, lr?: number): Promise<Float32Array> {
  const run = await Runner.create(spec, [{ name: 'w', shape: [3] }], { w: W0 }, lr === undefined ? {} : { lr });
  try {
    for (let k = 0; k < steps; k++) {
      const w = run.params.get('w')!;
      const grad = Float32Array.from(w, (x, i) => (2 * (x - TARGET[i])) / 3);
      await run.step({ grads: { w: grad } });
    }
    return run.params.get('w')!;
  } finally {
    await run.release();
  }
}

test('optim toy › AdamW lr 0.2, wd 0, 100 steps (test_adam_w) › reaches the target within 1e-2', async (t) => {
  const w = await train({ type: 'adamw', lr: 0.2, weight_decay: 0 }, 100, 0.2);
  w.forEach((x, i) => t.true(Math.abs(x - TARGET[i]) <= 1e-2, `w[${i}] = ${x}`));
});

test('optim toy › Adafactor lr 1e-2, no relative step / scaling, 1000 steps (test_adafactor) › reaches the target within 1e-2', async (t) => {
  const spec: OptimizerSpec = {
    type: 'adafactor', lr: 1e-2, eps: [1e-30, 1e-3], clip_threshold: 1.0, decay_rate: -0.8, beta1: null, weight_decay: 0.0,
    relative_step: false, scale_parameter: false, warmup_init: false,
  };
  const w = await train(spec, 1000, 1e-2);
  w.forEach((x, i) => t.true(Math.abs(x - TARGET[i]) <= 1e-2, `w[${i}] = ${x}`));
});

test('optim toy › torch AdamW (amsgrad) and SGD momentum, 200 steps › reach the target within 1e-2', async (t) => {
  for (const [spec, lr] of [[{ type: 'adamw_torch', amsgrad: true, weight_decay: 0 }, 0.1], [{ type: 'sgd', momentum: 0.9 }, 0.1]] as const) {
    const w = await train(spec as OptimizerSpec, 200, lr);
    w.forEach((x, i) => t.true(Math.abs(x - TARGET[i]) <= 1e-2, `${spec.type} w[${i}] = ${x}`));
  }
});
