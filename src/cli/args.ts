/**
 * argv parsing without dependencies: `--flag value`, `--flag=value`, booleans (`--json`, `--json=false`,
 * `--no-json`), repeatable flags (`type: 'string[]'`), `--` ends the flags. Every mistake is an
 * OnnxTrainError('BAD_ARGUMENT') that names the flag and says how to get help.
 */
import { OnnxTrainError } from '../errors.js';

export interface FlagSpec {
  readonly type: 'boolean' | 'string' | 'string[]';
  readonly description: string;
  /** Allowed values of a string flag. */
  readonly choices?: readonly string[];
  /** Shown in help: `--ep <ep>`. */
  readonly placeholder?: string;
  /** Default of a string flag (booleans default to false, arrays to []). */
  readonly default?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type FlagValue<F extends FlagSpec> = F['type'] extends 'boolean'
  ? boolean
  : F['type'] extends 'string[]'
    ? string[]
    : F extends { default: string }
      ? string
      : string | undefined;

export interface ParsedArgs<S extends FlagSpecs = FlagSpecs> {
  readonly flags: { [K in keyof S]: FlagValue<S[K]> };
  readonly positionals: readonly string[];
}

export interface PositionalSpec {
  /** Shown in usage, e.g. `<model.onnx | folder>`. */
  readonly usage: string;
  readonly min: number;
  readonly max?: number;
}

/** Parses `argv` (the arguments after the subcommand) against `flags`; `command` names it in errors. */
export function parseArgs<S extends FlagSpecs>(argv: readonly string[], flags: S, positional: PositionalSpec, command: string): ParsedArgs<S> {
  const help = `run "onnx-train ${command} --help" for usage`;
  const bad = (what: string) => new OnnxTrainError('BAD_ARGUMENT', what, help);
  const values: Record<string, boolean | string | string[] | undefined> = {};
  const seen = new Set<string>();
  for (const [name, spec] of Object.entries(flags)) {
    values[name] = spec.type === 'boolean' ? false : spec.type === 'string[]' ? [] : spec.default;
  }
  const positionals: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    // `-o <path>` is the conventional short form of `--out` (augment, lower, export).
    const long = arg === '-o' && flags.out ? '--out' : arg;
    if (!long.startsWith('--')) throw bad(`unknown option "${arg}"`);
    const eq = long.indexOf('=');
    let name = eq >= 0 ? long.slice(2, eq) : long.slice(2);
    let inline: string | undefined = eq >= 0 ? long.slice(eq + 1) : undefined;
    let spec = flags[name];
    if (!spec && name.startsWith('no-') && flags[name.slice(3)]?.type === 'boolean' && inline === undefined) {
      name = name.slice(3);
      spec = flags[name];
      inline = 'false';
    }
    if (!spec) throw bad(`unknown option "--${name}"${suggest(name, Object.keys(flags))}`);
    if (spec.type !== 'string[]' && seen.has(name)) throw bad(`option "--${name}" is given more than once`);
    seen.add(name);

    if (spec.type === 'boolean') {
      if (inline === undefined || inline === 'true') values[name] = true;
      else if (inline === 'false') values[name] = false;
      else throw bad(`option "--${name}" is a switch: give it alone, or as --${name}=true / --${name}=false (got "${inline}")`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw bad(`option "--${name}" needs a value${spec.choices ? ` (one of ${spec.choices.join(', ')})` : ''}`);
      }
      value = next;
      i++;
    }
    if (spec.choices && !spec.choices.includes(value)) {
      throw bad(`option "--${name}" must be one of ${spec.choices.join(', ')} (got "${value}")`);
    }
    if (spec.type === 'string[]') (values[name] as string[]).push(value);
    else values[name] = value;
  }

  if (positionals.length < positional.min) {
    throw bad(`missing argument: ${positional.usage}`);
  }
  if (positional.max !== undefined && positionals.length > positional.max) {
    throw bad(`unexpected argument "${positionals[positional.max]}" (takes ${positional.usage})`);
  }
  return { flags: values as ParsedArgs<S>['flags'], positionals };
}

/** True when argv asks for help (before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** ` (did you mean "--x"?)` for a near miss, else ''. */
export function suggest(name: string, candidates: readonly string[], prefix = '--'): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(best.length / 3)) ? ` (did you mean "${prefix}${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Help text for a command's flags, aligned. */
export function formatFlags(flags: FlagSpecs): string {
  const rows = Object.entries(flags).map(([name, f]) => {
    const head = f.type === 'boolean' ? `--${name}` : `--${name} <${f.placeholder ?? (f.choices ? f.choices.join('|') : 'value')}>`;
    const extra = [f.type === 'string[]' ? 'repeatable' : '', f.default !== undefined ? `default ${f.default}` : ''].filter(Boolean).join(', ');
    return [head, extra ? `${f.description} (${extra})` : f.description] as const;
  });
  rows.push(['--help, -h', 'show this help']);
  const w = Math.max(...rows.map(([h]) => h.length));
  return rows.map(([h, d]) => `  ${h.padEnd(w)}  ${d}`).join('\n');
}
