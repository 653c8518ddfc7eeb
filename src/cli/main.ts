/**
 * `onnx-train <command> [args]`: dispatch, help and exit codes.
 *
 * Exit codes: 0 success; 1 a user-facing failure (an OnnxTrainError, printed without a stack: what, where, fix) or
 * a failed check; 2 an internal error (any other exception: a bug, printed with its stack). Subcommands may
 * return 2 themselves where their contract says so (conformance: malformed case file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { OnnxTrainError, isOnnxTrainError } from '../errors.js';
import { formatFlags, parseArgs, suggest, wantsHelp } from './args.js';
import { processIO, type CliContext, type CliIO, type Command, type CommandLoader } from './command.js';
import { reexecutor } from './reexec.js';
import { COMMANDS } from './commands/index.js';

export interface RunCliOptions {
  io?: CliIO;
  /** The dispatch table (default: the real one); tests pass their own. */
  commands?: Readonly<Record<string, CommandLoader>>;
  /**
   * How to start this CLI again (node arguments before the subcommand, e.g. `[...process.execArgv, script]`), for
   * commands that must restart with a changed environment. Only the program entry points set it.
   */
  self?: readonly string[];
}

const PROGRAM = 'onnx-train';

/** Runs the CLI on `argv` (without node and script) and returns the exit code; never throws. */
export async function runCli(argv: readonly string[], opts: RunCliOptions = {}): Promise<number> {
  const io = opts.io ?? processIO;
  const commands = opts.commands ?? COMMANDS;
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      if (name === 'help' && rest[0] !== undefined) return await runCli([rest[0], '--help'], opts);
      io[name === undefined ? 'err' : 'out'](await mainHelp(commands));
      return name === undefined ? 1 : 0;
    }
    if (name === '--version' || name === '-V') {
      io.out(`${version()}\n`);
      return 0;
    }
    const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!load) {
      const what = name.startsWith('-') ? `unknown option "${name}"` : `unknown command "${name}"${suggest(name, Object.keys(commands), '')}`;
      throw new OnnxTrainError('BAD_ARGUMENT', what, `run "${PROGRAM} --help" to list the commands`);
    }
    const cmd = (await load()).default;
    if (wantsHelp(rest)) {
      io.out(commandHelp(cmd));
      return 0;
    }
    const args = parseArgs(rest, cmd.flags, cmd.positionals, cmd.name);
    const ctx: CliContext = { argv, reexec: opts.self ? reexecutor(opts.self, argv) : undefined };
    return await cmd.run(args, io, ctx);
  } catch (e) {
    return reportError(e, io);
  }
}

/** Prints an error the CLI way and returns its exit code (1 for OnnxTrainError, 2 for a bug). */
export function reportError(e: unknown, io: CliIO): number {
  if (isOnnxTrainError(e)) {
    io.err(`error: ${e.message}\n`);
    return 1;
  }
  const stack = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : `thrown value: ${String(e)}`;
  io.err(`${stack}\n\n${PROGRAM}: internal error: this is a bug in ${PROGRAM}, not in your input; please report it with the trace above\n`);
  return 2;
}

async function mainHelp(commands: Readonly<Record<string, CommandLoader>>): Promise<string> {
  const loaded: Command[] = [];
  for (const load of Object.values(commands)) loaded.push((await load()).default);
  const w = Math.max(...loaded.map((c) => c.name.length));
  return [
    `${PROGRAM} ${version()}: training on stock ONNX Runtime`,
    '',
    `usage: ${PROGRAM} <command> [options]`,
    '',
    'commands:',
    ...loaded.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    `"${PROGRAM} <command> --help" describes a command.`,
    'exit status: 0 ok, 1 error in the input or a failed check, 2 internal error (a bug)',
    '',
  ].join('\n');
}

/** `onnx-train <cmd> --help`. */
export function commandHelp(cmd: Command): string {
  const flags = Object.keys(cmd.flags).length > 0 ? ' [options]' : '';
  return [
    `usage: ${PROGRAM} ${cmd.name} ${cmd.positionals.usage}${flags}`,
    '',
    cmd.summary,
    '',
    'options:',
    formatFlags(cmd.flags),
    ...(cmd.details ? ['', cmd.details.trim()] : []),
    '',
  ].join('\n');
}

function version(): string {
  try {
    const pkg = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');
    return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** True when this module is the program (`node --import tsx src/cli/main.ts`, `tsx src/cli/main.ts`). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(fs.realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await runCli(process.argv.slice(2), { self: [...process.execArgv, process.argv[1]!] });
}
