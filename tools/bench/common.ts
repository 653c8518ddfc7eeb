/** Shared helpers for the benchmarks: timing, medians, memory-bandwidth measurement, child-process runs. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Copy bandwidth in bytes/s (bytes read + bytes written per second) of a 128 MiB TypedArray.set — the
 * memcpy speed this process sees right now. The AdamW bound is 28 bytes/param at this rate.
 */
export function copyBandwidth(reps = 7): number {
  const n = 32 * 1024 * 1024;
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n);
  b.set(a); // fault pages in
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    b.set(a);
    times.push(now() - t0);
  }
  return (2 * n * 4) / (median(times) / 1e3);
}

/** Peak RSS of this process in bytes (Linux VmHWM). */
export function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
  } catch {
    return process.memoryUsage().rss;
  }
}

/** Runs a worker script (tsx) in a fresh process and parses the last JSON line it prints. */
export function runWorker(script: string, args: string[], env: Record<string, string> = {}): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  const lines = (r.stdout ?? '').trim().split('\n');
  const last = lines[lines.length - 1];
  try {
    return JSON.parse(last);
  } catch {
    return { error: `worker failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
  }
}

export function runPython(code: string, args: string[]): Record<string, unknown> {
  const r = spawnSync('python3', ['-c', code, ...args], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { error: `python3 unavailable or failed: ${(r.stderr || String(r.error)).trim().split('\n').slice(-1)[0]}` };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  } catch {
    return { error: 'python3 printed no result' };
  }
}
