/**
 * Runs the CLI as users do: a child process, `node --import tsx src/cli/main.ts ...`, from the repository root.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = path.resolve(REPO, '..', 'shared');
export const ARTIFACTS = path.join(SHARED, 'artifacts');
export const ARTIFACT_SETS = ['mnist-mlp-web', 'seizureguard-cnn1d', 'resnet50-conv0', 'lora-linear-mse'] as const;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` (default src/cli/main.ts) with `args`; resolves when the process exits. */
export function runNode(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runNode(path.join(REPO, 'src', 'cli', 'main.ts'), args, env);
}

/** A stack trace line, as printed for internal errors (and never for user errors). */
export const STACK_LINE = /^\s+at .+\(?.+:\d+:\d+\)?$/m;
