/** Small checks shared by the core rules; each returns the reason a rule does not apply, or undefined. */
import { Value } from '../../../builder/index.js';
import { dtypeName } from '../../../onnx/dtypes.js';
import type { Node } from '../../../ir/graph.js';
import type { LoweringContext } from '../rule.js';
import { FLOAT_TYPES } from './loss-math.js';

/** Inputs that must be present (non-blank), by index and name. */
export function missingInputs(n: Node, required: Record<number, string>): string | undefined {
  const missing = Object.entries(required).filter(([i]) => !n.input(Number(i))).map(([, name]) => name);
  return missing.length ? `required input(s) ${missing.join(', ')} missing` : undefined;
}

/** The element type of the first of `names` whose type is known. */
export function firstDtype(ctx: LoweringContext, ...names: (string | undefined)[]): number | undefined {
  for (const name of names) {
    if (!name) continue;
    const t = ctx.shapes.dtype(name);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** Reason when the element type is unknown or not a float type. */
export function floatTypeProblem(t: number | undefined, what: string): string | undefined {
  if (t === undefined) return `the element type of ${what} is unknown (no value_info or graph input type for it)`;
  if (!FLOAT_TYPES.has(t)) return `${what} has element type ${dtypeName(t)}; only float types are supported`;
  return undefined;
}

/** A graph value typed as `dtype` (when the pass knows it from another operand of the same type). */
export function typed(name: string, dtype: number | undefined, ctx?: LoweringContext): Value {
  return new Value(name, dtype ?? ctx?.shapes.dtype(name), ctx?.shapes.shape(name));
}
