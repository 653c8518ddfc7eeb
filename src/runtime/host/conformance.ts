/**
 * Conformance cases of kind "plateau" and "accumulator" (shared/conformance/FORMAT.md) run against the host-side
 * state machines. The conformance runner calls these; a malformed case throws OnnxTrainError('BAD_CASE') naming
 * the field (the runner's exit 2), a mismatch returns `{pass: false, message}` with the first mismatch as
 * `<tensor> [index] got <x> want <y>`.
 */
import { OnnxTrainError, isOnnxTrainError } from '../../errors.js';
import { GradientAccumulator, type GradientInput } from './gradient-accumulator.js';
import { PLATEAU_OPTION_NAMES, ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './plateau.js';

/** What a case run returns: `message` is set when `pass` is false. */
export interface HostCaseResult {
  readonly pass: boolean;
  readonly message?: string;
}

interface Tolerance {
  readonly rtol: number;
  readonly atol?: number;
  readonly atolRelToMax?: number;
}

function badCase(id: string, field: string, what: string, fix?: string): OnnxTrainError {
  return new OnnxTrainError('BAD_CASE', `${field}: ${what}`, fix, `case ${JSON.stringify(id)}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

function readHeader(c: unknown, kind: string): { id: string; obj: Record<string, unknown>; tol: Tolerance } {
  if (!isRecord(c)) throw new OnnxTrainError('BAD_CASE', `a case must be an object, got ${JSON.stringify(c)}`);
  const id = typeof c.id === 'string' ? c.id : '?';
  if (typeof c.id !== 'string') throw badCase(id, 'id', 'expected a string');
  if (c.kind !== kind) throw badCase(id, 'kind', `expected "${kind}", got ${JSON.stringify(c.kind)}`);
  const t = c.tolerance;
  if (!isRecord(t) || typeof t.rtol !== 'number') {
    throw badCase(id, 'tolerance', 'expected {"rtol": number, "atol" | "atol_rel_to_tensor_max": number}');
  }
  const hasAtol = typeof t.atol === 'number';
  const hasRel = typeof t.atol_rel_to_tensor_max === 'number';
  if (hasAtol === hasRel) {
    throw badCase(id, 'tolerance', 'expected exactly one of atol and atol_rel_to_tensor_max');
  }
  return {
    id,
    obj: c,
    tol: hasAtol ? { rtol: t.rtol, atol: t.atol as number } : { rtol: t.rtol, atolRelToMax: t.atol_rel_to_tensor_max as number },
  };
}

function fmt(x: unknown): string {
  if (typeof x === 'number') return String(x);
  return JSON.stringify(x) ?? String(x);
}

/**
 * Compares one float tensor (`want` may be a scalar): `|got − want| ≤ atol + rtol·|want|`, where
 * `atol = atol_rel_to_tensor_max · max|want|` when the case says so. Equal values (±∞ included) always pass.
 * Returns the mismatch message or undefined.
 */
function compareFloats(name: string, got: ArrayLike<number> | number, want: readonly number[] | number,
  tol: Tolerance): string | undefined {
  const scalar = typeof want === 'number';
  const g = typeof got === 'number' ? [got] : Array.from(got);
  const w = scalar ? [want] : [...want];
  if (g.length !== w.length) return `${name} [] got ${g.length} elements want ${w.length}`;
  const maxAbs = w.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const atol = tol.atol ?? (tol.atolRelToMax as number) * maxAbs;
  for (let i = 0; i < w.length; i++) {
    const a = g[i] as number;
    const b = w[i] as number;
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (!(Math.abs(a - b) <= atol + tol.rtol * Math.abs(b))) {
      return `${name} [${scalar ? '' : i}] got ${fmt(a)} want ${fmt(b)}`;
    }
  }
  return undefined;
}

/**
 * Runs a "plateau" case: builds {@link ReduceLROnPlateau} from `kwargs` and `initial_lrs`, feeds `metrics` one
 * by one and after each compares `lrs` and `best` (case tolerance) and `num_bad_epochs`, `cooldown_counter`
 * (exact) with `expect[k]`.
 * @throws OnnxTrainError('BAD_CASE') for a malformed case (naming the field) or kwargs torch would refuse
 */
export function runPlateauCase(caseObj: unknown): HostCaseResult {
  const { id, obj, tol } = readHeader(caseObj, 'plateau');
  const kwargs = obj.kwargs ?? {};
  if (!isRecord(kwargs)) throw badCase(id, 'kwargs', 'expected an object of torch keyword arguments');
  for (const k of Object.keys(kwargs)) {
    if (!(PLATEAU_OPTION_NAMES as readonly string[]).includes(k)) {
      throw badCase(id, `kwargs.${k}`, 'not a ReduceLROnPlateau keyword argument',
        `use ${PLATEAU_OPTION_NAMES.join(', ')}`);
    }
  }
  if (!isNumberArray(obj.initial_lrs) || obj.initial_lrs.length === 0) {
    throw badCase(id, 'initial_lrs', 'expected a non-empty array of numbers (one lr per param group)');
  }
  if (!isNumberArray(obj.metrics)) throw badCase(id, 'metrics', 'expected an array of numbers');
  const expect = obj.expect;
  if (!Array.isArray(expect) || expect.length !== obj.metrics.length) {
    throw badCase(id, 'expect', 'expected one expectation object per metric');
  }
  expect.forEach((e, k) => {
    if (!isRecord(e) || !isNumberArray(e.lrs) || typeof e.best !== 'number' ||
      !Number.isInteger(e.num_bad_epochs) || !Number.isInteger(e.cooldown_counter)) {
      throw badCase(id, `expect[${k}]`, 'expected {"lrs": [numbers], "best": number, "num_bad_epochs": int, ' +
        '"cooldown_counter": int}');
    }
  });

  let sched: ReduceLROnPlateau;
  try {
    sched = new ReduceLROnPlateau(obj.initial_lrs, kwargs as ReduceLROnPlateauOptions);
  } catch (e) {
    if (isOnnxTrainError(e) && e.code === 'BAD_ARGUMENT') throw badCase(id, 'kwargs', e.what, e.fix);
    throw e;
  }
  for (let k = 0; k < obj.metrics.length; k++) {
    sched.step(obj.metrics[k] as number);
    const e = expect[k] as { lrs: number[]; best: number; num_bad_epochs: number; cooldown_counter: number };
    const msg =
      compareFloats(`expect[${k}].lrs`, sched.lrs, e.lrs, tol) ??
      compareFloats(`expect[${k}].best`, sched.best, e.best, tol) ??
      (sched.numBadEpochs !== e.num_bad_epochs
        ? `expect[${k}].num_bad_epochs [] got ${sched.numBadEpochs} want ${e.num_bad_epochs}` : undefined) ??
      (sched.cooldownCounter !== e.cooldown_counter
        ? `expect[${k}].cooldown_counter [] got ${sched.cooldownCounter} want ${e.cooldown_counter}` : undefined);
    if (msg) return { pass: false, message: msg };
  }
  return { pass: true };
}

function errorText(e: unknown): string {
  if (isOnnxTrainError(e)) return e.what;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs an "accumulator" case: a script of `call` (with `args`, null = None gradient), `reset` and
 * `get_gradients` operations on one {@link GradientAccumulator}. After each operation: `error` (null, or the start
 * of the raised message), `step` (exact) and `gradients` (the sums with the case tolerance, null entries stay
 * null, or the start of the message that reading them raises).
 * @throws OnnxTrainError('BAD_CASE') for a malformed script entry (naming it)
 */
export function runAccumulatorCase(caseObj: unknown): HostCaseResult {
  const { id, obj, tol } = readHeader(caseObj, 'accumulator');
  const script = obj.script;
  if (!Array.isArray(script)) throw badCase(id, 'script', 'expected an array of operations');
  const acc = new GradientAccumulator();
  for (let k = 0; k < script.length; k++) {
    const op = script[k] as unknown;
    const at = `script[${k}]`;
    if (!isRecord(op)) throw badCase(id, at, 'expected an object');
    if (op.error !== null && typeof op.error !== 'string') throw badCase(id, `${at}.error`, 'expected null or a string');
    if (!Number.isInteger(op.step)) throw badCase(id, `${at}.step`, 'expected an integer');
    const wantGrads = op.gradients;
    if (typeof wantGrads !== 'string' &&
      !(Array.isArray(wantGrads) && wantGrads.every((g) => g === null || isNumberArray(g)))) {
      throw badCase(id, `${at}.gradients`, 'expected a list of number lists / nulls, or a message string');
    }
    let raised: string | null = null;
    try {
      if (op.op === 'call') {
        const args = op.args;
        if (!Array.isArray(args) || !args.every((g) => g === null || isNumberArray(g))) {
          throw badCase(id, `${at}.args`, 'expected a list of number lists / nulls');
        }
        acc.call(args as GradientInput[]);
      } else if (op.op === 'reset') {
        acc.reset();
      } else if (op.op !== 'get_gradients') {
        throw badCase(id, `${at}.op`, `unknown operation ${JSON.stringify(op.op)}`, 'use call, reset, get_gradients');
      }
    } catch (e) {
      if (isOnnxTrainError(e) && e.code === 'BAD_CASE') throw e;
      raised = errorText(e);
    }
    if (op.error === null && raised !== null) return { pass: false, message: `${at}.error [] got ${fmt(raised)} want null` };
    if (typeof op.error === 'string' && (raised === null || !raised.startsWith(op.error))) {
      return { pass: false, message: `${at}.error [] got ${fmt(raised)} want ${fmt(op.error)}` };
    }
    if (acc.step !== op.step) return { pass: false, message: `${at}.step [] got ${acc.step} want ${op.step}` };

    let got: (Float32Array | null)[] | string;
    try {
      got = acc.gradients;
    } catch (e) {
      got = errorText(e);
    }
    if (typeof wantGrads === 'string') {
      if (typeof got !== 'string' || !got.startsWith(wantGrads)) {
        return { pass: false, message: `${at}.gradients [] got ${fmt(typeof got === 'string' ? got : got.map((g) => (g ? Array.from(g) : null)))} want ${fmt(wantGrads)}` };
      }
      continue;
    }
    if (typeof got === 'string') return { pass: false, message: `${at}.gradients [] got ${fmt(got)} want ${fmt(wantGrads)}` };
    const want = wantGrads as (number[] | null)[];
    if (got.length !== want.length) {
      return { pass: false, message: `${at}.gradients [] got ${got.length} tensors want ${want.length}` };
    }
    for (let i = 0; i < want.length; i++) {
      const g = got[i] ?? null;
      const w = want[i] ?? null;
      if (g === null || w === null) {
        if (g !== w) return { pass: false, message: `${at}.gradients[${i}] [] got ${fmt(g && Array.from(g))} want ${fmt(w)}` };
        continue;
      }
      const msg = compareFloats(`${at}.gradients[${i}]`, g, w, tol);
      if (msg) return { pass: false, message: msg };
    }
  }
  return { pass: true };
}
