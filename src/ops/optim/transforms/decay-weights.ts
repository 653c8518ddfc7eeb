/**
 * `decayWeights`: decoupled weight decay `p ← p·(1 − k)` with `k = rate·lr`, `rate·step_size` or `rate`, applied
 * before the update (torch AdamW `p.mul_(1 − lr·wd)`, Keras AdamWeightDecay `p − lr·p·rate`, ORT mode 0,
 * Adafactor `p.add_(p, alpha=−wd·lr)`) or after it on the updated parameter (transformers AdamW
 * `p.add_(p, alpha=−lr·wd)`, ORT mode 1, ONNX Adam `norm_coefficient_post`). In the affine update this only
 * rescales `keep` (before) or `post` (after): no tensor pass of its own unless a multi-tensor mask makes the factor
 * per-element.
 *
 * Which parameters decay follows Keras `AdamWeightDecay._do_use_weight_decay`: rate 0 → none; a name in
 * `exclude_names` → no; any `include` regex found (`re.search`) → yes; any `exclude` regex found → no; else yes.
 * In multi-tensor mode the decision is made per segment and becomes a constant boolean mask when it is mixed.
 */
import { DataType } from '../../../onnx/dtypes.js';
import type { GraphBuilder } from '../../../builder/index.js';
import { OnnxTrainError } from '../../../errors.js';
import { asValue, ScalarMath, tensorCoef, type Precision } from '../scalar.js';
import type { Coef, ParamInfo, Transform, UpdateArgs, UpdateResult } from '../types.js';
import { elementwise, mulCoef } from '../update.js';

/** Which parameters a weight decay applies to (see the module comment). */
export interface DecaySelection {
  /** Regexes (Python `re.search` semantics) that force decay; they win over `exclude`. */
  readonly include?: readonly string[];
  /** Regexes that exclude a parameter from decay. */
  readonly exclude?: readonly string[];
  /** Exact parameter names that never decay (transformers Trainer's no-decay group). */
  readonly exclude_names?: readonly string[];
}

/** Spec of {@link decayWeights}: factor `1 − rate·k` applied `before` (keep) or `after` (post) the update. */
export interface DecayWeightsSpec {
  readonly rate: number;
  readonly when: 'before' | 'after';
  /** k = rate·lr (`lr`), rate·(the `step_size` var of an earlier transform), or rate (`none`). */
  readonly times: 'lr' | 'step_size' | 'none';
  readonly precision: Precision;
  readonly select?: DecaySelection;
}

/**
 * Python's verbose mode (`re.X`): drops unescaped whitespace and `#` comments outside character classes.
 */
function stripVerbose(p: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      out += p.slice(i, i + 2);
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === '#') {
      while (i < p.length && p[i] !== '\n') i++;
    } else if (!/\s/.test(c)) {
      out += c;
    }
  }
  return out;
}

/**
 * A Python regular expression as a JS RegExp: `(?P<n>` → `(?<n>`, `(?P=n)` → `\k<n>`, `\A` → `(?<![\s\S])`,
 * `\Z` → `$(?![\s\S])` (both hold under the m flag too), and global inline flags at the start (Python 3.11 allows them only there), e.g. `(?i)layernorm`: `i`, `m`, `s` become
 * RegExp flags, `x` strips whitespace and comments, `a` / `u` (character-class tables) are accepted as no-ops.
 * @throws OnnxTrainError('BAD_ARGUMENT') when the pattern does not compile
 */
export function pyRegex(pattern: string): RegExp {
  let body = pattern;
  let flags = '';
  let verbose = false;
  for (let m = /^\(\?([aiLmsux]+)\)/.exec(body); m; m = /^\(\?([aiLmsux]+)\)/.exec(body)) {
    for (const f of m[1]!) {
      if (f === 'L') {
        throw new OnnxTrainError('BAD_ARGUMENT', `weight-decay pattern ${JSON.stringify(pattern)}: the (?L) flag applies only to bytes patterns`, 'drop (?L)');
      }
      if ((f === 'i' || f === 'm' || f === 's') && !flags.includes(f)) flags += f;
      if (f === 'x') verbose = true;
    }
    body = body.slice(m[0].length);
  }
  if (verbose) body = stripVerbose(body);
  const js = body.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>').replace(/\\A/g, '(?<![\\s\\S])').replace(/\\Z/g, '$(?![\\s\\S])');
  try {
    return new RegExp(js, flags);
  } catch (e) {
    throw new OnnxTrainError('BAD_ARGUMENT', `weight-decay pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(e as Error).message}`, 'use a Python re pattern that JavaScript can compile too');
  }
}

/** Whether the parameter `name` decays under `sel` (Keras `_do_use_weight_decay`, rate ≠ 0). */
export function decays(name: string, sel: DecaySelection | undefined): boolean {
  if (!sel) return true;
  if (sel.exclude_names?.includes(name)) return false;
  if (sel.include?.some((r) => pyRegex(r).test(name))) return true;
  if (sel.exclude?.some((r) => pyRegex(r).test(name))) return false;
  return true;
}

/** Per-element decision for a parameter: true/false for all of it, or a mask over a flat buffer. */
function decision(p: ParamInfo, sel: DecaySelection | undefined): boolean | Uint8Array {
  if (!p.segments) return decays(p.name, sel);
  const flags = p.segments.map((s) => decays(s.name, sel));
  if (flags.every((f) => f)) return true;
  if (flags.every((f) => !f)) return false;
  const n = p.shape.reduce((a, d) => a * d, 1);
  const mask = new Uint8Array(n);
  p.segments.forEach((s, i) => { if (flags[i]) mask.fill(1, s.offset, s.offset + s.size); });
  return mask;
}

/** Decoupled weight decay; see the module comment. */
export function decayWeights(spec: DecayWeightsSpec): Transform<DecayWeightsSpec> {
  return {
    name: spec.when === 'before' ? 'decay_weights_before' : 'decay_weights_after',
    spec,
    slots: () => [],
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      if (spec.rate === 0) return { update: u.update };
      const which = decision(u.param, spec.select);
      if (which === false) return { update: u.update };
      const { ctx } = u;
      let times: Coef = 1;
      if (spec.times === 'lr') times = ctx.lr();
      else if (spec.times === 'step_size') {
        const ss = u.vars.step_size;
        if (ss === undefined) throw new OnnxTrainError('BAD_ARGUMENT', 'decayWeights(times: "step_size") needs an earlier transform that publishes step_size', 'put scaleByAdafactorStepSize before it in the chain');
        times = ss;
      }
      let c: Coef = ctx.smath(b, spec.precision, 'decay', [times, spec.rate], (S) => S.sub(1, S.mul(times, spec.rate)));
      if (which instanceof Uint8Array) {
        const mask = u.constant('decay_mask', DataType.BOOL, which);
        c = elementwise(b.op.Where(mask, asValue(b, tensorCoef(b, c)), b.f32(1)));
      }
      const S = new ScalarMath(b, spec.precision);
      if (spec.when === 'before') return { update: { ...u.update, keep: mulCoef(b, S, u.update.keep, c) } };
      return { update: { ...u.update, post: mulCoef(b, S, u.update.post, c) } };
    },
  };
}
