/**
 * The conformance runner (shared/conformance/FORMAT.md, format 1): load case files, check the envelope of every
 * case, dispatch each case to the runner of its kind, collect PASS/FAIL.
 *
 * | kind          | runner                                                    | needs an engine |
 * | ------------- | --------------------------------------------------------- | --------------- |
 * | `optimizer`   | `runOptimizerCase(c, engine)`, ./optimizer-case.ts        | yes             |
 * | `schedule`    | `runScheduleCase(c, engine)`, ./schedule-case.ts          | yes             |
 * | `plateau`     | `runPlateauCase(c)`, ../runtime/host/conformance.ts       | no              |
 * | `accumulator` | `runAccumulatorCase(c)`, ../runtime/host/conformance.ts   | no              |
 *
 * Runner contract: take the case object as parsed from JSON (its envelope — id, kind, tolerance — already checked
 * here), return `{pass, message?}` (message: the first mismatch, `<tensor> [index] got <x> want <y>`), throw
 * OnnxTrainError('BAD_CASE') naming the field for a malformed or unsupported case. Runners are imported on
 * demand, so a run of host-only cases never loads an ONNX Runtime, and a kind whose runner module is absent is
 * reported as unsupported instead of breaking the whole tool.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxTrainError, isOnnxTrainError } from '../errors.js';
import type { Engine } from '../runtime/engine.js';

/** The `format` string of a case-list file. */
export const CONFORMANCE_FORMAT = 'onnx-train/conformance@1';

export const CASE_KINDS = ['optimizer', 'schedule', 'plateau', 'accumulator'] as const;
export type CaseKind = (typeof CASE_KINDS)[number];

/** `|got − want| ≤ atol + rtol·|want|`, with `atol = atol_rel_to_tensor_max · max|want|` per tensor when given so. */
export interface Tolerance {
  readonly rtol: number;
  readonly atol?: number;
  readonly atol_rel_to_tensor_max?: number;
}

/** A case as read from JSON, envelope checked; the rest is the runner's to read. */
export interface ConformanceCase {
  readonly id: string;
  readonly kind: CaseKind;
  readonly tolerance: Tolerance;
  readonly [field: string]: unknown;
}

/** A case and where it came from. */
export interface LoadedCase {
  readonly case: ConformanceCase;
  readonly file: string;
  /** JSON path of the case in its file: `$` (single-case file) or `cases[3]`. */
  readonly at: string;
}

/** What a runner returns. */
export interface CaseOutcome {
  readonly pass: boolean;
  readonly message?: string;
}

export interface CaseResult {
  readonly id: string;
  readonly kind: CaseKind;
  readonly pass: boolean;
  /** Null when the case passed. */
  readonly message: string | null;
}

/** The --json output (FORMAT.md) plus nothing else. */
export interface ConformanceReport {
  readonly passed: number;
  readonly failed: number;
  readonly cases: readonly CaseResult[];
}

export type EngineRunner = (c: ConformanceCase, engine: Engine) => CaseOutcome | Promise<CaseOutcome>;
export type HostRunner = (c: ConformanceCase) => CaseOutcome | Promise<CaseOutcome>;
export type Runner = { readonly needsEngine: true; readonly run: EngineRunner } | { readonly needsEngine: false; readonly run: HostRunner };

/**
 * Where each kind's runner lives (module relative to this file, export name).
 * TODO(schedules): src/conformance/schedule-case.ts (`runScheduleCase(c, engine)`) is written by the schedules
 * work; until it lands, schedule cases are reported as unsupported (exit 2), never skipped.
 */
const RUNNER_MODULES: Readonly<Record<CaseKind, { readonly module: string; readonly name: string; readonly needsEngine: boolean }>> = {
  optimizer: { module: './optimizer-case', name: 'runOptimizerCase', needsEngine: true },
  schedule: { module: './schedule-case', name: 'runScheduleCase', needsEngine: true },
  plateau: { module: '../runtime/host/conformance', name: 'runPlateauCase', needsEngine: false },
  accumulator: { module: '../runtime/host/conformance', name: 'runAccumulatorCase', needsEngine: false },
};

const malformed = (what: string, where: string, fix?: string) => new OnnxTrainError('BAD_CASE', what, fix, where);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Every `*.json` under the given files and folders (folders recursively), sorted, each once. */
export function caseFiles(paths: readonly string[]): string[] {
  if (paths.length === 0) throw malformed('no case files or folders given', 'conformance', 'pass at least one .json file or folder');
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) out.add(p);
    }
  };
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw malformed('no such file or folder', p, 'check the path');
    }
    if (!st.isDirectory()) {
      out.add(p);
      continue;
    }
    const before = out.size;
    walk(p);
    if (out.size === before) throw malformed('folder holds no .json case files', p, 'pass a folder of conformance case files');
  }
  return [...out];
}

