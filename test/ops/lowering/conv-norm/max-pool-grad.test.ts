import test from 'ava';
import { GraphBuilder, type Shape } from '../../../../src/builder/index.js';
import { DataType } from '../../../../src/onnx/dtypes.js';
import { maxPool, maxPoolGrad, randomTensor, rng, windowOutput } from '../../../reference/conv-norm.js';
import { checkCase, close, f32, f64, finiteDifferences, lossOf, lowerCase, nums, runModel, type NodeCase } from '../../../helpers/lowering.js';
import { ort, type Feeds } from '../../../helpers/ort.js';

const F = DataType.FLOAT;
const I64 = DataType.INT64;

interface PoolCase {
  title: string;
  N: number;
  C: number;
  S: number[];
  kernel: number[];
  strides?: number[];
  dilations?: number[];
  pads?: number[];
  ceil?: boolean;
  storageOrder?: number;
  autoPad?: 'SAME_UPPER';
  opset: number;
  /** Where dX's shape comes from: the forward MaxPool in the graph, or the output's value_info. */
  source: 'producer' | 'value_info';
  symbolicBatch?: boolean;
  /** The lowering expected: 'scatter-add' (>= 16), 'scatter' (disjoint windows) or 'window' (ConvTranspose). */
  expect: 'ScatterElements' | 'ConvTranspose';
}

function poolAttrs(c: PoolCase) {
  return {
    kernel_shape: c.kernel, strides: c.strides, dilations: c.dilations, ceil_mode: c.ceil ? 1 : undefined,
    storage_order: c.storageOrder, ...(c.autoPad ? { auto_pad: c.autoPad } : { pads: c.pads }),
  };
}

/** SAME_UPPER pads written out for the reference. */
function padsFor(c: PoolCase): number[] | undefined {
  if (!c.autoPad) return c.pads;
  const s = c.strides ?? c.S.map(() => 1);
  const total = c.S.map((len, i) => Math.max(0, (Math.ceil(len / s[i]) - 1) * s[i] + c.kernel[i] - len));
  return [...total.map((t) => Math.floor(t / 2)), ...total.map((t) => t - Math.floor(t / 2))];
}

const base = { N: 2, C: 3 };
const cases: PoolCase[] = [
  { ...base, title: '2-D 3×3 stride 2 pad 1 (ResNet pool0), opset 17', S: [7, 8], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], opset: 17, source: 'producer', expect: 'ScatterElements' },
  { ...base, title: '2-D 3×3 stride 2 pad 1 (ResNet pool0), opset 12', S: [7, 8], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], opset: 12, source: 'producer', expect: 'ConvTranspose' },
  { ...base, title: '2-D 3×3 stride 2 pad 1, opset 12, shape from value_info, symbolic batch', S: [7, 8], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], opset: 12, source: 'value_info', symbolicBatch: true, expect: 'ConvTranspose' },
  { ...base, title: '1-D kernel 4 stride 4 (seizureguard pools), opset 12', S: [18], kernel: [4], strides: [4], opset: 12, source: 'producer', symbolicBatch: true, expect: 'ScatterElements' },
  { ...base, title: '1-D kernel 4 stride 4, opset 17, shape from value_info', S: [18], kernel: [4], strides: [4], opset: 17, source: 'value_info', expect: 'ScatterElements' },
  { ...base, title: '2-D storage_order=1 overlapping, opset 17', S: [5, 6], kernel: [3, 2], strides: [1, 2], pads: [1, 0, 1, 1], storageOrder: 1, opset: 17, source: 'producer', expect: 'ScatterElements' },
  { ...base, title: '2-D storage_order=1 overlapping, opset 12', S: [5, 6], kernel: [3, 2], strides: [1, 2], pads: [1, 0, 1, 1], storageOrder: 1, opset: 12, source: 'producer', expect: 'ConvTranspose' },
  { ...base, title: '2-D storage_order=1 disjoint windows, opset 13', S: [6, 4], kernel: [2, 2], strides: [2, 2], storageOrder: 1, opset: 13, source: 'value_info', expect: 'ScatterElements' },
  { ...base, title: '2-D dilations 2 ceil_mode, opset 17', S: [8, 7], kernel: [2, 3], strides: [2, 1], dilations: [2, 2], pads: [0, 1, 1, 0], ceil: true, opset: 17, source: 'producer', expect: 'ScatterElements' },
  { ...base, title: '2-D dilations 2 ceil_mode, opset 12', S: [8, 7], kernel: [2, 3], strides: [2, 1], dilations: [2, 2], pads: [0, 1, 1, 0], ceil: true, opset: 12, source: 'value_info', expect: 'ConvTranspose' },
  { N: 1, C: 2, title: '3-D 2×2×2 stride 1, opset 12', S: [3, 4, 3], kernel: [2, 2, 2], opset: 12, source: 'producer', expect: 'ConvTranspose' },
  { N: 1, C: 2, title: '3-D 2×2×2 stride 1 storage_order=1, opset 18', S: [3, 4, 3], kernel: [2, 2, 2], storageOrder: 1, opset: 18, source: 'producer', expect: 'ScatterElements' },
  { ...base, title: '2-D auto_pad SAME_UPPER stride 2, opset 17', S: [7, 6], kernel: [3, 3], strides: [2, 2], autoPad: 'SAME_UPPER', opset: 17, source: 'producer', expect: 'ScatterElements' },
];

