/**
 * What a subcommand is: a usage line, flags, and a `run` that returns the exit code. Subcommands print through
 * `CliIO` (so tests and re-execution can redirect) and throw OnnxTrainError for user mistakes; main.ts turns
 * those into exit 1 and anything else into exit 2 with a stack.
 */
import type { FlagSpecs, ParsedArgs, PositionalSpec } from './args.js';

export interface CliIO {
  /** Writes to standard output (no newline added). */
  out(text: string): void;
  /** Writes to standard error (no newline added). */
  err(text: string): void;
}

/** What a command may know about how it was started. */
export interface CliContext {
  /** The arguments runCli got (subcommand first). */
  readonly argv: readonly string[];
  /**
   * Runs this same command line again in a new process with `env` added, inheriting stdio, and resolves to its
   * exit code. Absent when runCli was not started as the program (then a command must do without).
   */
  readonly reexec?: (env: Readonly<Record<string, string>>) => Promise<number>;
}

export interface Command<S extends FlagSpecs = FlagSpecs> {
  readonly name: string;
  /** One line, shown by `onnx-train --help`. */
  readonly summary: string;
  readonly positionals: PositionalSpec;
  readonly flags: S;
  /** Paragraphs after the flags in `onnx-train <name> --help`. */
  readonly details?: string;
  run(args: ParsedArgs<S>, io: CliIO, ctx: CliContext): Promise<number>;
}

/** Identity that keeps the flag types of `c` (so `run` sees typed flags). */
export function defineCommand<S extends FlagSpecs>(c: Command<S>): Command<S> {
  return c;
}

/** The dispatch table's entry: a loader, so that `--help` and other commands do not load every subcommand. */
export type CommandLoader = () => Promise<{ default: Command<any> }>;

let pipeGuarded = false;
/** A reader that stops early (`onnx-train inspect --json x | head`) closes the pipe: that is not an error. */
function guardPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

export const processIO: CliIO = {
  out: (t) => {
    guardPipe();
    process.stdout.write(t);
  },
  err: (t) => void process.stderr.write(t),
};
