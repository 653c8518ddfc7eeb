/**
 * Runs a conformance case of kind "optimizer" (shared/conformance/FORMAT.md) on an {@link Engine}: validates the
 * case, builds the project's optimizer graph for it, threads parameters and state through every step exactly as
 * training does (each step's outputs are the next step's inputs), and compares parameters, every expected state
 * tensor, `lr_used`, `lr_t` and `updated_flag` with the case's tolerance.
 *
 * Malformed or unsupported input is an OnnxTrainError('BAD_CASE', what, fix, caseId) naming the field; a
 * numerical mismatch is `{pass: false, message: "<tensor> [index] got <x> want <y> (update k)"}`.
 */
import { OnnxTrainError, isOnnxTrainError } from '../errors.js';
import { encodeModel } from '../onnx/io.js';
import { buildOptimizerGraph, resolveOptimizer, type BuildOptions } from '../ops/optim/build.js';
import { initialState, type OptimizerIO } from '../ops/optim/io.js';
import type { LrSource } from '../ops/optim/optimizers/def.js';
import type { OptimizerSpec } from '../ops/optim/spec.js';
import { OPTIMIZER_TYPES } from '../ops/optim/spec.js';
import { boolTensor, f32Tensor, i64Tensor, type Engine, type HostTensor } from '../runtime/engine.js';

/** The outcome of one case. */
export interface CaseResult {
  readonly pass: boolean;
  readonly message?: string;
}

/** A tolerance: `|got − want| ≤ atol + rtol·|want|`, atol = `atol + atol_rel_to_tensor_max · max|want|`. */
export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
  readonly atolRelToTensorMax: number;
}

interface CaseParam { readonly name: string; readonly shape: number[]; readonly data: number[] }

interface CaseStep {
  readonly lr?: number;
  readonly R?: number;
  readonly T?: number;
  readonly stepInput?: number;
  readonly updateSignal?: boolean;
  readonly grads: number[][];
  readonly expectParams: number[][];
  readonly expectState: Record<string, Record<string, number[]>>;
  readonly lrUsed?: number[];
  readonly lrT?: number;
  readonly updatedFlag?: boolean;
}

/** A validated optimizer case. */
export interface OptimizerCase {
  readonly id: string;
  readonly optimizer: OptimizerSpec;
  readonly params: readonly CaseParam[];
  readonly steps: readonly CaseStep[];
  readonly tolerance: Tolerance;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

class CaseReader {
  constructor(readonly id: string) {}

  fail(field: string, what: string, fix?: string): never {
    throw new OnnxTrainError('BAD_CASE', `${field}: ${what}`, fix, this.id);
  }

  num(v: unknown, field: string): number {
    if (!isNum(v)) this.fail(field, `expected a finite number, got ${JSON.stringify(v)}`);
    return v;
  }

  int(v: unknown, field: string): number {
    if (!isNum(v) || !Number.isInteger(v)) this.fail(field, `expected an integer, got ${JSON.stringify(v)}`);
    return v;
  }