function nodeCase(c: PoolCase, ys: number[]): NodeCase {
  const n: number | string = c.symbolicBatch ? 'N' : c.N;
  const xShape: Shape = [n, c.C, ...c.S];
  const yShape: Shape = [n, c.C, ...ys];
  const common = { opType: 'MaxPoolGrad', domain: '', opset: c.opset, outputs: ['dX'], attrs: poolAttrs(c) };
  if (c.source === 'producer') {
    return {
      ...common,
      inputs: [{ name: 'X', dtype: F, shape: xShape }, { name: 'dY', dtype: F, shape: yShape }],
      nodeInputs: ['dY', 'Indices'],
      prelude: (b) => { b.node('MaxPool', ['X'], { attrs: poolAttrs(c), outputs: ['Y', 'Indices'], dtypes: [F, I64] }); },
    };
  }
  return {
    ...common,
    inputs: [{ name: 'dY', dtype: F, shape: yShape }, { name: 'Indices', dtype: I64, shape: yShape }],
    outputInfo: [{ name: 'dX', dtype: F, shape: xShape }],
  };
}

for (const c of cases) {
  test(`MaxPoolGrad › ${c.title} › matches scatter reference and finite differences`, async (t) => {
    const r = rng(c.title.length * 104729 + c.opset);
    const pads = padsFor(c);
    const ref = { kernel: c.kernel, strides: c.strides, dilations: c.dilations, pads, ceil: c.ceil, storageOrder: c.storageOrder };
    const ys = windowOutput(c.S, ref, c.ceil);
    // Distinct values, spaced well above the finite-difference step, so the argmax is stable.
    const x = randomTensor([c.N, c.C, ...c.S], r);
    x.data = Float64Array.from(x.data, (v) => Math.fround(v));
    const dy = randomTensor([c.N, c.C, ...ys], r);
    const fwd = maxPool(x, ref);
    const lowered = lowerCase(nodeCase(c, ys));
    t.true(lowered.ops.includes(c.expect), `expected a ${c.expect} lowering, got ${lowered.ops.join(', ')}`);
    const feeds: Feeds = c.source === 'producer'
      ? { X: f32(x), dY: f32(dy) }
      : { dY: f32(dy), Indices: new ort.Tensor('int64', BigInt64Array.from(fwd.indices), [c.N, c.C, ...ys]) };
    const out = await runModel(lowered.model, feeds);
    t.deepEqual(out.dX.dims, x.dims);
    const expected = maxPoolGrad(dy, fwd.indices, x.dims, c.storageOrder);
    close(t, nums(out.dX), expected.data, { rtol: 1e-6, atol: 1e-6 }, 'dX vs reference');

    const b = GraphBuilder.create('maxpool_fwd', { opset: 17 });
    const [y] = b.op.MaxPool(b.input('X', DataType.DOUBLE), { ...poolAttrs(c), kernel_shape: c.kernel });
    lossOf(b, y, b.input('dY', DataType.DOUBLE));
    const fd = await finiteDifferences(b.toModel(), { X: f64(x), dY: f64(dy) }, 'X', 1e-6);
    close(t, nums(out.dX), fd, { rtol: 1e-5, atol: 1e-5 }, 'dX vs finite differences');
  });
}

