/**
 * Restarting the CLI with a changed environment. Needed where a variable only works from process start: the
 * WebGPU EP on a machine without a GPU needs LD_LIBRARY_PATH to reach SwiftShader's Vulkan loader, and the
 * dynamic loader reads LD_LIBRARY_PATH once, at start-up (see src/runtime/adapters/webgpu-env.ts).
 */
import { spawn } from 'node:child_process';
import * as os from 'node:os';

/** Set in the restarted process, so that it never restarts again. */
export const REEXEC_MARK = 'ONNX_TRAIN_REEXEC';

/** True when this process is already a restart. */
export function isReexec(): boolean {
  return process.env[REEXEC_MARK] === '1';
}

/** A function that runs `node <self...> <argv...>` with `env` added, inheriting stdio, resolving to its exit code. */
export function reexecutor(self: readonly string[], argv: readonly string[]) {
  return (env: Readonly<Record<string, string>>): Promise<number> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...self, ...argv], { stdio: 'inherit', env: { ...process.env, ...env, [REEXEC_MARK]: '1' } });
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        const signo = signal ? (os.constants.signals as Record<string, number>)[signal] : undefined;
        resolve(code ?? (signo !== undefined ? 128 + signo : 2));
      });
    });
}