/** Checks a case's envelope (id, kind, tolerance); `where` names the file and JSON path. */
export function checkCase(v: unknown, where: string): ConformanceCase {
  if (!isRecord(v)) throw malformed(`a case must be a JSON object, got ${show(v)}`, where);
  if (typeof v.id !== 'string' || v.id === '') throw malformed(`field "id": expected a non-empty string, got ${show(v.id)}`, where);
  const at = `${where} (id "${v.id}")`;
  if (typeof v.kind !== 'string' || !(CASE_KINDS as readonly string[]).includes(v.kind)) {
    throw malformed(`field "kind": expected one of ${CASE_KINDS.map((k) => `"${k}"`).join(', ')}, got ${show(v.kind)}`, at);
  }
  const t = v.tolerance;
  const tolShape = '{"rtol": number, "atol": number} or {"rtol": number, "atol_rel_to_tensor_max": number}';
  if (!isRecord(t)) throw malformed(`field "tolerance": expected ${tolShape}, got ${show(t)}`, at);
  const num = (k: string) => {
    const x = t[k];
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) throw malformed(`field "tolerance.${k}": expected a finite number >= 0, got ${show(x)}`, at);
    return x;
  };
  for (const k of Object.keys(t)) {
    if (k !== 'rtol' && k !== 'atol' && k !== 'atol_rel_to_tensor_max') {
      throw malformed(`field "tolerance.${k}" is not a tolerance key: expected ${tolShape}`, at);
    }
  }
  if (!('rtol' in t)) throw malformed(`field "tolerance.rtol": missing; expected ${tolShape}`, at);
  num('rtol');
  const hasAtol = 'atol' in t;
  const hasRel = 'atol_rel_to_tensor_max' in t;
  if (hasAtol === hasRel) {
    throw malformed(`field "tolerance": expected exactly one of "atol" and "atol_rel_to_tensor_max", got ${hasAtol ? 'both' : 'neither'}`, at);
  }
  num(hasAtol ? 'atol' : 'atol_rel_to_tensor_max');
  return v as unknown as ConformanceCase;
}

/** Parses one case file: a single case, or `{"format": "onnx-train/conformance@1", "cases": [...]}`. */
export function parseCaseFile(text: string, file: string): LoadedCase[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw malformed(`not valid JSON: ${(e as Error).message}`, file, 'fix the JSON syntax');
  }
  if (!isRecord(doc)) throw malformed(`expected a case object or {"format": "${CONFORMANCE_FORMAT}", "cases": [...]}, got ${show(doc)}`, file);
  if (!('format' in doc) && !('cases' in doc)) return [{ case: checkCase(doc, `${file}: $`), file, at: '$' }];
  if (doc.format !== CONFORMANCE_FORMAT) {
    throw malformed(`field "format": expected "${CONFORMANCE_FORMAT}", got ${show(doc.format)}`, file,
      'this runner reads format 1 (shared/conformance/FORMAT.md)');
  }
  if (!Array.isArray(doc.cases)) throw malformed(`field "cases": expected an array of cases, got ${show(doc.cases)}`, file);
  for (const k of Object.keys(doc)) {
    if (k !== 'format' && k !== 'cases') throw malformed(`field "${k}" is not part of a case-list file: expected only "format" and "cases"`, file);
  }
  return doc.cases.map((c, i) => ({ case: checkCase(c, `${file}: cases[${i}]`), file, at: `cases[${i}]` }));
}

/** Loads and checks every case under `paths`; ids must be unique across all files. */
export function loadCases(paths: readonly string[]): LoadedCase[] {
  const all: LoadedCase[] = [];
  const seen = new Map<string, LoadedCase>();
  for (const file of caseFiles(paths)) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw malformed(`cannot read: ${(e as Error).message}`, file);
    }
    for (const lc of parseCaseFile(text, file)) {
      const prev = seen.get(lc.case.id);
      if (prev) {
        throw malformed(`field "id": "${lc.case.id}" is used twice, here and in ${prev.file}: ${prev.at}`, `${file}: ${lc.at}`,
          'case ids must be unique across all files of a run');
      }
      seen.set(lc.case.id, lc);
      all.push(lc);
    }
  }
  return all;
}

/** True for errors that mean "this case is malformed or names something unsupported" (exit 2). */
export function isCaseError(e: unknown): e is OnnxTrainError {
  return isOnnxTrainError(e) && (e.code === 'BAD_CASE' || e.code === 'BAD_ARGUMENT');
}

function runnerFileExists(module: string): boolean {
  const base = path.join(path.dirname(fileURLToPath(import.meta.url)), module);
  return ['.ts', '.js', '.mts', '.mjs'].some((ext) => fs.existsSync(base + ext));
}

/**
 * The runner of `kind`, imported on demand. A kind whose module this build lacks is OnnxTrainError('BAD_CASE')
 * (unsupported, exit 2); a module that exists but fails to import is a bug and propagates as is.
 */
