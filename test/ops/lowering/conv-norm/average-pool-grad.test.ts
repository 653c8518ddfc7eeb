import test from 'ava';
import { GraphBuilder } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { averagePoolGrad, randomTensor, rng, windowOutput } from '../../../reference/conv-norm.js';
import { checkCase, close, f32, f64, finiteDifferences, lossOf, lowerCase, nums, runModel, type NodeCase } from '../../../helpers/lowering.js';

const F = DataType.FLOAT;

interface AvgCase {
  title: string;
  N: number;
  C: number;
  S: number[];
  kernel: number[];
  strides?: number[];
  dilations?: number[];
  pads?: number[];
  ceil?: boolean;
  countIncludePad?: boolean;
  autoPad?: 'SAME_UPPER';
  opset: number;
  symbolicBatch?: boolean;
}

function attrs(c: AvgCase) {
  return {
    kernel_shape: c.kernel, strides: c.strides, dilations: c.dilations, ceil_mode: c.ceil ? 1 : undefined,
    count_include_pad: c.countIncludePad ? 1 : undefined, ...(c.autoPad ? { auto_pad: c.autoPad } : { pads: c.pads }),
  };
}

function padsFor(c: AvgCase): number[] | undefined {
  if (!c.autoPad) return c.pads;
  const s = c.strides ?? c.S.map(() => 1);
  const total = c.S.map((len, i) => Math.max(0, (Math.ceil(len / s[i]) - 1) * s[i] + c.kernel[i] - len));
  return [...total.map((t) => Math.floor(t / 2)), ...total.map((t) => t - Math.floor(t / 2))];
}

const base = { N: 2, C: 3 };
const cases: AvgCase[] = [
  { ...base, title: '2-D 3×3 stride 2 pad 1 count_include_pad=0', S: [7, 6], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], opset: 17 },
  { ...base, title: '2-D 3×3 stride 2 pad 1 count_include_pad=1 (opset 12)', S: [7, 6], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], countIncludePad: true, opset: 12 },
  { ...base, title: '2-D ceil_mode asymmetric pads count_include_pad=0', S: [8, 7], kernel: [3, 2], strides: [2, 2], pads: [0, 1, 1, 0], ceil: true, opset: 17 },
  { ...base, title: '2-D ceil_mode asymmetric pads count_include_pad=1', S: [8, 7], kernel: [3, 2], strides: [2, 2], pads: [0, 1, 1, 0], ceil: true, countIncludePad: true, opset: 17 },
  // Windows overhang the bottom edge while the left pad is 2: tells a divisor clipped at H + pad_bottom apart
  // from one clipped at H + pad_left.
  { ...base, title: '2-D ceil_mode overhang with pads [0,2,0,0] count_include_pad=1', S: [6, 6], kernel: [3, 3], strides: [2, 2], pads: [0, 2, 0, 0], ceil: true, countIncludePad: true, opset: 17 },
  { ...base, title: '2-D ceil_mode symmetric pads count_include_pad=1', S: [6, 6], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil: true, countIncludePad: true, opset: 17 },
  { ...base, title: '1-D kernel 3 stride 2 pads [1,1] ceil_mode count_include_pad=1', S: [6], kernel: [3], strides: [2], pads: [1, 1], ceil: true, countIncludePad: true, opset: 12, symbolicBatch: true },
  { ...base, title: '1-D kernel 4 stride 4 (non-overlapping)', S: [18], kernel: [4], strides: [4], opset: 13, symbolicBatch: true },
  { ...base, title: '2-D dilations [2,1] count_include_pad=0 (opset 19)', S: [8, 6], kernel: [2, 3], strides: [1, 2], dilations: [2, 1], pads: [1, 1, 0, 1], opset: 19 },
  { ...base, title: '2-D dilations [2,1] count_include_pad=1 (opset 19)', S: [8, 6], kernel: [2, 3], strides: [1, 2], dilations: [2, 1], pads: [1, 1, 0, 1], countIncludePad: true, opset: 19 },
  { N: 1, C: 2, title: '3-D 2×2×2 stride 2 pad 1', S: [3, 4, 5], kernel: [2, 2, 2], strides: [2, 2, 2], pads: [1, 1, 1, 1, 1, 1], opset: 17 },
  { ...base, title: '2-D auto_pad SAME_UPPER stride 2', S: [7, 6], kernel: [3, 3], strides: [2, 2], autoPad: 'SAME_UPPER', opset: 17 },
];

