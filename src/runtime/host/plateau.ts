/**
 * torch `ReduceLROnPlateau` as an explicit host-side state machine (it is driven by an evaluation metric, not by
 * the step, so it cannot live inside the training graph: the runtime feeds the lr it returns as a graph input).
 *
 * Upstream: pytorch `torch/optim/lr_scheduler.py` `ReduceLROnPlateau` (`step`, `_reduce_lr`, `_is_better`,
 * `_init_is_better`); transformers `get_reduce_on_plateau_schedule` passes its kwargs straight through.
 * Semantics: `shared/reference/optimizer-semantics.md` §3. All arithmetic is float64, as in Python.
 */
import { OnnxTrainError } from '../../errors.js';

/** torch keyword arguments (same names). */
export interface ReduceLROnPlateauOptions {
  /** "min" (default): reduce when the metric stops decreasing; "max": when it stops increasing */
  readonly mode?: 'min' | 'max';
  /** new_lr = lr · factor; default 0.1; must be < 1 */
  readonly factor?: number;
  /** number of bad epochs tolerated; the lr is reduced when the bad count exceeds it; default 10 */
  readonly patience?: number;
  /** default 1e-4 */
  readonly threshold?: number;
  /** "rel" (default): best·(1 ∓ threshold); "abs": best ∓ threshold */
  readonly threshold_mode?: 'rel' | 'abs';
  /** epochs after a reduction during which bad epochs are ignored; default 0 */
  readonly cooldown?: number;
  /** lower bound, one for all groups or one per group; default 0 */
  readonly min_lr?: number | readonly number[];
  /** a reduction smaller than eps is skipped; default 1e-8 */
  readonly eps?: number;
}

/** The keyword arguments torch's `ReduceLROnPlateau.__init__` takes (besides the optimizer). */
export const PLATEAU_OPTION_NAMES = ['mode', 'factor', 'patience', 'threshold', 'threshold_mode', 'cooldown',
  'min_lr', 'eps'] as const;

/** Non-finite floats in a JSON-safe state. */
export type JsonFloat = number | 'Infinity' | '-Infinity' | 'NaN';

/**
 * The complete state of a {@link ReduceLROnPlateau}, JSON-safe (non-finite floats as strings), with the
 * configuration so that a checkpoint restores the same machine. Mirrors torch's `state_dict()` keys.
 */
export interface ReduceLROnPlateauState {
  readonly format: 'onnx-train/plateau@1';
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly threshold_mode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly min_lrs: readonly number[];
  readonly eps: number;
  readonly best: JsonFloat;
  readonly num_bad_epochs: number;
  readonly cooldown_counter: number;
  readonly last_epoch: number;
  /** the current lr of each param group */
  readonly lrs: readonly number[];
}

const STATE_FORMAT = 'onnx-train/plateau@1';

function encodeFloat(x: number): JsonFloat {
  if (Number.isFinite(x)) return x;
  if (Number.isNaN(x)) return 'NaN';
  return x > 0 ? 'Infinity' : '-Infinity';
}

function decodeFloat(x: unknown): number | undefined {
  if (typeof x === 'number') return x;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  if (x === 'NaN') return NaN;
  return undefined;
}

/**
 * torch-exact `ReduceLROnPlateau` over `initialLrs.length` param groups.
 *
 * `step(metric)`, in torch's order: `last_epoch += 1`; if the metric improves on `best` (min/rel:
 * `a < best·(1 − threshold)`, min/abs: `a < best − threshold`, max/rel: `a > best·(threshold + 1)`, max/abs:
 * `a > best + threshold`) then `best = a`, bad = 0, else bad += 1; if `cooldown_counter > 0` it is decremented and
 * bad = 0; if `bad > patience` every group gets `new = max(old·factor, min_lr_i)`, applied only when
 * `old − new > eps`, and then (whether or not any lr changed) `cooldown_counter = cooldown`, bad = 0.
 * `best` starts at +∞ (min) / −∞ (max), so the first metric always improves.
 *
 * Constructor errors, torch's wording: `Factor should be < 1.0.`, `expected N min_lrs, got M`,
 * `mode X is unknown!`, `threshold mode X is unknown!` (OnnxTrainError 'BAD_ARGUMENT').
 */
