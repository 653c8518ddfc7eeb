import test from 'ava';
import { GraphBuilder } from '../../../../src/builder/index.js';
import { lowerDropoutGrad } from '../../../../src/ops/lowering/elementwise/dropout-grad.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { dropoutGrad } from '../../../reference/elementwise.js';
import { randn, rng } from '../../../helpers/rng.js';
import { runModel } from '../../../helpers/ort.js';
import { bool, close, f32, f64, finiteDiff, lower, lowerAndRun, nums, size, type InputSpec, type Knowledge } from '../../../helpers/lowering.js';

const SEED = 7;

/** Standard training-mode Dropout with a fixed seed: a fresh session draws the same mask every time. */
const dropoutForward = (ratio: number | undefined) => (b: GraphBuilder, x: ReturnType<GraphBuilder['input']>) =>
  b.op.Dropout(x, ratio === undefined ? undefined : b.const(ratio, b.dtypeOf(x)!), b.const(true, DataType.BOOL), SEED, 1)[0];

async function dropoutMask(x: number[], dims: number[], ratio: number | undefined): Promise<boolean[]> {
  const b = GraphBuilder.create('fwd');
  const xv = b.input('x', DataType.DOUBLE, dims);
  const [, mask] = b.op.Dropout(xv, ratio === undefined ? undefined : b.const(ratio, DataType.DOUBLE), b.const(true, DataType.BOOL), SEED, 2);
  b.output(mask, 'mask', DataType.BOOL);
  return nums((await runModel(b.toModel(), { x: f64(x, dims) })).mask).map(Boolean);
}

const cases: { name: string; dims: number[]; ratio?: number; ratioAs: 'constant' | 'input' | 'input[1]' | 'absent'; ratioType?: 'float32' | 'float64'; knowledge?: Knowledge; trainingMode?: boolean }[] = [
  { name: 'constant ratio 0.3', dims: [4, 6], ratio: 0.3, ratioAs: 'constant' },
  { name: 'runtime float32 ratio 0.25 with a float64 dY', dims: [3, 5], ratio: 0.25, ratioAs: 'input', ratioType: 'float32' },
  { name: 'ratio absent (default 0.5), training_mode given', dims: [2, 2, 5], ratioAs: 'absent', trainingMode: true },
  { name: 'runtime [1]-shaped ratio 0.6, shapes unknown', dims: [20], ratio: 0.6, ratioAs: 'input[1]', knowledge: 'none' },
];

for (const c of cases) {
  test(`DropoutGrad › ${c.name} › scales kept gradients by 1/(1 − ratio) like finite differences of seeded Dropout`, async (t) => {
    const r = rng(size(c.dims) + 99);
    const x = Array.from(randn(r, size(c.dims)));
    const dY = Array.from(randn(r, size(c.dims)));
    const mask = await dropoutMask(x, c.dims, c.ratio);
    t.true(mask.some((m) => !m) && mask.some((m) => m), 'the mask drops some elements and keeps others');
    const fd = await finiteDiff({ dtype: 'float64', build: dropoutForward(c.ratio), freshSessions: true }, x, c.dims, dY);
    const ratio = c.ratio ?? 0.5;
    for (const dtype of ['float32', 'float64'] as const) {
      const mk = dtype === 'float32' ? f32 : f64;
      const inputs: (InputSpec | undefined)[] = [{ name: 'dy', tensor: mk(dY, c.dims) }, { name: 'mask', tensor: bool(mask, c.dims) }];
      const rt = c.ratioType === 'float32' ? f32 : mk;
      if (c.ratioAs === 'constant') inputs.push({ name: 'ratio', tensor: mk([ratio], []), constant: true });
      else if (c.ratioAs === 'input') inputs.push({ name: 'ratio', tensor: rt([ratio], []) });
      else if (c.ratioAs === 'input[1]') inputs.push({ name: 'ratio', tensor: rt([ratio], [1]) });
      else inputs.push(undefined);
      if (c.trainingMode) inputs.push({ name: 'training_mode', tensor: bool([1], []) });
      const out = await lowerAndRun(t, lowerDropoutGrad, { opType: 'DropoutGrad', inputs, outputs: [['dx', dtype === 'float32' ? DataType.FLOAT : DataType.DOUBLE]], knowledge: c.knowledge });
      t.deepEqual(out.dx.dims, c.dims);
      close(t, nums(out.dx), dropoutGrad(dY, mask, ratio), {}, `${dtype} vs reference`);
      close(t, nums(out.dx), fd, { rtol: 1e-6, atol: 1e-8 }, `${dtype} vs finite differences`);
    }
  });
}

test('DropoutGrad › constant ratio 0 › is dY itself, whatever the mask (as ORT\'s kernel)', async (t) => {
  const dY = [1, -2, 3, -4];
  const spec = { opType: 'DropoutGrad', inputs: [{ name: 'dy', tensor: f32(dY, [4]) }, { name: 'mask', tensor: bool([1, 0, 1, 0], [4]) }, { name: 'ratio', tensor: f32([0], []), constant: true }], outputs: [['dx', DataType.FLOAT]] as const };
  t.deepEqual(nums((await lowerAndRun(t, lowerDropoutGrad, spec)).dx), dY);
  t.deepEqual(lower(t, lowerDropoutGrad, spec).ops, ['Identity', 'Identity']);
});
