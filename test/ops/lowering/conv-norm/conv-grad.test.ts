import test from 'ava';
import { GraphBuilder, type Shape } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { convGrad, randomTensor, rng, windowOutput, type Tensor } from '../../../reference/conv-norm.js';
import { checkCase, close, f32, f64, finiteDifferences, lossOf, lowerCase, nums, runModel, type NodeCase } from '../../../helpers/lowering.js';

const F = DataType.FLOAT;

interface ConvCase {
  title: string;
  N: number;
  C: number;
  M: number;
  S: number[];
  kernel: number[];
  group?: number;
  strides?: number[];
  dilations?: number[];
  pads?: number[];
  autoPad?: 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  /** Which of dX, dW, dB the node produces. */
  outputs?: [boolean, boolean, boolean];
  opset?: number;
  /** Declare the batch (or batch and spatial) dims symbolic. */
  symbolic?: 'batch' | 'spatial';
}

/** Explicit pads for auto_pad, written out independently of the rule (ONNX: output = ceil(in / stride)). */
function padsFor(c: ConvCase): number[] {
  const k = c.S.length;
  if (c.autoPad === 'VALID') return Array(2 * k).fill(0);
  if (!c.autoPad) return c.pads ?? Array(2 * k).fill(0);
  const s = c.strides ?? Array(k).fill(1);
  const d = c.dilations ?? Array(k).fill(1);
  const begin: number[] = [];
  const end: number[] = [];
  c.S.forEach((len, i) => {
    const out = Math.ceil(len / s[i]);
    const total = Math.max(0, (out - 1) * s[i] + (c.kernel[i] - 1) * d[i] + 1 - len);
    const lo = c.autoPad === 'SAME_LOWER' ? Math.ceil(total / 2) : Math.floor(total / 2);
    begin.push(lo);
    end.push(total - lo);
  });
  return [...begin, ...end];
}

function attrsOf(c: ConvCase) {
  return {
    kernel_shape: c.kernel, group: c.group ?? 1, strides: c.strides, dilations: c.dilations,
    ...(c.autoPad ? { auto_pad: c.autoPad } : { pads: c.pads }),
  };
}

const cases: ConvCase[] = [
  { title: '2-D 3×3 pad 1', N: 2, C: 3, M: 4, S: [5, 6], kernel: [3, 3], pads: [1, 1, 1, 1] },
  { title: '2-D group=2 stride 2 asymmetric pads (opset 12)', N: 2, C: 4, M: 6, S: [7, 6], kernel: [3, 2], group: 2, strides: [2, 2], pads: [0, 1, 1, 0], opset: 12 },
  { title: '2-D depthwise group=C dilations [2,1] strides [1,2]', N: 2, C: 3, M: 3, S: [7, 7], kernel: [3, 3], group: 3, strides: [1, 2], dilations: [2, 1], pads: [2, 1, 2, 1] },
  { title: '2-D 7×7 stride 2 pad 3 (ResNet conv0 attributes)', N: 1, C: 3, M: 2, S: [12, 11], kernel: [7, 7], strides: [2, 2], pads: [3, 3, 3, 3], opset: 12 },
  { title: '1-D stride 2 dilation 2 pads [1,2]', N: 2, C: 3, M: 2, S: [11], kernel: [4], strides: [2], dilations: [2], pads: [1, 2] },
  { title: '1-D group=3 stride 3 with remainder', N: 2, C: 6, M: 3, S: [10], kernel: [3], group: 3, strides: [3] },
  { title: '1-D kernel 16 (seizureguard classifier attributes)', N: 2, C: 4, M: 3, S: [20], kernel: [16] },
  { title: '2-D auto_pad SAME_UPPER stride 2', N: 1, C: 2, M: 3, S: [6, 5], kernel: [3, 3], strides: [2, 2], autoPad: 'SAME_UPPER' },
  { title: '1-D auto_pad SAME_LOWER kernel 4', N: 2, C: 2, M: 2, S: [8], kernel: [4], autoPad: 'SAME_LOWER' },
  { title: '2-D auto_pad VALID stride 3', N: 1, C: 2, M: 2, S: [8, 7], kernel: [2, 3], strides: [3, 3], autoPad: 'VALID' },
  { title: '3-D group=2 stride [2,1,1] pads', N: 1, C: 2, M: 4, S: [4, 5, 3], kernel: [2, 3, 2], group: 2, strides: [2, 1, 1], pads: [1, 0, 0, 0, 1, 1] },
  { title: 'dW and dB only (first layer: no dX)', N: 2, C: 2, M: 3, S: [6, 6], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], outputs: [false, true, true] },
  { title: 'dX only', N: 2, C: 2, M: 3, S: [6, 5], kernel: [3, 3], strides: [2, 1], outputs: [true, false, false], opset: 12 },
  { title: 'dX and dW, no bias', N: 2, C: 2, M: 2, S: [5, 5], kernel: [1, 1], strides: [2, 2], outputs: [true, true, false] },
  { title: 'symbolic batch (opset 12)', N: 3, C: 2, M: 4, S: [6, 7], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], symbolic: 'batch', opset: 12 },
  { title: 'symbolic batch and spatial dims, group=2 (dynamic Pad path)', N: 2, C: 4, M: 2, S: [7, 6], kernel: [3, 2], group: 2, strides: [2, 2], pads: [1, 0, 0, 1], symbolic: 'spatial', opset: 13 },
];