function nodeCase(c: AvgCase, ys: number[]): NodeCase {
  const n: number | string = c.symbolicBatch ? 'N' : c.N;
  return {
    opType: 'AveragePoolGrad', domain: '', opset: c.opset, outputs: ['dX'], attrs: attrs(c),
    inputs: [{ name: 'dY', dtype: F, shape: [n, c.C, ...ys] }],
    outputInfo: [{ name: 'dX', dtype: F, shape: [n, c.C, ...c.S] }],
  };
}

for (const c of cases) {
  test(`AveragePoolGrad › ${c.title} › matches window reference and finite differences`, async (t) => {
    const r = rng(c.title.length * 31337 + c.opset);
    const pads = padsFor(c);
    const p = { kernel: c.kernel, strides: c.strides, dilations: c.dilations, pads, countIncludePad: c.countIncludePad };
    const ys = windowOutput(c.S, p, c.ceil);
    const x = randomTensor([c.N, c.C, ...c.S], r);
    const dy = randomTensor([c.N, c.C, ...ys], r);
    const lowered = lowerCase(nodeCase(c, ys));
    const out = await runModel(lowered.model, { dY: f32(dy) });
    t.deepEqual(out.dX.dims, x.dims);
    close(t, nums(out.dX), averagePoolGrad(dy, x.dims, p).data, { rtol: 1e-5, atol: 1e-6 }, 'dX vs reference');

    // The forward AveragePool (float32 only in ORT) is linear in X: unit steps give exact differences.
    const b = GraphBuilder.create('avgpool_fwd', { opset: Math.max(c.opset, 17) });
    const y = b.op.AveragePool(b.input('X', F), { ...attrs(c), kernel_shape: c.kernel });
    lossOf(b, y, b.input('dY', DataType.DOUBLE));
    const fwdModel = b.toModel();
    const fwdOut = await runModel(fwdModel, { X: f32(x), dY: f64(dy) });
    t.true(Number.isFinite(nums(fwdOut.loss)[0]));
    const fd = await finiteDifferences(fwdModel, { X: f32(x), dY: f64(dy) }, 'X', 1);
    close(t, nums(out.dX), fd, { rtol: 1e-4, atol: 1e-5 }, 'dX vs finite differences');
  });
}

const reasonCases: { title: string; c: NodeCase; expect: RegExp }[] = [
  {
    title: 'no static shape for dX',
    c: { opType: 'AveragePoolGrad', domain: '', opset: 17, inputs: [{ name: 'dY', dtype: F, shape: ['N', 2, 3, 3] }], outputs: ['dX'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
    expect: /static spatial dims of the output "dX"/,
  },
  {
    title: 'dY inconsistent with dX and the attributes',
    c: { opType: 'AveragePoolGrad', domain: '', opset: 17, inputs: [{ name: 'dY', dtype: F, shape: ['N', 2, 4, 4] }], outputs: ['dX'], outputInfo: [{ name: 'dX', dtype: F, shape: ['N', 2, 6, 6] }], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
    expect: /do not match/,
  },
  {
    title: 'missing kernel_shape',
    c: { opType: 'AveragePoolGrad', domain: '', opset: 17, inputs: [{ name: 'dY', dtype: F, shape: ['N', 2, 3, 3] }], outputs: ['dX'], outputInfo: [{ name: 'dX', dtype: F, shape: ['N', 2, 6, 6] }] },
    expect: /kernel_shape/,
  },
];

for (const { title, c, expect } of reasonCases) {
  test(`AveragePoolGrad › check with ${title} › returns the reason`, (t) => {
    t.regex(checkCase(c) ?? '', expect);
  });
}