  numbers(v: unknown, field: string, length?: number): number[] {
    if (!Array.isArray(v)) this.fail(field, `expected an array of numbers, got ${JSON.stringify(v)?.slice(0, 60)}`);
    v.forEach((x, i) => { if (typeof x !== 'number') this.fail(`${field}[${i}]`, `expected a number, got ${JSON.stringify(x)}`); });
    if (length !== undefined && v.length !== length) this.fail(field, `expected ${length} values, got ${v.length}`);
    return v as number[];
  }
}

/**
 * Validates a case object of kind "optimizer".
 * @throws OnnxTrainError('BAD_CASE', what, fix, caseId) naming the field
 */
export function parseOptimizerCase(c: unknown): OptimizerCase {
  if (!isRecord(c)) throw new OnnxTrainError('BAD_CASE', 'a case must be a JSON object', 'see shared/conformance/FORMAT.md');
  const id = typeof c.id === 'string' && c.id !== '' ? c.id : undefined;
  if (!id) throw new OnnxTrainError('BAD_CASE', `id: expected a non-empty string, got ${JSON.stringify(c.id)}`, 'give every case a unique "id"');
  const r: CaseReader = new CaseReader(id);
  if (c.kind !== 'optimizer') r.fail('kind', `expected "optimizer", got ${JSON.stringify(c.kind)}`, 'run schedule / plateau / accumulator cases with their own runners');

  // optimizer
  if (!isRecord(c.optimizer)) r.fail('optimizer', 'expected an object with a "type"');
  const opt = c.optimizer as Record<string, unknown>;
  if (typeof opt.type !== 'string' || !(OPTIMIZER_TYPES as readonly string[]).includes(opt.type)) {
    r.fail('optimizer.type', `unsupported optimizer ${JSON.stringify(opt.type)}`, `use one of: ${OPTIMIZER_TYPES.join(', ')}`);
  }
  let optimizer: OptimizerSpec;
  try {
    optimizer = resolveOptimizer(opt as unknown as OptimizerSpec);
  } catch (e) {
    if (isOnnxTrainError(e) && e.code === 'BAD_ARGUMENT') {
      const key = /"(\w+)"/.exec(e.what)?.[1];
      r.fail(key && key in opt ? `optimizer.${key}` : 'optimizer', e.what, e.fix);
    }
    throw e;
  }

  // params
  if (!Array.isArray(c.params) || c.params.length === 0) r.fail('params', 'expected a non-empty array');
  const names = new Set<string>();
  const params: CaseParam[] = (c.params as unknown[]).map((p, i) => {
    const f = `params[${i}]`;
    if (!isRecord(p)) r.fail(f, 'expected an object {name, shape, data}');
    if (typeof p.name !== 'string' || p.name === '') r.fail(`${f}.name`, 'expected a non-empty string');
    if (names.has(p.name as string)) r.fail(`${f}.name`, `duplicate parameter name ${JSON.stringify(p.name)}`);
    names.add(p.name as string);
    if (!Array.isArray(p.shape) || !p.shape.every((d) => Number.isInteger(d) && d >= 0)) r.fail(`${f}.shape`, `expected non-negative integers, got ${JSON.stringify(p.shape)}`);
    const shape = p.shape as number[];
    const n = shape.reduce((a, d) => a * d, 1);
    return { name: p.name as string, shape, data: r.numbers(p.data, `${f}.data`, n) };
  });
  const sizes = params.map((p) => p.data.length);

  // steps
  if (!Array.isArray(c.steps) || c.steps.length === 0) r.fail('steps', 'expected a non-empty array');
  const type = optimizer.type;
  const onnx = type === 'onnx_adam' || type === 'onnx_adagrad' || type === 'onnx_momentum';
  const steps: CaseStep[] = (c.steps as unknown[]).map((s, k) => {
    const f = `steps[${k}]`;
    if (!isRecord(s)) r.fail(f, 'expected an object');
    if (!Array.isArray(s.grads) || s.grads.length !== params.length) r.fail(`${f}.grads`, `expected ${params.length} gradient arrays (one per param)`);
    const grads = (s.grads as unknown[]).map((g, i) => r.numbers(g, `${f}.grads[${i}]`, sizes[i]));
    if (!isRecord(s.expect)) r.fail(`${f}.expect`, 'expected an object with "params"');
    const e = s.expect as Record<string, unknown>;
    if (!Array.isArray(e.params) || e.params.length !== params.length) r.fail(`${f}.expect.params`, `expected ${params.length} arrays (one per param)`);
    const expectParams = (e.params as unknown[]).map((x, i) => r.numbers(x, `${f}.expect.params[${i}]`, sizes[i]));
    const expectState: Record<string, Record<string, number[]>> = {};
    if (e.state !== undefined) {
      if (!isRecord(e.state)) r.fail(`${f}.expect.state`, 'expected an object keyed by param name');
      for (const [pn, slots] of Object.entries(e.state)) {
        if (!names.has(pn)) r.fail(`${f}.expect.state`, `names no parameter ${JSON.stringify(pn)}`);
        if (!isRecord(slots)) r.fail(`${f}.expect.state.${pn}`, 'expected an object keyed by state name');
        expectState[pn] = {};
        for (const [sn, arr] of Object.entries(slots)) {
          expectState[pn][sn] = sn === 'step' ? [r.int(arr, `${f}.expect.state.${pn}.step`)] : r.numbers(arr, `${f}.expect.state.${pn}.${sn}`);
        }
      }
    }
    const step: { -readonly [K in keyof CaseStep]: CaseStep[K] } = { grads, expectParams, expectState };
    if (s.lr !== undefined && s.lr !== null) step.lr = r.num(s.lr, `${f}.lr`);
    if (onnx) {
      step.R = r.num(s.R, `${f}.R`);
      step.T = r.int(s.T, `${f}.T`);
    }
    if (s.step_input !== undefined) step.stepInput = r.int(s.step_input, `${f}.step_input`);
    if (s.update_signal !== undefined && s.update_signal !== null) {
      if (typeof s.update_signal !== 'boolean') r.fail(`${f}.update_signal`, 'expected a boolean');
      if (type !== 'ort_adamw') r.fail(`${f}.update_signal`, `only ort_adamw cases take an update_signal, not ${type}`);
      step.updateSignal = s.update_signal as boolean;
    }
    if (e.lr_used !== undefined) {
      if (type !== 'adafactor') r.fail(`${f}.expect.lr_used`, `only adafactor reports lr_used, not ${type}`);
      step.lrUsed = r.numbers(e.lr_used, `${f}.expect.lr_used`, params.length);
    }
    if (e.lr_t !== undefined) {
      if (type !== 'adam_weight_decay') r.fail(`${f}.expect.lr_t`, `only adam_weight_decay reports lr_t, not ${type}`);
      step.lrT = r.num(e.lr_t, `${f}.expect.lr_t`);
    }
    if (e.updated_flag !== undefined) {
      if (typeof e.updated_flag !== 'boolean') r.fail(`${f}.expect.updated_flag`, 'expected a boolean');
      if (type !== 'ort_adamw') r.fail(`${f}.expect.updated_flag`, `only ort_adamw reports updated_flag, not ${type}`);
      step.updatedFlag = e.updated_flag as boolean;
    }
    return step;
  });

  // tolerance
  if (!isRecord(c.tolerance)) r.fail('tolerance', 'expected an object {rtol, atol | atol_rel_to_tensor_max}');
  const t = c.tolerance as Record<string, unknown>;
  const rtol = r.num(t.rtol, 'tolerance.rtol');
  if (t.atol === undefined && t.atol_rel_to_tensor_max === undefined) r.fail('tolerance', 'needs "atol" or "atol_rel_to_tensor_max"');
  const atol = t.atol === undefined ? 0 : r.num(t.atol, 'tolerance.atol');
  const atolRel = t.atol_rel_to_tensor_max === undefined ? 0 : r.num(t.atol_rel_to_tensor_max, 'tolerance.atol_rel_to_tensor_max');
  if (rtol < 0 || atol < 0 || atolRel < 0) r.fail('tolerance', 'tolerances must be non-negative');

  return { id, optimizer, params, steps, tolerance: { rtol, atol, atolRelToTensorMax: atolRel } };
}

/** The learning-rate source of a case: per-step lrs as an input, else the optimizer's own. */
function caseLr(r: CaseReader, c: OptimizerCase, io0: { usesLr: boolean }): LrSource | undefined {
  const withLr = c.steps.filter((s) => s.lr !== undefined).length;
  if (withLr !== 0 && withLr !== c.steps.length) r.fail('steps', `${withLr} of ${c.steps.length} steps give "lr"; give it on every step or on none`);
  if (!io0.usesLr) return undefined;
  if (withLr) return 'input';
  const o = c.optimizer as { type: string; lr?: number | null };
  if (o.type === 'adam_weight_decay') return undefined;
  if (o.type === 'adafactor') {
    if (o.lr === null || o.lr === undefined) r.fail('steps[0].lr', 'adafactor with relative_step false needs an lr (per step or optimizer.lr)');
    return o.lr;
  }
  return o.lr ?? undefined;
}

/** Shortest decimal that rounds to the same float32 (how FORMAT.md writes float32 values). */
function f32repr(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  for (let p = 1; p <= 9; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

/** First element out of tolerance, as the runner's message; undefined when all pass. */
export function compareTensor(name: string, got: ArrayLike<number>, want: readonly number[], tol: Tolerance): string | undefined {
  if (got.length !== want.length) return `${name} [shape] got ${got.length} values want ${want.length}`;
  let max = 0;
  for (const w of want) max = Math.max(max, Math.abs(w));
  const atol = tol.atol + tol.atolRelToTensorMax * max;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (!(Math.abs(g - w) <= atol + tol.rtol * Math.abs(w))) return `${name} [${i}] got ${f32repr(g)} want ${w}`;
  }
  return undefined;
}

/**
 * Runs one optimizer case on `engine`.
 * @throws OnnxTrainError('BAD_CASE') for a malformed or unsupported case (see {@link parseOptimizerCase})
 */
export async function runOptimizerCase(raw: unknown, engine: Engine): Promise<CaseResult> {
  const c = parseOptimizerCase(raw);
  const r: CaseReader = new CaseReader(c.id);
  const type = c.optimizer.type;
  const relative = type === 'adafactor' && (c.optimizer as { relative_step?: boolean }).relative_step;
  const onnx = type === 'onnx_adam' || type === 'onnx_adagrad' || type === 'onnx_momentum';
  const usesLr = !relative && !onnx;
  const lr = caseLr(r, c, { usesLr });
  const opts: BuildOptions = lr === undefined ? {} : { lr };
  let built: { io: OptimizerIO; bytes: Uint8Array };
  try {
    const g = buildOptimizerGraph(c.optimizer, c.params.map((p) => ({ name: p.name, shape: p.shape })), opts);
    built = { io: g.io, bytes: encodeModel(g.model.toProto()) };
  } catch (e) {
    if (isOnnxTrainError(e) && e.code === 'BAD_ARGUMENT') r.fail('optimizer', e.what, e.fix);
    throw e;
  }
  const { io } = built;
  // Every expected state tensor must be one the graph has.
  for (const [k, s] of c.steps.entries()) {
    for (const [pn, slots] of Object.entries(s.expectState)) {
      const pio = io.params.find((p) => p.name === pn)!;
      for (const sn of Object.keys(slots)) {
        if (sn === 'step') continue;
        const slot = pio.slots.find((x) => x.slot === sn);
        if (!slot) return r.fail(`steps[${k}].expect.state.${pn}.${sn}`, `${type} has no state "${sn}" for this parameter (it has: ${pio.slots.map((x) => x.slot).join(', ') || 'none'})`);
        if (slots[sn].length !== slot.shape.reduce((a, d) => a * d, 1)) r.fail(`steps[${k}].expect.state.${pn}.${sn}`, `expected ${slot.shape.reduce((a, d) => a * d, 1)} values (shape ${JSON.stringify(slot.shape)}), got ${slots[sn].length}`);
      }
    }
  }

  const session = await engine.load(built.bytes);
  try {
    const params = new Map<string, Float32Array>(c.params.map((p) => [p.name, Float32Array.from(p.data)]));
    const state = new Map<string, Float32Array>(Object.entries(initialState(io)));
    for (const [k, s] of c.steps.entries()) {
      const feeds: Record<string, HostTensor> = {};
      const count = k + 1;
      feeds[io.step.name] = i64Tensor([onnx ? s.T! : s.stepInput ?? count]);
      if (io.lr.input) feeds[io.lr.input] = f32Tensor([onnx ? s.R! : s.lr!]);
      if (io.updateSignal) feeds[io.updateSignal] = boolTensor([s.updateSignal ?? true]);
      c.params.forEach((p, i) => {
        const pio = io.params[i];
        feeds[pio.input] = { type: 'float32', dims: p.shape, data: params.get(p.name)! };
        feeds[pio.grad] = f32Tensor(s.grads[i], p.shape);
        for (const sl of pio.slots) feeds[sl.input] = { type: 'float32', dims: sl.shape, data: state.get(sl.input)! };
      });
      const out = await session.run(feeds);
      const at = ` (update ${count} of ${c.steps.length})`;
      const fail = (m: string | undefined): CaseResult | undefined => (m ? { pass: false, message: m + at } : undefined);
      for (const [i, p] of c.params.entries()) {
        const pio = io.params[i];
        const got = out[pio.output].data as Float32Array;
        const bad = fail(compareTensor(p.name, got, s.expectParams[i], c.tolerance));
        if (bad) return bad;
        params.set(p.name, got);
        for (const sl of pio.slots) state.set(sl.input, out[sl.output].data as Float32Array);
        for (const [sn, want] of Object.entries(s.expectState[p.name] ?? {})) {
          if (sn === 'step') {
            if (want[0] !== count) return { pass: false, message: `${p.name}.step [0] got ${count} want ${want[0]}${at}` };
            continue;
          }
          const sl = pio.slots.find((x) => x.slot === sn)!;
          const b2 = fail(compareTensor(`${p.name}.${sn}`, out[sl.output].data as Float32Array, want, c.tolerance));
          if (b2) return b2;
        }
      }
      if (s.lrUsed) {
        const got = io.params.map((pio) => (out[pio.extras.lr_used!].data as Float32Array)[0]);
        const bad = fail(compareTensor('lr_used', got, s.lrUsed, c.tolerance));
        if (bad) return bad;
      }
      if (s.lrT !== undefined) {
        const bad = fail(compareTensor('lr_t', out[io.extras.lr_t!].data as Float32Array, [s.lrT], c.tolerance));
        if (bad) return bad;
      }
      if (s.updatedFlag !== undefined) {
        const got = (out[io.extras.updated_flag!].data as Uint8Array)[0] !== 0;
        if (got !== s.updatedFlag) return { pass: false, message: `updated_flag [0] got ${got} want ${s.updatedFlag}${at}` };
      }
    }
    return { pass: true };
  } finally {
    await session.release();
  }
}