export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: readonly number[];
  readonly eps: number;
  private _best: number;
  private _numBadEpochs = 0;
  private _cooldownCounter = 0;
  private _lastEpoch = 0;
  private _lrs: number[];

  constructor(initialLrs: readonly number[], options: ReduceLROnPlateauOptions = {}) {
    const factor = options.factor ?? 0.1;
    if (factor >= 1.0) {
      throw new OnnxTrainError('BAD_ARGUMENT', 'Factor should be < 1.0.', 'use a factor below 1, e.g. 0.1');
    }
    const minLr = options.min_lr ?? 0;
    if (Array.isArray(minLr)) {
      if (minLr.length !== initialLrs.length) {
        throw new OnnxTrainError('BAD_ARGUMENT', `expected ${initialLrs.length} min_lrs, got ${minLr.length}`,
          'give one min_lr per param group, or a single number');
      }
      this.minLrs = [...(minLr as readonly number[])];
    } else {
      this.minLrs = initialLrs.map(() => minLr as number);
    }
    const mode = options.mode ?? 'min';
    const thresholdMode = options.threshold_mode ?? 'rel';
    checkModes(mode, thresholdMode);
    this.factor = factor;
    this.patience = options.patience ?? 10;
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = thresholdMode;
    this.cooldown = options.cooldown ?? 0;
    this.eps = options.eps ?? 1e-8;
    this.mode = mode;
    this._best = mode === 'min' ? Infinity : -Infinity;
    this._lrs = [...initialLrs];
  }

  /** Rebuilds a scheduler from {@link state}'s output (configuration and counters). */
  static fromState(state: unknown): ReduceLROnPlateau {
    const s = checkState(state);
    const p = new ReduceLROnPlateau(s.lrs, {
      mode: s.mode, factor: s.factor, patience: s.patience, threshold: s.threshold,
      threshold_mode: s.threshold_mode, cooldown: s.cooldown, min_lr: s.min_lrs, eps: s.eps,
    });
    p.load(s);
    return p;
  }

  /** The current lr of each param group (torch `get_last_lr()`). */
  get lrs(): readonly number[] {
    return [...this._lrs];
  }

  /** The best metric seen so far (±∞ before the first step). */
  get best(): number {
    return this._best;
  }

  get numBadEpochs(): number {
    return this._numBadEpochs;
  }

  get cooldownCounter(): number {
    return this._cooldownCounter;
  }

  /** Number of `step` calls so far. */
  get lastEpoch(): number {
    return this._lastEpoch;
  }

  /** True while bad epochs are ignored after a reduction. */
  get inCooldown(): boolean {
    return this._cooldownCounter > 0;
  }

  /** Feeds one metric value (torch `step(metrics)`) and returns the lrs to use from now on. */
  step(metric: number): readonly number[] {
    const current = Number(metric);
    this._lastEpoch += 1;
    if (this.isBetter(current, this._best)) {
      this._best = current;
      this._numBadEpochs = 0;
    } else {
      this._numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this._cooldownCounter -= 1;
      this._numBadEpochs = 0; // bad epochs during cooldown are ignored
    }
    if (this._numBadEpochs > this.patience) {
      this.reduceLr();
      this._cooldownCounter = this.cooldown;
      this._numBadEpochs = 0;
    }
    return this.lrs;
  }

  /** The JSON-safe state for checkpointing. */
  state(): ReduceLROnPlateauState {
    return {
      format: STATE_FORMAT,
      mode: this.mode,
      factor: this.factor,
      patience: this.patience,
      threshold: this.threshold,
      threshold_mode: this.thresholdMode,
      cooldown: this.cooldown,
      min_lrs: [...this.minLrs],
      eps: this.eps,
      best: encodeFloat(this._best),
      num_bad_epochs: this._numBadEpochs,
      cooldown_counter: this._cooldownCounter,
      last_epoch: this._lastEpoch,
      lrs: [...this._lrs],
    };
  }

  /**
   * Restores the counters, `best` and the lrs from a {@link state} output. The configuration in the state must
   * match this scheduler's (use {@link ReduceLROnPlateau.fromState} to take the configuration from the state).
   * @throws OnnxTrainError('BAD_CHECKPOINT') naming the field that is missing, malformed or different
   */
  load(state: unknown): void {
    const s = checkState(state);
    const mine = this.state();
    for (const k of ['mode', 'factor', 'patience', 'threshold', 'threshold_mode', 'cooldown', 'eps'] as const) {
      if (s[k] !== mine[k]) {
        throw new OnnxTrainError('BAD_CHECKPOINT', `plateau state field ${k} is ${String(s[k])}, this scheduler ` +
          `has ${String(mine[k])}`, 'build the scheduler with ReduceLROnPlateau.fromState(state)');
      }
    }
    if (s.lrs.length !== this._lrs.length || s.min_lrs.some((m, i) => m !== this.minLrs[i])) {
      throw new OnnxTrainError('BAD_CHECKPOINT', `plateau state has ${s.lrs.length} param groups / min_lrs ` +
        `${JSON.stringify(s.min_lrs)}, this scheduler has ${this._lrs.length} / ${JSON.stringify(this.minLrs)}`,
      'build the scheduler with ReduceLROnPlateau.fromState(state)');
    }
    this._best = decodeFloat(s.best) as number;
    this._numBadEpochs = s.num_bad_epochs;
    this._cooldownCounter = s.cooldown_counter;
    this._lastEpoch = s.last_epoch;
    this._lrs = [...s.lrs];
  }

  private isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') {
      const relEpsilon = 1.0 - this.threshold;
      return a < best * relEpsilon;
    }
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') {
      const relEpsilon = this.threshold + 1.0;
      return a > best * relEpsilon;
    }
    return a > best + this.threshold;
  }

  private reduceLr(): void {
    for (let i = 0; i < this._lrs.length; i++) {
      const oldLr = this._lrs[i] as number;
      const newLr = pyMax(oldLr * this.factor, this.minLrs[i] as number);
      if (oldLr - newLr > this.eps) this._lrs[i] = newLr;
    }
  }
}

