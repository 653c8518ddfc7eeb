/**
 * Focused tests for the project fixes that the extra conformance cases (cases-extra, tools/reference/
 * gen_conformance.py) turned up:
 * - AdamWeightDecay include/exclude patterns are Python `re` patterns: global inline flags at the start
 *   (`(?i)layernorm`, `(?x)` verbose, …) are valid there and must select the same parameters;
 * - ort_adamw's int attributes `adam_mode` / `correct_bias` may be written as JSON booleans (onnx.helper stores a
 *   Python bool as the INT attribute 1 / 0);
 * - a 0-d parameter (shape []) must leave the graph with the shape it is declared with: onnxruntime-web refused the
 *   optimizer graphs (the [1]-shaped scalar coefficients broadcast the update to [1]).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'ava';
import { REPO, cli } from '../cli/helpers.js';
import { OnnxTrainError } from '../../src/errors.js';
import { resolveOptimizer } from '../../src/ops/optim/build.js';
import type { OptimizerSpec } from '../../src/ops/optim/spec.js';
import { decays, pyRegex } from '../../src/ops/optim/transforms/decay-weights.js';
import { validateSchedule, valueAt } from '../../src/ops/schedules/index.js';

test('python regex › global inline flags at the start', (t) => {
  t.true(pyRegex('(?i)layernorm').test('encoder/LayerNorm/gamma:0'));
  t.false(pyRegex('layernorm').test('encoder/LayerNorm/gamma:0'));
  t.true(pyRegex('(?is)^enc.*GAMMA:0$').test('ENC/x\n/gamma:0'));
  t.true(pyRegex('(?i)(?s)^a.b$').test('A\nB'));
  // verbose: whitespace and comments dropped, but not inside a class or when escaped
  t.true(pyRegex('(?x) layer _ \\d+  # the layer index').test('encoder/layer_12/output'));
  t.true(pyRegex('(?x)a[ ]b\\ c').test('a b c'));
  // ASCII / unicode table flags are accepted
  t.true(pyRegex('(?a)\\w+/bias').test('dense/bias:0'));
  t.true(pyRegex('(?u)bias').test('dense/bias:0'));
  // (?L) is only for bytes patterns (Python raises)
  t.is(t.throws(() => pyRegex('(?L)bias'), { instanceOf: OnnxTrainError })?.code, 'BAD_ARGUMENT');
  // \A stays an absolute start under the m flag (Python \A ignores MULTILINE)
  t.false(pyRegex('(?m)\\Abias').test('x\nbias'));
  t.true(pyRegex('(?m)^bias').test('x\nbias'));
});

test('python regex › Keras include/exclude selection with inline flags', (t) => {
  const sel = { include: ['(?i)ATTENTION/output/layernorm'], exclude: ['(?i)layernorm', 'bias'] };
  t.true(decays('encoder/layer_0/attention/output/LayerNorm/gamma:0', sel));
  t.false(decays('encoder/layer_1/output/LayerNorm/beta:0', sel));
  t.false(decays('encoder/layer_1/output/dense/bias:0', sel));
  t.true(decays('encoder/layer_1/output/dense/kernel:0', sel));
});

test('ort_adamw › boolean adam_mode / correct_bias read as 1 / 0', (t) => {
  const r = (spec: Record<string, unknown>) => resolveOptimizer({ type: 'ort_adamw', ...spec } as unknown as OptimizerSpec);
  t.like(r({ adam_mode: true, correct_bias: false }), { adam_mode: 1, correct_bias: 0 });
  t.like(r({ adam_mode: false, correct_bias: true }), { adam_mode: 0, correct_bias: 1 });
  // mode 0 still refuses correct_bias 0, whichever way it is written
  t.regex(t.throws(() => r({ adam_mode: 0, correct_bias: false }), { instanceOf: OnnxTrainError })!.what, /correct_bias should be 1/);
  t.regex(t.throws(() => r({ correct_bias: 'yes' }), { instanceOf: OnnxTrainError })!.what, /"correct_bias" must be a finite number/);
});

test('0-d parameters › every optimizer loads and matches on onnxruntime-web (wasm)', async (t) => {
  const dir = path.join(REPO, 'test', 'conformance', 'cases-extra');
  const cases = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).flatMap((f) => {
    const doc = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { cases: { kind: string; params?: { shape: number[] }[] }[] };
    return doc.cases.filter((c) => c.kind === 'optimizer' && c.params!.some((p) => p.shape.length === 0));
  });
  const types = new Set(cases.map((c) => (c as unknown as { optimizer: { type: string } }).optimizer.type));
  t.deepEqual([...types].sort(), ['adafactor', 'adam_weight_decay', 'adamw', 'adamw_torch', 'onnx_adam', 'ort_adamw']);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-train-scalar-'));
  try {
    const file = path.join(tmp, 'scalar.json');
    fs.writeFileSync(file, JSON.stringify({ format: 'onnx-train/conformance@1', cases }));
    const r = await cli(['conformance', '--ep', 'wasm', file]);
    t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
    t.regex(r.stdout, new RegExp(`^${cases.length} passed, 0 failed$`, 'm'));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('keras PolynomialDecay › a non-integer decay_steps is taken, as Keras casts it to float32', (t) => {
  const spec = { type: 'tf_polynomial_decay', initial_learning_rate: 1, decay_steps: 2.5, end_learning_rate: 0, power: 1, cycle: false } as const;
  t.deepEqual(validateSchedule(spec as never), []);
  t.is(valueAt(spec as never, 1), Math.fround(1 - Math.fround(1 / 2.5)));
  t.is(valueAt(spec as never, 7), 0);
  // cycle: step 3 decays over ceil(3 / 2.5) * 2.5 = 5 steps
  t.is(valueAt({ ...spec, cycle: true } as never, 3), Math.fround(1 - Math.fround(3 / 5)));
});