function nodeCase(c: ConvCase, ys: number[]): NodeCase {
  const wShape: Shape = [c.M, c.C / (c.group ?? 1), ...c.kernel];
  const sym = (prefix: string, dims: number[]): Shape => (c.symbolic === 'spatial' ? dims.map((_, i) => `${prefix}${i}`) : dims);
  const batch: number | string = c.symbolic ? 'N' : c.N;
  const [wx, ww, wb] = c.outputs ?? [true, true, true];
  return {
    opType: 'ConvGrad', domain: 'com.microsoft', opset: c.opset ?? 17,
    inputs: [
      { name: 'dY', dtype: F, shape: [batch, c.M, ...sym('o', ys)] },
      { name: 'X', dtype: F, shape: [batch, c.C, ...sym('s', c.S)] },
      { name: 'W', dtype: F, shape: wShape },
    ],
    outputs: [wx ? 'dX' : '', ww ? 'dW' : '', wb ? 'dB' : ''],
    attrs: attrsOf(c),
  };
}

/** L = Σ dY·Conv(X, W, B) on ORT (float32 Conv, double loss). */
function forwardLoss(c: ConvCase) {
  const b = GraphBuilder.create('conv_fwd', { opset: 17 });
  const x = b.input('X', F);
  const w = b.input('W', F);
  const bias = b.input('B', F);
  const dy = b.input('dY', DataType.DOUBLE);
  lossOf(b, b.op.Conv(x, w, bias, attrsOf(c)), dy);
  return b.toModel();
}

// Every explicit-pads case again with symbolic batch and spatial dims (the run-time Slice/Pad path for dX).
const dynamicCases: ConvCase[] = cases
  .filter((c) => !c.autoPad && !c.symbolic)
  .map((c) => ({ ...c, title: `${c.title}, symbolic spatial dims`, symbolic: 'spatial', opset: Math.max(c.opset ?? 17, 11) }));

for (const c of [...cases, ...dynamicCases]) {
  const withFd = !dynamicCases.includes(c);
  test(`ConvGrad › ${c.title} › matches direct-convolution reference${withFd ? ' and finite differences' : ''}`, async (t) => {
    const r = rng(c.title.length * 7919 + c.S.reduce((a, v) => a * 31 + v, 0));
    const pads = padsFor(c);
    const ys = windowOutput(c.S, { kernel: c.kernel, strides: c.strides, dilations: c.dilations, pads });
    const x = randomTensor([c.N, c.C, ...c.S], r);
    const w = randomTensor([c.M, c.C / (c.group ?? 1), ...c.kernel], r);
    const dy = randomTensor([c.N, c.M, ...ys], r);
    const lowered = lowerCase(nodeCase(c, ys));
    const out = await runModel(lowered.model, { dY: f32(dy), X: f32(x), W: f32(w) });
    const ref = convGrad(dy, x, w, c.group ?? 1, { kernel: c.kernel, strides: c.strides, dilations: c.dilations, pads });

    const fwd = forwardLoss(c);
    const bias: Tensor = { dims: [c.M], data: new Float64Array(c.M) };
    const feeds = { X: f32(x), W: f32(w), B: f32(bias.data), dY: f64(dy) };
    // Conv is linear in each of X, W, B: a unit step gives the exact derivative up to float32 rounding.
    const [wx, ww, wb] = c.outputs ?? [true, true, true];
    if (wx) {
      t.deepEqual(out.dX.dims, x.dims);
      close(t, nums(out.dX), ref.dX.data, { rtol: 1e-4, atol: 1e-5 }, 'dX vs reference');
      close(t, nums(out.dX), withFd ? await finiteDifferences(fwd, feeds, 'X', 1) : ref.dX.data, { rtol: 1e-3, atol: 2e-4 }, 'dX vs finite differences');
    } else t.false('dX' in out);
    if (ww) {
      t.deepEqual(out.dW.dims, w.dims);
      close(t, nums(out.dW), ref.dW.data, { rtol: 1e-4, atol: 1e-5 }, 'dW vs reference');
      close(t, nums(out.dW), withFd ? await finiteDifferences(fwd, feeds, 'W', 1) : ref.dW.data, { rtol: 1e-3, atol: 2e-4 }, 'dW vs finite differences');
    }
    if (wb) {
      t.deepEqual(out.dB.dims, [c.M]);
      close(t, nums(out.dB), ref.dB.data, { rtol: 1e-4, atol: 1e-5 }, 'dB vs reference');
      close(t, nums(out.dB), withFd ? await finiteDifferences(fwd, feeds, 'B', 1) : ref.dB.data, { rtol: 1e-3, atol: 2e-4 }, 'dB vs finite differences');
    }
    t.true(lowered.ops.every((op) => op !== 'ConvGrad'));
  });
}

