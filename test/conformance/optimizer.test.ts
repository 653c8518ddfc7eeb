/**
 * `runOptimizerCase` on NodeEngine('cpu'): every optimizer case of the shared conformance files passes; a wrong
 * expectation fails with `<tensor> [index] got <x> want <y>`; malformed or unsupported cases are BAD_CASE naming the
 * field.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { parseOptimizerCase, runOptimizerCase } from '../../src/conformance/optimizer-case.js';
import { OnnxTrainError } from '../../src/errors.js';
import { NodeEngine } from '../../src/runtime/adapters/node.js';
import { SHARED } from '../helpers/paths.js';

const CASES = path.join(SHARED, 'conformance', 'cases');
const FILES = ['adamw.json', 'adamw_torch.json', 'adafactor.json', 'adam_weight_decay.json', 'ort_adamw.json', 'onnx_adam.json'];
const engine = new NodeEngine('cpu');

type Case = Record<string, any>;
function load(file: string): Case[] | undefined {
  const p = path.join(CASES, file);
  if (!fs.existsSync(p)) return undefined;
  const d = JSON.parse(fs.readFileSync(p, 'utf8'));
  return d.cases ?? [d];
}
const clone = <T>(x: T): T => structuredClone(x);

for (const file of FILES) {
  const cases = load(file);
  if (!cases) {
    test.skip(`runOptimizerCase › ${file} › MISSING ../shared/conformance/cases/${file}`, () => {});
    continue;
  }
  for (const c of cases) {
    test(`runOptimizerCase › ${file} ${c.id} › passes on NodeEngine cpu`, async (t) => {
      const r = await runOptimizerCase(c, engine);
      t.true(r.pass, r.message);
    });
  }
}

const base = load('adamw.json')?.[0];
const ada = load('adafactor.json')?.[0];
const awd = load('adam_weight_decay.json')?.[0];
const ort = load('ort_adamw.json')?.[0];

test('runOptimizerCase › wrong expected parameter › FAIL naming tensor, index, got and want', async (t) => {
  if (!base) return t.pass();
  const c = clone(base);
  c.steps = c.steps.slice(0, 3);
  c.steps[2].expect.params[1][4] += 0.5;
  const r = await runOptimizerCase(c, engine);
  t.false(r.pass);
  t.regex(r.message!, /^fc\.weight \[4\] got -?\d[\d.e+-]* want -?\d[\d.e+-]* \(update 3 of 3\)$/);
});

test('runOptimizerCase › wrong expected state › FAIL naming <param>.<slot>', async (t) => {
  if (!base) return t.pass();
  const c = clone(base);
  c.steps = c.steps.slice(0, 2);
  c.steps[1].expect.state['conv.weight'].exp_avg_sq[7] *= 2;
  const r = await runOptimizerCase(c, engine);
  t.false(r.pass);
  t.regex(r.message!, /^conv\.weight\.exp_avg_sq \[7\] got .* want .* \(update 2 of 2\)$/);
});

test('runOptimizerCase › wrong lr_used / lr_t / updated_flag › FAIL naming them', async (t) => {
  if (!ada || !awd || !ort) return t.pass();
  const a = clone(ada);
  a.steps = a.steps.slice(0, 1);
  a.steps[0].expect.lr_used[2] *= 1.01;
  t.regex((await runOptimizerCase(a, engine)).message!, /^lr_used \[2\] got/);
  const w = clone(awd);
  w.steps = w.steps.slice(0, 7);
  w.steps[6].expect.lr_t *= 1.01;
  t.regex((await runOptimizerCase(w, engine)).message!, /^lr_t \[0\] got .* \(update 7 of 7\)/);
  const o = clone(ort);
  o.steps = o.steps.slice(0, 1);
  o.steps[0].expect.updated_flag = false;
  t.is((await runOptimizerCase(o, engine)).message, 'updated_flag [0] got true want false (update 1 of 1)');
});

test('runOptimizerCase › ort update_signal false › params and state unchanged, flag false', async (t) => {
  if (!ort) return t.pass();
  const c = clone(ort);
  c.steps = c.steps.slice(0, 2);
  // Skip the second update: everything stays as after the first (even with NaN gradients).
  const s = c.steps[1];
  s.update_signal = false;
  s.grads = s.grads.map((g: number[]) => g.map(() => Number.NaN));
  s.expect = { params: c.steps[0].expect.params, state: c.steps[0].expect.state, updated_flag: false };
  // NaN is not JSON, but the runner accepts any number array it is given.
  const r = await runOptimizerCase(c, engine);
  t.true(r.pass, r.message);
});

const malformed: [string, (c: Case) => void, RegExp][] = [
  ['kind', (c) => { c.kind = 'schedule'; }, /^kind: expected "optimizer"/],
  ['optimizer type', (c) => { c.optimizer.type = 'lamb'; }, /^optimizer\.type: unsupported optimizer "lamb"/],
  ['unknown optimizer key', (c) => { c.optimizer.amsgrad = true; }, /^optimizer\.amsgrad: got an unexpected keyword argument "amsgrad"/],
  ['invalid beta', (c) => { c.optimizer.betas = [1.0, 0.999]; }, /^optimizer: Invalid beta parameter: 1\.0 - should be in \[0\.0, 1\.0\)/],
  ['param data length', (c) => { c.params[1].data.pop(); }, /^params\[1\]\.data: expected 12 values, got 11/],
  ['param shape', (c) => { c.params[0].shape = [-1]; }, /^params\[0\]\.shape: expected non-negative integers/],
  ['duplicate param', (c) => { c.params[1].name = c.params[0].name; }, /^params\[1\]\.name: duplicate parameter name/],
  ['grads count', (c) => { c.steps[3].grads.pop(); }, /^steps\[3\]\.grads: expected 3 gradient arrays/],
  ['grad value', (c) => { c.steps[0].grads[2][5] = 'x'; }, /^steps\[0\]\.grads\[2\]\[5\]: expected a number/],
  ['expect params', (c) => { delete c.steps[1].expect.params; }, /^steps\[1\]\.expect\.params: expected 3 arrays/],
  ['state of unknown param', (c) => { c.steps[0].expect.state.nope = {}; }, /^steps\[0\]\.expect\.state: names no parameter "nope"/],
  ['unknown state name', (c) => { c.steps[0].expect.state['fc.weight'].momentum = [0]; }, /^steps\[0\]\.expect\.state\.fc\.weight\.momentum: adamw has no state "momentum"/],
  ['state length', (c) => { c.steps[0].expect.state['fc.weight'].exp_avg.pop(); }, /^steps\[0\]\.expect\.state\.fc\.weight\.exp_avg: expected 12 values/],
  ['lr on some steps only', (c) => { delete c.steps[4].lr; }, /^steps: 19 of 20 steps give "lr"/],
  ['lr not a number', (c) => { c.steps[0].lr = '0.1'; }, /^steps\[0\]\.lr: expected a finite number/],
  ['lr_t on adamw', (c) => { c.steps[0].expect.lr_t = 0.1; }, /^steps\[0\]\.expect\.lr_t: only adam_weight_decay reports lr_t/],
  ['update_signal on adamw', (c) => { c.steps[0].update_signal = false; }, /^steps\[0\]\.update_signal: only ort_adamw cases take an update_signal/],
  ['tolerance', (c) => { c.tolerance = { rtol: 'x' }; }, /^tolerance\.rtol: expected a finite number/],
];
for (const [name, mutate, re] of malformed) {
  test(`runOptimizerCase › malformed ${name} › BAD_CASE naming the field`, async (t) => {
    if (!base) return t.pass();
    const c = clone(base);
    mutate(c);
    const e = await t.throwsAsync(() => runOptimizerCase(c, engine), { instanceOf: OnnxTrainError });
    t.is(e?.code, 'BAD_CASE');
    t.is(e?.where, c.id ?? base.id);
    t.regex(e!.what, re);
  });
}

test('runOptimizerCase › not an object / no id › BAD_CASE', (t) => {
  t.is(t.throws(() => parseOptimizerCase(42), { instanceOf: OnnxTrainError })?.code, 'BAD_CASE');
  t.regex(t.throws(() => parseOptimizerCase({ kind: 'optimizer' }), { instanceOf: OnnxTrainError })!.what, /^id: expected a non-empty string/);
});

test('runOptimizerCase › onnx_adam without R / T › BAD_CASE naming steps[k].R', (t) => {
  const c = load('onnx_adam.json')?.[0];
  if (!c) return t.pass();
  const m = clone(c);
  delete m.steps[2].R;
  t.regex(t.throws(() => parseOptimizerCase(m), { instanceOf: OnnxTrainError })!.what, /^steps\[2\]\.R: expected a finite number/);
  const n = clone(c);
  n.steps[0].T = 1.5;
  t.regex(t.throws(() => parseOptimizerCase(n), { instanceOf: OnnxTrainError })!.what, /^steps\[0\]\.T: expected an integer/);
});

test('runOptimizerCase › adafactor with lr and relative_step › BAD_CASE with upstream message', async (t) => {
  if (!ada) return t.pass();
  const c = clone(ada);
  c.optimizer.lr = 0.01;
  const e = await t.throwsAsync(() => runOptimizerCase(c, engine), { instanceOf: OnnxTrainError });
  t.regex(e!.what, /Cannot combine manual `lr` and `relative_step=True` options/);
});
