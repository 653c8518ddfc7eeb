/**
 * transformers (TF) `GradientAccumulator` on the host: float32 running sums of gradient lists and a step counter.
 *
 * Upstream: huggingface/transformers `src/transformers/optimization_tf.py` `GradientAccumulator` (extracted from
 * OpenNMT-tf). Semantics: `shared/reference/optimizer-semantics.md` §7.3.
 */
import { OnnxTrainError } from '../../errors.js';

/** One gradient: a flat float32 tensor (numbers are rounded to float32 as TF converts them), or None. */
export type GradientInput = Float32Array | readonly number[] | null | undefined;

/** The JSON-safe state of a {@link GradientAccumulator}. `gradients` null: not initialised yet. */
export interface GradientAccumulatorState {
  readonly format: 'onnx-train/gradient-accumulator@1';
  readonly step: number;
  readonly gradients: readonly (readonly number[] | null)[] | null;
}

const STATE_FORMAT = 'onnx-train/gradient-accumulator@1';

/**
 * TF-exact gradient accumulator:
 * - `step` is 0 before the first call.
 * - `call(gradients)`: while no buffer exists (first call, or every earlier call passed an empty list), one zero
 *   buffer per entry is allocated, None entries stay None; a list whose length differs from the number of buffers
 *   throws `Expected N gradients, but got M` and leaves the step unchanged; every gradient with a buffer is added
 *   into it (float32); `step += 1`. A gradient at a position whose buffer is None is ignored, as upstream.
 * - `gradients`: the **sums** (no averaging: the caller scales), copies; before initialisation it throws
 *   `The accumulator should be called first to initialize the gradients`.
 * - `reset()`: a no-op before initialisation; else step = 0 and every buffer zeroed (sizes kept).
 *
 * One deliberate difference: a gradient whose size differs from its buffer throws SHAPE_MISMATCH before anything
 * is added (TF raises from `assign_add` after adding the gradients before it).
 */
export class GradientAccumulator {
  private buffers: (Float32Array | null)[] = [];
  private accumSteps = 0;

  /** Rebuilds an accumulator from {@link state}'s output. */
  static fromState(state: unknown): GradientAccumulator {
    const acc = new GradientAccumulator();
    acc.load(state);
    return acc;
  }

  /** Number of accumulated calls since creation or the last reset. */
  get step(): number {
    return this.accumSteps;
  }

  /** True once buffers exist (upstream: `self._gradients` is non-empty). */
  get initialized(): boolean {
    return this.buffers.length > 0;
  }

  /**
   * The accumulated sums (copies), null where the first call had None.
   * @throws OnnxTrainError('BAD_ARGUMENT') `The accumulator should be called first to initialize the gradients`
   */
  get gradients(): (Float32Array | null)[] {
    if (this.buffers.length === 0) {
      throw new OnnxTrainError('BAD_ARGUMENT', 'The accumulator should be called first to initialize the gradients',
        'call the accumulator with a list of gradients before reading them');
    }
    return this.buffers.map((b) => (b === null ? null : Float32Array.from(b)));
  }

  /**
   * Accumulates one list of gradients (upstream `__call__`).
   * @throws OnnxTrainError('BAD_ARGUMENT') `Expected N gradients, but got M` (step unchanged)
   * @throws OnnxTrainError('SHAPE_MISMATCH') when a gradient's size differs from its buffer (nothing added)
   */
  call(gradients: readonly GradientInput[]): void {
    if (this.buffers.length === 0) {
      this.buffers = gradients.map((g) => (g === null || g === undefined ? null : new Float32Array(g.length)));
    }
    if (gradients.length !== this.buffers.length) {
      throw new OnnxTrainError('BAD_ARGUMENT', `Expected ${this.buffers.length} gradients, but got ${gradients.length}`,
        'pass the same number of gradients (None included) on every call');
    }
    gradients.forEach((g, i) => {
      const buf = this.buffers[i];
      if (buf && g !== null && g !== undefined && g.length !== buf.length) {
        throw new OnnxTrainError('SHAPE_MISMATCH',
          `gradient ${i} has ${g.length} elements, its accumulator buffer has ${buf.length}`,
          'pass gradients of the same shapes on every call');
      }
    });
    gradients.forEach((g, i) => {
      const buf = this.buffers[i];
      if (!buf || g === null || g === undefined) return;
      // Float32Array stores round the float64 sum of two float32 values: a correctly rounded float32 add.
      for (let j = 0; j < buf.length; j++) buf[j] = (buf[j] as number) + Math.fround(g[j] as number);
    });
    this.accumSteps += 1;
  }

  /** Zeroes the sums and the step (upstream `reset`); a no-op before the first call. */
  reset(): void {
    if (this.buffers.length === 0) return;
    this.accumSteps = 0;
    for (const b of this.buffers) b?.fill(0);
  }

  /** The JSON-safe state (float32 sums written as numbers, which round-trip exactly). */
  state(): GradientAccumulatorState {
    return {
      format: STATE_FORMAT,
      step: this.accumSteps,
      gradients: this.buffers.length === 0 ? null : this.buffers.map((b) => (b === null ? null : Array.from(b))),
    };
  }

  /**
   * Restores a {@link state} output.
   * @throws OnnxTrainError('BAD_CHECKPOINT') naming what is malformed
   */
  load(state: unknown): void {
    const fail = (what: string): never => {
      throw new OnnxTrainError('BAD_CHECKPOINT', `gradient accumulator state: ${what}`,
        'pass an object produced by GradientAccumulator.state()');
    };
    if (state === null || typeof state !== 'object') return fail('not an object');
    const s = state as Record<string, unknown>;
    if (s.format !== STATE_FORMAT) fail(`format is ${JSON.stringify(s.format)}, expected "${STATE_FORMAT}"`);
    if (!Number.isSafeInteger(s.step) || (s.step as number) < 0) fail('step must be a non-negative integer');
    const g = s.gradients;
    if (g !== null && !Array.isArray(g)) fail('gradients must be null or an array');
    const buffers = ((g ?? []) as unknown[]).map((b, i) => {
      if (b === null) return null;
      if (!Array.isArray(b) || b.some((x) => typeof x !== 'number')) fail(`gradients[${i}] must be numbers or null`);
      return Float32Array.from(b as number[]);
    });
    this.buffers = buffers;
    this.accumSteps = s.step as number;
  }
}
