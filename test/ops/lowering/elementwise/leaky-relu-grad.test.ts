import test from 'ava';
import { float } from '../../../../src/builder/index.js';
import { lowerLeakyReluGrad } from '../../../../src/ops/lowering/elementwise/leaky-relu-grad.js';
import { leakyReluGrad } from '../../../reference/elementwise.js';
import { checkActivationGrad } from './activation-grad.js';
import type { Knowledge } from '../../../helpers/lowering.js';

const cases: [string, number[], number | undefined, Knowledge][] = [
  ['default alpha 0.01', [4, 5], undefined, 'static'],
  ['alpha 0.2, shapes unknown', [2, 3, 3], 0.2, 'none'],
  ['alpha 0.5, untyped', [8], 0.5, 'untyped'],
];

for (const [name, dims, alpha, knowledge] of cases) {
  test(`LeakyReluGrad › ${name} › passes dY where Y > 0, alpha·dY elsewhere, like finite differences of LeakyRelu`, async (t) => {
    // ONNX LeakyRelu's alpha is a float attribute: use its float32 value in the reference too.
    const a = Math.fround(alpha ?? 0.01);
    await checkActivationGrad(t, {
      rule: lowerLeakyReluGrad, opType: 'LeakyReluGrad', attrs: { alpha: alpha === undefined ? undefined : float(alpha) }, dims, knowledge, second: 'Y',
      forward: (b, x) => b.op.LeakyRelu(x, alpha ?? 0.01), forwardDtype: 'float64', ref: (dy, _x, y) => leakyReluGrad(dy, y, a),
    });
  });
}