export async function loadRunner(kind: CaseKind): Promise<Runner> {
  const spec = RUNNER_MODULES[kind];
  if (!runnerFileExists(spec.module)) {
    throw malformed(`field "kind": "${kind}" is not supported by this build: its runner (${spec.name} in ${path.posix.join('src/conformance', spec.module)}.ts) is missing`,
      'conformance', 'remove the cases of this kind or update onnx-train');
  }
  const mod = (await import(`${spec.module}.js`)) as Record<string, unknown>;
  const fn = mod[spec.name];
  if (typeof fn !== 'function') throw new Error(`${spec.module} does not export a function ${spec.name}`);
  return spec.needsEngine ? { needsEngine: true, run: fn as EngineRunner } : { needsEngine: false, run: fn as HostRunner };
}

export interface RunCasesOptions {
  /** Creates the engine for optimizer/schedule cases; called once, only if such a case is run. */
  engine?: () => Promise<Engine>;
  /** Runners by kind (default: {@link loadRunner}); tests inject their own. */
  runners?: Partial<Record<CaseKind, Runner>>;
  /** Called after each case, in order (the CLI prints a line per case as it goes). */
  onResult?: (r: CaseResult, c: LoadedCase) => void;
}

export interface RunCasesResult {
  readonly report: ConformanceReport;
  /** Malformed/unsupported cases met while running (their results are FAILs); non-empty means exit 2. */
  readonly caseErrors: readonly OnnxTrainError[];
}

/**
 * Runs the cases in order. A mismatch is a FAIL; an OnnxTrainError from the runtime is a FAIL with its message; a
 * BAD_CASE (malformed/unsupported) is a FAIL that is also returned in `caseErrors`, its location prefixed with the
 * file. Any other exception is a bug and propagates.
 */
export async function runCases(cases: readonly LoadedCase[], opts: RunCasesOptions = {}): Promise<RunCasesResult> {
  const runners = new Map<CaseKind, Runner>(Object.entries(opts.runners ?? {}) as [CaseKind, Runner][]);
  // Resolve every runner first: an unsupported kind fails the run before any case runs, naming its first case.
  for (const lc of cases) {
    const kind = lc.case.kind;
    if (runners.has(kind)) continue;
    try {
      runners.set(kind, await loadRunner(kind));
    } catch (e) {
      if (!isCaseError(e)) throw e;
      const others = cases.filter((c) => c.case.kind === kind).length - 1;
      throw new OnnxTrainError('BAD_CASE', e.what, e.fix,
        `${lc.file}: ${lc.at} (id "${lc.case.id}"${others > 0 ? `, and ${others} more case${others > 1 ? 's' : ''} of this kind` : ''})`);
    }
  }

  let engine: Engine | undefined;
  if (cases.some((c) => runners.get(c.case.kind)!.needsEngine)) {
    if (!opts.engine) throw new Error('runCases: optimizer/schedule cases need opts.engine');
    engine = await opts.engine();
  }

  const results: CaseResult[] = [];
  const caseErrors: OnnxTrainError[] = [];
  for (const lc of cases) {
    const c = lc.case;
    const runner = runners.get(c.kind)!;
    let outcome: CaseOutcome;
    try {
      outcome = checkOutcome(runner.needsEngine ? await runner.run(c, engine!) : await runner.run(c), c.kind);
    } catch (e) {
      if (isCaseError(e)) {
        const located = new OnnxTrainError('BAD_CASE', e.what, e.fix, `${lc.file}: ${lc.at}${e.where ? ` (${e.where})` : ` (id "${c.id}")`}`);
        caseErrors.push(located);
        outcome = { pass: false, message: `malformed case: ${oneLine(located.message)}` };
      } else if (isOnnxTrainError(e)) {
        outcome = { pass: false, message: oneLine(e.message) };
      } else {
        throw e;
      }
    }
    const r: CaseResult = { id: c.id, kind: c.kind, pass: outcome.pass, message: outcome.pass ? null : oneLine(outcome.message ?? 'failed (the runner gave no message)') };
    results.push(r);
    opts.onResult?.(r, lc);
  }
  const passed = results.filter((r) => r.pass).length;
  return { report: { passed, failed: results.length - passed, cases: results }, caseErrors };
}

function checkOutcome(o: unknown, kind: CaseKind): CaseOutcome {
  if (isRecord(o) && typeof o.pass === 'boolean' && (o.message === undefined || typeof o.message === 'string')) return o as unknown as CaseOutcome;
  throw new Error(`the ${kind} runner returned ${show(o)}; the contract is {pass: boolean, message?: string}`);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, '; ');
}

/** The text lines of a report: `PASS <id>` / `FAIL <id>: <message>`. */
export function resultLine(r: CaseResult): string {
  return r.pass ? `PASS ${r.id}` : `FAIL ${r.id}: ${r.message}`;
}

/** The closing line: `<N> passed, <M> failed`. */
export function summaryLine(r: ConformanceReport): string {
  return `${r.passed} passed, ${r.failed} failed`;
}
