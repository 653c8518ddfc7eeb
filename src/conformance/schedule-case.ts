/**
 * Runs a conformance case of kind "schedule" (shared/conformance/FORMAT.md): builds the project's in-graph
 * schedule subgraph (emitSchedule) for the case's schedule, feeds it each listed step on the engine, and compares
 * the learning rate the graph computes with `expect_lr`. No JavaScript formula is consulted: the graph is the
 * product under test.
 */
import { OnnxTrainError } from '../errors.js';
import { GraphBuilder } from '../builder/index.js';
import { DataType } from '../onnx/dtypes.js';
import { encodeModel } from '../onnx/io.js';
import { emitSchedule } from '../ops/schedules/emit.js';
import { scheduleFromCase } from '../ops/schedules/from-case.js';
import { i64Tensor, type Engine } from '../runtime/engine.js';
import { compareTensor, type CaseResult, type Tolerance } from './optimizer-case.js';

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function bad(id: string, field: string, what: string, fix = 'see shared/conformance/FORMAT.md, kind "schedule"'): never {
  throw new OnnxTrainError('BAD_CASE', `${field}: ${what}`, fix, id);
}

export async function runScheduleCase(raw: unknown, engine: Engine): Promise<CaseResult> {
  if (!isRecord(raw)) throw new OnnxTrainError('BAD_CASE', 'a case must be a JSON object', 'see shared/conformance/FORMAT.md');
  const id = typeof raw.id === 'string' && raw.id ? raw.id : bad('<no id>', 'id', 'expected a non-empty string');
  if (raw.kind !== 'schedule') bad(id, 'kind', `expected "schedule", got ${JSON.stringify(raw.kind)}`);
  if (!isRecord(raw.schedule)) bad(id, 'schedule', 'expected an object with a "type"');
  const num = (v: unknown, field: string): number => (typeof v === 'number' && Number.isFinite(v) ? v : bad(id, field, `expected a finite number, got ${JSON.stringify(v)}`));
  const base_lr = raw.base_lr === undefined ? undefined : num(raw.base_lr, 'base_lr');
  const default_lr = raw.default_lr === undefined ? undefined : num(raw.default_lr, 'default_lr');
  if (!Array.isArray(raw.steps) || raw.steps.length === 0) bad(id, 'steps', 'expected a non-empty array of integers');
  const steps = (raw.steps as unknown[]).map((s, i) => (Number.isSafeInteger(s) && (s as number) >= 0 ? (s as number) : bad(id, `steps[${i}]`, `expected a non-negative integer, got ${JSON.stringify(s)}`)));
  if (!Array.isArray(raw.expect_lr) || raw.expect_lr.length !== steps.length) bad(id, 'expect_lr', `expected ${steps.length} numbers (one per step)`);
  const want = (raw.expect_lr as unknown[]).map((v, i) => num(v, `expect_lr[${i}]`));
  if (!isRecord(raw.tolerance)) bad(id, 'tolerance', 'expected {rtol, atol | atol_rel_to_tensor_max}');
  const t = raw.tolerance as Record<string, unknown>;
  if (t.atol === undefined && t.atol_rel_to_tensor_max === undefined) bad(id, 'tolerance', 'needs "atol" or "atol_rel_to_tensor_max"');
  const tol: Tolerance = {
    rtol: num(t.rtol, 'tolerance.rtol'),
    atol: t.atol === undefined ? 0 : num(t.atol, 'tolerance.atol'),
    atolRelToTensorMax: t.atol_rel_to_tensor_max === undefined ? 0 : num(t.atol_rel_to_tensor_max, 'tolerance.atol_rel_to_tensor_max'),
  };

  const spec = scheduleFromCase(raw.schedule, { base_lr, default_lr }, `${id}: schedule`);
  const b = GraphBuilder.create(`schedule_${String(raw.schedule.type)}`);
  const step = b.input('step', DataType.INT64, [1]);
  b.output(emitSchedule(b, spec, step), 'lr', DataType.FLOAT);
  const session = await engine.load(encodeModel(b.toModel().toProto()));
  try {
    const got: number[] = [];
    for (const s of steps) {
      const out = await session.run({ step: i64Tensor([s]) });
      got.push(Number(out.lr.data[0]));
    }
    const msg = compareTensor('lr', got, want, tol);
    return msg ? { pass: false, message: msg.replace(/^lr \[(\d+)\]/, (_, i) => `lr [step ${steps[Number(i)]}]`) } : { pass: true };
  } finally {
    await session.release();
  }
}
