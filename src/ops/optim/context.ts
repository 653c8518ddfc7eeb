/**
 * What every transform of one optimizer graph shares: the step counter, the learning rate, and the scalar
 * subexpressions that depend on nothing but those (bias corrections, β2 schedules, clip coefficients), which are
 * emitted once per graph under `<scope>/shared`, not once per parameter.
 */
import { GraphBuilder, Value } from '../../builder/index.js';
import { OnnxTrainError } from '../../errors.js';
import { ScalarMath, type Precision } from './scalar.js';
import type { Coef } from './types.js';

/** The per-graph state handed to every transform. */
export class StepContext {
  /** A builder over the same graph whose nodes are named `<scope>/shared/…`. */
  readonly sb: GraphBuilder;
  private readonly memo = new Map<string, unknown>();
  private readonly sharedValues = new WeakSet<Value>();
  /** Values computed by `prepare` stages (e.g. the global clip coefficient), by key. */
  readonly globals = new Map<string, Coef>();

  /**
   * @param b the graph's builder
   * @param scope the optimizer's node scope, e.g. `optim/adamw`
   * @param step the step-counter input (int64, shape [1]); its meaning is the optimizer's (see build.ts)
   * @param lrFn produces the float32 learning rate of this update (called at most once, under the shared scope)
   */
  constructor(
    readonly b: GraphBuilder,
    readonly scope: string,
    private readonly stepValue: Value | undefined,
    private readonly lrFn: ((sb: GraphBuilder) => Value) | undefined,
  ) {
    this.sb = new GraphBuilder(b.graph, { opset: b.opset, scope: `${scope}/shared` });
  }

  /** The step-counter input. */
  get step(): Value {
    if (!this.stepValue) throw new OnnxTrainError('BAD_ARGUMENT', `optimizer graph "${this.scope}" has no step input`, 'this transform needs a step counter');
    return this.stepValue;
  }

  /** Scalar math in the shared scope. */
  scalars(precision: Precision): ScalarMath {
    return new ScalarMath(this.sb, precision);
  }

  /** The float32 learning rate of this update (input, constant or in-graph schedule), emitted once. */
  lr(): Value {
    if (!this.lrFn) throw new OnnxTrainError('BAD_ARGUMENT', `optimizer graph "${this.scope}" has no learning rate`, 'this transform needs a learning rate');
    const fn = this.lrFn;
    return this.shared('lr', () => fn(this.sb));
  }

  /**
   * Computes `fn` once per graph for `key` (emitting into the shared scope) and returns the cached result after.
   * A Value result is marked shared (see {@link isShared}).
   */
  shared<T>(key: string, fn: (sb: GraphBuilder) => T): T {
    if (this.memo.has(key)) return this.memo.get(key) as T;
    const v = fn(this.sb);
    if (v instanceof Value) this.sharedValues.add(v);
    this.memo.set(key, v);
    return v;
  }

  /** Marks a graph value as the same for every parameter of the graph (computed once). */
  markShared<T extends Coef>(c: T): T {
    if (c instanceof Value) this.sharedValues.add(c);
    return c;
  }

  /** True for numbers and for values computed once per graph. */
  isShared(c: Coef): boolean {
    return typeof c === 'number' || this.sharedValues.has(c);
  }

  /**
   * Scalar math over `operands`: when every operand is shared (or a number) the result is emitted once per graph
   * in the shared scope, memoised by `tag` and the operands; otherwise it is emitted with `b` (the current
   * parameter's scope).
   */
  smath(b: GraphBuilder, precision: Precision, tag: string, operands: readonly Coef[], fn: (S: ScalarMath) => Coef): Coef {
    if (operands.every((o) => this.isShared(o))) {
      const key = `${tag}|${precision}|${operands.map((o) => (typeof o === 'number' ? `#${o}` : o.name)).join('|')}`;
      return this.shared(key, (sb) => fn(new ScalarMath(sb, precision)));
    }
    return fn(new ScalarMath(b, precision));
  }
}
