/**
 * Running a script in a child node process with ORT's verbose log captured whole, and reading ORT's node placement
 * reports out of it (shared by the WebGPU runtime and compat tests).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parsePlacement } from '../../src/runtime/adapters/web-gpu-state.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/**
 * Runs `script` under node + tsx from the repository root: stdout piped, stderr written to a temporary file (a
 * pipe lost the tail of ORT's long verbose log now and then), returned as `log`.
 */
export async function runLogged(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; log: string; ms: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-train-ortlog-'));
  const file = path.join(dir, 'stderr.log');
  const fd = fs.openSync(file, 'w');
  const t0 = Date.now();
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', fd] });
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('close', resolve); });
    return { code, stdout, log: fs.readFileSync(file, 'utf8'), ms: Date.now() - t0 };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** ORT's placement reports in a verbose log, one per session ("Node placements" starts each). */
export function placementsBySession(log: string): ReturnType<typeof parsePlacement>[] {
  const sessions: string[][] = [];
  for (const line of log.split('\n')) {
    if (/VerifyEachNodeIsAssignedToAnEp\] Node placements/.test(line)) sessions.push([]);
    if (sessions.length) sessions[sessions.length - 1].push(line);
  }
  return sessions.map((lines) => parsePlacement(lines));
}