/** Python's `max(a, b)`: `a` unless `b > a`. */
function pyMax(a: number, b: number): number {
  return b > a ? b : a;
}

function checkModes(mode: unknown, thresholdMode: unknown): void {
  if (mode !== 'min' && mode !== 'max') {
    throw new OnnxTrainError('BAD_ARGUMENT', `mode ${String(mode)} is unknown!`, 'use mode "min" or "max"');
  }
  if (thresholdMode !== 'rel' && thresholdMode !== 'abs') {
    throw new OnnxTrainError('BAD_ARGUMENT', `threshold mode ${String(thresholdMode)} is unknown!`,
      'use threshold_mode "rel" or "abs"');
  }
}

function checkState(state: unknown): ReduceLROnPlateauState {
  const fail = (what: string): never => {
    throw new OnnxTrainError('BAD_CHECKPOINT', `plateau state: ${what}`,
      'pass an object produced by ReduceLROnPlateau.state()');
  };
  if (state === null || typeof state !== 'object') return fail('not an object');
  const s = state as Record<string, unknown>;
  if (s.format !== STATE_FORMAT) fail(`format is ${JSON.stringify(s.format)}, expected "${STATE_FORMAT}"`);
  for (const k of ['factor', 'threshold', 'eps', 'patience', 'cooldown']) {
    if (typeof s[k] !== 'number') fail(`${k} must be a number`);
  }
  for (const k of ['num_bad_epochs', 'cooldown_counter', 'last_epoch']) {
    if (!Number.isSafeInteger(s[k]) || (s[k] as number) < 0) fail(`${k} must be a non-negative integer`);
  }
  if (decodeFloat(s.best) === undefined) fail('best must be a number or "Infinity" / "-Infinity" / "NaN"');
  for (const k of ['lrs', 'min_lrs']) {
    const v = s[k];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) fail(`${k} must be an array of numbers`);
  }
  if ((s.lrs as unknown[]).length !== (s.min_lrs as unknown[]).length) fail('lrs and min_lrs differ in length');
  try {
    checkModes(s.mode, s.threshold_mode);
  } catch (e) {
    fail((e as OnnxTrainError).what);
  }
  return s as unknown as ReduceLROnPlateauState;
}
