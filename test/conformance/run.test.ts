/**
 * The conformance runner as a library: file loading, envelope checks, dispatch, outcomes. Runners are injected,
 * so these tests run no graphs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import test from 'ava';
import {
  CONFORMANCE_FORMAT,
  checkCase,
  loadCases,
  parseCaseFile,
  runCases,
  type ConformanceCase,
  type Runner,
} from '../../src/conformance/index.js';
import { OnnxTrainError } from '../../src/errors.js';
import type { Engine } from '../../src/runtime/engine.js';

const tol = { rtol: 1e-6, atol: 0 };
const plateau = (id: string, extra: object = {}) => ({ id, kind: 'plateau', tolerance: tol, ...extra });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-train-conf-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function write(content: unknown, name = `f${n++}.json`): string {
  const p = path.join(tmp, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

const malformed: [string, unknown, RegExp][] = [
  ['not JSON', '{"id": "a", ', /not valid JSON/],
  ['an array', [1, 2], /expected a case object/],
  ['unknown format', { format: 'onnx-train/conformance@2', cases: [] }, /field "format": expected "onnx-train\/conformance@1", got "onnx-train\/conformance@2"/],
  ['cases without format', { cases: [plateau('a')] }, /field "format"/],
  ['cases not a list', { format: CONFORMANCE_FORMAT, cases: {} }, /field "cases": expected an array/],
  ['extra wrapper key', { format: CONFORMANCE_FORMAT, cases: [], note: 1 }, /field "note" is not part of a case-list file/],
  ['missing id', { kind: 'plateau', tolerance: tol }, /field "id": expected a non-empty string/],
  ['unknown kind', { id: 'a', kind: 'lookahead', tolerance: tol }, /field "kind": expected one of "optimizer", "schedule", "plateau", "accumulator", got "lookahead"/],
  ['missing tolerance', { id: 'a', kind: 'plateau' }, /field "tolerance": expected \{"rtol"/],
  ['missing rtol', { id: 'a', kind: 'plateau', tolerance: { atol: 0 } }, /field "tolerance.rtol": missing/],
  ['both atols', { id: 'a', kind: 'plateau', tolerance: { rtol: 0, atol: 0, atol_rel_to_tensor_max: 0 } }, /exactly one of "atol" and "atol_rel_to_tensor_max", got both/],
  ['no atol', { id: 'a', kind: 'plateau', tolerance: { rtol: 0 } }, /got neither/],
  ['negative atol', { id: 'a', kind: 'plateau', tolerance: { rtol: 0, atol: -1 } }, /field "tolerance.atol": expected a finite number >= 0, got -1/],
  ['typo in tolerance', { id: 'a', kind: 'plateau', tolerance: { rtol: 0, atl: 1 } }, /field "tolerance.atl" is not a tolerance key/],
];
for (const [name, content, re] of malformed) {
  test(`conformance load › ${name} › BAD_CASE naming the file and the field`, (t) => {
    const file = write(content);
    const e = t.throws(() => loadCases([file]), { instanceOf: OnnxTrainError });
    t.is(e?.code, 'BAD_CASE');
    t.true(e!.message.startsWith(file), e!.message);
    t.regex(e!.message, re);
  });
}

test('conformance load › case in a list › located as cases[i] with its id', (t) => {
  const file = write({ format: CONFORMANCE_FORMAT, cases: [plateau('ok'), { id: 'bad', kind: 'plateau' }] });
  const e = t.throws(() => loadCases([file]));
  t.regex(e!.message, /: cases\[1\] \(id "bad"\): field "tolerance"/);
});

test('conformance load › duplicate id across files › names both places', (t) => {
  const dir = path.join(tmp, 'dup');
  const a = write({ format: CONFORMANCE_FORMAT, cases: [plateau('same')] }, 'dup/a.json');
  const b = write(plateau('same'), 'dup/b.json');
  const e = t.throws(() => loadCases([dir]));
  t.regex(e!.message, /"same" is used twice/);
  t.true(e!.message.includes(a) && e!.message.includes(b), e!.message);
});

test('conformance load › folders › recursive, *.json only, sorted, a file named twice read once', (t) => {
  write(plateau('z'), 'tree/z.json');
  write(plateau('a'), 'tree/sub/a.json');
  write('not json at all', 'tree/readme.md');
  const cases = loadCases([path.join(tmp, 'tree'), path.join(tmp, 'tree', 'z.json')]);
  t.deepEqual(cases.map((c) => c.case.id), ['a', 'z']);
  t.deepEqual(cases.map((c) => c.at), ['$', '$']);
});

test('conformance load › empty folder and missing path › BAD_CASE', (t) => {
  fs.mkdirSync(path.join(tmp, 'empty'));
  t.regex(t.throws(() => loadCases([path.join(tmp, 'empty')]))!.message, /no \.json case files/);
  t.regex(t.throws(() => loadCases([path.join(tmp, 'nope')]))!.message, /no such file or folder/);
});

test('conformance load › single-case file and wrapper › same envelope', (t) => {
  const single = parseCaseFile(JSON.stringify(plateau('one')), 'x.json');
  const list = parseCaseFile(JSON.stringify({ format: CONFORMANCE_FORMAT, cases: [plateau('one')] }), 'y.json');
  t.deepEqual(single[0]!.case, list[0]!.case);
  t.is(checkCase(plateau('one'), 'z').id, 'one');
});

// --- dispatch --------------------------------------------------------------------------------------------------

const loaded = (...cs: object[]) => cs.map((c, i) => ({ case: c as ConformanceCase, file: 'mem.json', at: `cases[${i}]` }));
const host = (fn: (c: ConformanceCase) => unknown): Runner => ({ needsEngine: false, run: fn as never });

test('conformance run › outcomes › PASS, FAIL with message, in order, engine never made for host kinds', async (t) => {
  let engineMade = false;
  const { report, caseErrors } = await runCases(loaded(plateau('p'), plateau('f'), { id: 'acc', kind: 'accumulator', tolerance: tol }), {
    engine: async () => ((engineMade = true), {} as Engine),
    runners: {
      plateau: host((c) => (c.id === 'p' ? { pass: true } : { pass: false, message: 'lrs [0] got 1 want 2' })),
      accumulator: host(() => ({ pass: true })),
    },
  });
  t.false(engineMade);
  t.deepEqual(report, {
    passed: 2,
    failed: 1,
    cases: [
      { id: 'p', kind: 'plateau', pass: true, message: null },
      { id: 'f', kind: 'plateau', pass: false, message: 'lrs [0] got 1 want 2' },
      { id: 'acc', kind: 'accumulator', pass: true, message: null },
    ],
  });
  t.deepEqual(caseErrors, []);
});

test('conformance run › engine kinds › one engine, made once, handed to every case', async (t) => {
  const engine = { ep: 'cpu' } as Engine;
  let made = 0;
  const seen: Engine[] = [];
  const run = (_c: ConformanceCase, e: Engine) => (seen.push(e), { pass: true });
  const { report } = await runCases(loaded({ id: 'o', kind: 'optimizer', tolerance: tol }, { id: 's', kind: 'schedule', tolerance: tol }), {
    engine: async () => (made++, engine),
    runners: { optimizer: { needsEngine: true, run }, schedule: { needsEngine: true, run } },
  });
  t.is(made, 1);
  t.deepEqual(seen, [engine, engine]);
  t.is(report.passed, 2);
});

test('conformance run › runner says malformed › FAIL plus a located case error (exit 2)', async (t) => {
  const { report, caseErrors } = await runCases(loaded(plateau('bad')), {
    runners: { plateau: host(() => { throw new OnnxTrainError('BAD_CASE', 'kwargs.mode: expected "min" or "max", got "mid"', undefined, 'case "bad"'); }) },
  });
  t.is(report.failed, 1);
  t.regex(report.cases[0]!.message!, /^malformed case: mem\.json: cases\[0\] \(case "bad"\): kwargs\.mode/);
  t.is(caseErrors.length, 1);
  t.is(caseErrors[0]!.where, 'mem.json: cases[0] (case "bad")');
});

test('conformance run › runtime OnnxTrainError › a FAIL, not a crash', async (t) => {
  const { report, caseErrors } = await runCases(loaded(plateau('rt')), {
    runners: { plateau: host(() => { throw new OnnxTrainError('RUNTIME', 'onnxruntime-web (wasm) failed\nsecond line'); }) },
  });
  t.deepEqual(report.cases[0], { id: 'rt', kind: 'plateau', pass: false, message: 'onnxruntime-web (wasm) failed; second line' });
  t.deepEqual(caseErrors, []);
});

test('conformance run › a bug in a runner › propagates (the CLI prints a stack, exit 2)', async (t) => {
  await t.throwsAsync(runCases(loaded(plateau('x')), { runners: { plateau: host(() => { throw new TypeError('oops'); }) } }), { instanceOf: TypeError });
  await t.throwsAsync(runCases(loaded(plateau('x')), { runners: { plateau: host(() => 'yes') } }), { message: /contract is \{pass: boolean/ });
});