test('ConvGrad › symbolic spatial dims › emits a dynamic Pad and no output_padding', (t) => {
  const c = cases.find((x) => x.symbolic === 'spatial')!;
  const { ops } = lowerCase(nodeCase(c, windowOutput(c.S, { kernel: c.kernel, strides: c.strides, pads: c.pads })));
  t.true(ops.includes('Pad'));
  t.true(ops.includes('ConvTranspose'));
});

test('ConvGrad › opset 12 model › emits ReduceSum with axes as an attribute', (t) => {
  const c = cases[1];
  const { model } = lowerCase(nodeCase(c, windowOutput(c.S, { kernel: c.kernel, strides: c.strides, pads: c.pads })));
  const rs = model.graph.nodes.find((n) => n.opType === 'ReduceSum')!;
  t.deepEqual(rs.attrInts('axes'), [0, 2, 3]);
  t.is(rs.inputs.length, 1);
});

const reasonCases: { title: string; c: NodeCase; expect: RegExp }[] = [
  {
    title: 'auto_pad SAME_UPPER with symbolic spatial dims',
    c: { opType: 'ConvGrad', domain: 'com.microsoft', opset: 17, inputs: [{ name: 'dY', dtype: F, shape: ['N', 2, 'h', 'w'] }, { name: 'X', dtype: F, shape: ['N', 2, 'H', 'W'] }, { name: 'W', dtype: F, shape: [2, 2, 3, 3] }], outputs: ['dX', 'dW', ''], attrs: { auto_pad: 'SAME_UPPER', kernel_shape: [3, 3] } },
    expect: /auto_pad=SAME_UPPER needs the static spatial dims of X/,
  },
  {
    title: 'no kernel_shape and W of unknown shape',
    c: { opType: 'ConvGrad', domain: 'com.microsoft', opset: 17, inputs: [{ name: 'dY', dtype: F, shape: [1, 2, 4, 4] }, { name: 'X', dtype: F, shape: [1, 2, 6, 6] }, { name: 'W', dtype: F }], outputs: ['dX', 'dW', ''] },
    expect: /kernel_shape/,
  },
  {
    title: 'grouped dW without any static channel dim',
    c: { opType: 'ConvGrad', domain: 'com.microsoft', opset: 17, inputs: [{ name: 'dY', dtype: F, shape: ['N', 'M', 4] }, { name: 'X', dtype: F, shape: ['N', 'C', 6] }, { name: 'W', dtype: F, shape: ['M', 'c', 3] }], outputs: ['', 'dW', ''], attrs: { kernel_shape: [3], group: 2 } },
    expect: /group=2.*static channel dim/,
  },
  {
    title: 'opset 10 model',
    c: { opType: 'ConvGrad', domain: 'com.microsoft', opset: 10, inputs: [{ name: 'dY', dtype: F, shape: [1, 2, 4] }, { name: 'X', dtype: F, shape: [1, 2, 6] }, { name: 'W', dtype: F, shape: [2, 2, 3] }], outputs: ['dX', 'dW', 'dB'] },
    expect: /opset >= 11 .* opset 10; the pass must upgrade/,
  },
  {
    title: 'dY shape inconsistent with the attributes',
    c: { opType: 'ConvGrad', domain: 'com.microsoft', opset: 17, inputs: [{ name: 'dY', dtype: F, shape: [1, 2, 5] }, { name: 'X', dtype: F, shape: [1, 2, 6] }, { name: 'W', dtype: F, shape: [2, 2, 3] }], outputs: ['dX', 'dW', 'dB'] },
    expect: /dY spatial dims \[5\] do not match/,
  },
];

for (const { title, c, expect } of reasonCases) {
  test(`ConvGrad › check with ${title} › returns the reason`, (t) => {
    const reason = checkCase(c);
    t.truthy(reason);
    t.regex(reason ?? '', expect);
  });
}