test('MaxPoolGrad › reference indices › equal onnxruntime MaxPool Indices (both storage orders)', async (t) => {
  for (const storageOrder of [0, 1]) {
    const r = rng(5 + storageOrder);
    const x = randomTensor([2, 2, 5, 6], r);
    const p = { kernel: [3, 2], strides: [1, 2], pads: [1, 0, 1, 1], storageOrder };
    const b = GraphBuilder.create('mp', { opset: 17 });
    const [, idx] = b.op.MaxPool(b.input('X', F), { kernel_shape: p.kernel, strides: p.strides, pads: p.pads, storage_order: storageOrder }, true);
    b.output(idx, 'I', I64);
    const out = await runModel(b.toModel(), { X: f32(x) });
    t.deepEqual(nums(out.I), maxPool(x, p).indices.map(Number), `storage_order=${storageOrder}`);
  }
});

const reasonCases: { title: string; c: NodeCase; expect: RegExp }[] = [
  {
    title: 'Indices as a graph input and no static dX shape',
    c: { opType: 'MaxPoolGrad', domain: '', opset: 17, inputs: [{ name: 'dY', dtype: F, shape: ['N', 2, 3, 3] }, { name: 'Indices', dtype: I64, shape: ['N', 2, 3, 3] }], outputs: ['dX'], attrs: { kernel_shape: [3, 3], strides: [2, 2] } },
    expect: /shape of dX is unknown/,
  },
  {
    title: 'overlapping windows at opset 12 with symbolic spatial dims',
    c: {
      opType: 'MaxPoolGrad', domain: '', opset: 12, inputs: [{ name: 'X', dtype: F, shape: ['N', 2, 'H', 'W'] }, { name: 'dY', dtype: F, shape: ['N', 2, 'h', 'w'] }],
      nodeInputs: ['dY', 'Indices'], outputs: ['dX'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
      prelude: (b) => { b.node('MaxPool', ['X'], { attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, outputs: ['Y', 'Indices'] }); },
    },
    expect: /opset >= 16/,
  },
  {
    title: 'storage_order=1 with symbolic spatial dims',
    c: {
      opType: 'MaxPoolGrad', domain: '', opset: 17, inputs: [{ name: 'X', dtype: F, shape: ['N', 2, 'H', 'W'] }, { name: 'dY', dtype: F, shape: ['N', 2, 'h', 'w'] }],
      nodeInputs: ['dY', 'Indices'], outputs: ['dX'], attrs: { kernel_shape: [2, 2], storage_order: 1 },
      prelude: (b) => { b.node('MaxPool', ['X'], { attrs: { kernel_shape: [2, 2], storage_order: 1 }, outputs: ['Y', 'Indices'] }); },
    },
    expect: /storage_order=1 needs the static spatial dims/,
  },
];

for (const { title, c, expect } of reasonCases) {
  test(`MaxPoolGrad › check with ${title} › returns the reason`, (t) => {
    t.regex(checkCase(c) ?? '', expect);
  });
}

test('MaxPoolGrad › symbolic spatial dims at opset 17 with the forward MaxPool › lowers with Shape(X)', async (t) => {
  const c: PoolCase = { ...base, title: 'dyn', S: [7, 8], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], opset: 17, source: 'producer', expect: 'ScatterElements' };
  const nc = nodeCase(c, [4, 4]);
  nc.inputs = [{ name: 'X', dtype: F, shape: ['N', 3, 'H', 'W'] }, { name: 'dY', dtype: F, shape: ['N', 3, 'h', 'w'] }];
  const lowered = lowerCase(nc);
  t.true(lowered.ops.includes('Shape'));
  const r = rng(77);
  const x = randomTensor([2, 3, 7, 8], r);
  const dy = randomTensor([2, 3, 4, 4], r);
  const out = await runModel(lowered.model, { X: f32(x), dY: f32(dy) });
  const ref = maxPool(x, { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  close(t, nums(out.dX), maxPoolGrad(dy, ref.indices, x.dims).data, { rtol: 0, atol: 1e-6 }, 'dX vs reference');
});
