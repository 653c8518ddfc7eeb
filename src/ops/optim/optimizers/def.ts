/**
 * What an optimizer is to the graph builder: a resolved spec (defaults filled, validated as upstream validates),
 * the transform chain in upstream order, and the facts of its graph interface (input names, where its learning
 * rate comes from, its hyper-parameter precision).
 */
import { OnnxTrainError } from '../../../errors.js';
import type { ScheduleSpec } from '../../schedules/spec.js';
import type { Precision } from '../scalar.js';
import type { OptimizerSpec } from '../spec.js';
import type { Transform } from '../types.js';

/**
 * Where an optimizer graph's learning rate comes from: `'input'` (a float32 [1] graph input), a number (baked in
 * as a float32 constant), or a schedule evaluated in-graph at the 0-based update index `step − 1`.
 */
export type LrSource = 'input' | number | ScheduleSpec;

/** Options that shape the chain beyond the spec. */
export interface ChainOptions {
  /** Exact parameter names that never decay (transformers Trainer's no-decay parameter group). */
  readonly noWeightDecay?: readonly string[];
}

/** One optimizer type; see the module comment. */
export interface OptimizerDef<S extends OptimizerSpec = OptimizerSpec> {
  readonly type: S['type'];
  /**
   * The spec with every default filled in.
   * @throws OnnxTrainError('BAD_ARGUMENT') for unknown keys or values upstream rejects (upstream's message)
   */
  resolve(spec: S): S;
  /** The transform chain of a resolved spec, in upstream order (global-norm clipping is added by the builder). */
  transform(spec: S, opts: ChainOptions): Transform;
  /** Name of the int64 [1] step input: `step` (1-based update count) or ONNX's `T`. */
  readonly stepName: 'step' | 'T';
  /** Name of the learning-rate input when there is one: `lr`, or ONNX's `R`. */
  readonly lrName: 'lr' | 'R';
  /** The learning-rate source when BuildOptions.lr is absent; `'none'` when the optimizer uses no lr. */
  lrSource(spec: S): LrSource | 'none';
  /** Precision of the hyper-parameter arithmetic (torch/transformers float64; Keras/ORT float32). */
  readonly precision: Precision;
  /** Whether the graph exposes the learning rate it used as output `lr_t` (Keras `_decayed_lr`). */
  readonly lrOutput: boolean;
  /** Whether the graph has an `update_signal` input by default (ORT AdamWOptimizer). */
  readonly updateSignal: boolean;
  /** How BuildOptions.maxGradNorm clips: torch `clip_grad_norm_` or Keras `global_clipnorm`. */
  readonly clipStyle: 'torch' | 'keras';
  /** Why this optimizer cannot run in multi-tensor mode, or undefined when it can. */
  flatUnsupported(spec: S): string | undefined;
}

/** The interface fields of an OptimizerDef (everything but its type, defaults and math). */
export type InterfaceFields = Pick<OptimizerDef, 'stepName' | 'lrName' | 'lrSource' | 'precision' | 'lrOutput' | 'updateSignal' | 'clipStyle' | 'flatUnsupported'>;

/**
 * The interface of a torch-style optimizer: int64 `step` and float `lr` inputs, float64 hyper-parameter
 * arithmetic, torch clipping, no extra outputs, multi-tensor mode supported. Optimizers spread it and override
 * what differs.
 */
export const TORCH_INTERFACE: InterfaceFields = {
  stepName: 'step',
  lrName: 'lr',
  lrSource: () => 'input',
  precision: 'float64',
  lrOutput: false,
  updateSignal: false,
  clipStyle: 'torch',
  flatUnsupported: () => undefined,
};

/** ONNX's ai.onnx.preview.training operators: the same, with the op's input names `T` (step) and `R` (lr). */
export const ONNX_PREVIEW_INTERFACE: InterfaceFields = { ...TORCH_INTERFACE, stepName: 'T', lrName: 'R' };

function bad(type: string, what: string, fix?: string): OnnxTrainError {
  return new OnnxTrainError('BAD_ARGUMENT', what, fix, `optimizer ${type}`);
}

/** Rejects keys the upstream constructor does not take (Python's TypeError "unexpected keyword argument"). */
export function checkKeys(spec: object, allowed: readonly string[]): void {
  const type = (spec as { type: string }).type;
  for (const k of Object.keys(spec)) {
    if (k === 'type') continue;
    if (!allowed.includes(k)) {
      throw bad(type, `got an unexpected keyword argument "${k}"`, `the keys of ${type} are: ${allowed.join(', ')}`);
    }
  }
}

/** A finite number field (or its default when absent / undefined). */
export function num(spec: object, key: string, dflt: number): number {
  const v = (spec as Record<string, unknown>)[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw bad((spec as { type: string }).type, `"${key}" must be a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** A number field that may be null (Python None); undefined takes the default. */
export function numOrNull(spec: object, key: string, dflt: number | null): number | null {
  const v = (spec as Record<string, unknown>)[key];
  if (v === null) return null;
  return v === undefined ? dflt : num(spec, key, 0);
}

/** A boolean field (0/1 accepted, as Python truthiness of ints). */
export function bool(spec: object, key: string, dflt: boolean): boolean {
  const v = (spec as Record<string, unknown>)[key];
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  throw bad((spec as { type: string }).type, `"${key}" must be a boolean, got ${JSON.stringify(v)}`);
}

/** A pair of finite numbers (`betas`, `eps`). */
export function pair(spec: object, key: string, dflt: readonly [number, number]): [number, number] {
  const v = (spec as Record<string, unknown>)[key];
  if (v === undefined) return [dflt[0], dflt[1]];
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw bad((spec as { type: string }).type, `"${key}" must be a pair of numbers, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

/** A list of strings or null (Python None) / undefined → undefined. */
export function strings(spec: object, key: string): readonly string[] | undefined {
  const v = (spec as Record<string, unknown>)[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw bad((spec as { type: string }).type, `"${key}" must be a list of regex strings, got ${JSON.stringify(v)}`);
  }
  return v as string[];
}

/** Throws the upstream ValueError text as BAD_ARGUMENT unless `ok`. */
export function check(ok: boolean, type: string, message: string, fix?: string): void {
  if (!ok) throw bad(type, message, fix);
}
