/**
 * Shared helpers for the benchmarks: statistics, timing, memory, and the worker protocol that lets `run.ts`
 * interleave implementations that each live in their own process.
 *
 * Why workers: every implementation gets its own process (its own peak RSS, no ORT thread pool or wasm heap of
 * another runtime next to it), yet the measurements alternate — round r runs a block of steps in every worker, in
 * a rotated order — so a burst of load from other processes on this small, shared machine hits all of them alike
 * instead of whichever happened to run at that moment. Results are medians over all steps of all rounds.
 *
 * Protocol (line-based, so the Python worker speaks it too): a worker prints `@@bench {json}` lines on stdout —
 * first `{ready: true, ...}` after its setup, then one reply per request. Requests are JSON lines on stdin:
 * `{op: 'run', steps}` -> `{times: [ms per step]}`, `{op: 'info'}` -> `{peakRss, rss, ...}`, `{op: 'exit'}`.
 * Anything else a worker prints (library banners, warnings) is ignored.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(BENCH_DIR, '..', '..');
const TAG = '@@bench ';

// ------------------------------------------------------------------------------------------------ statistics

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Linear-interpolated quantile (q in [0, 1]). */
export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Median, quartiles and count of a sample, in its unit. */
export interface Summary {
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly n: number;
}

export function summarize(xs: readonly number[]): Summary {
  return { median: median(xs), p25: quantile(xs, 0.25), p75: quantile(xs, 0.75), min: xs.length ? Math.min(...xs) : NaN, n: xs.length };
}

export const now = () => Number(process.hrtime.bigint()) / 1e6;

// ------------------------------------------------------------------------------------------------ memory

function procStatus(field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Peak RSS of this process in bytes (Linux VmHWM; current RSS elsewhere). */
export function peakRss(): number {
  return procStatus('VmHWM') ?? process.memoryUsage().rss;
}

/** Minor page faults of this process so far (Linux; 0 elsewhere). */
export function minorFaults(): number {
  try {
    return Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
  } catch {
    return 0;
  }
}

/** Current RSS in bytes. */
export function currentRss(): number {
  return procStatus('VmRSS') ?? process.memoryUsage().rss;
}

/**
 * Times `reps` copies `b.set(a)` (single-threaded memcpy, ms each). With buffers far larger than the caches,
 * 2 * a.byteLength / time is the copy bandwidth one core sees (bytes read + bytes written per second).
 */
export function copyTimes(a: Float32Array, b: Float32Array, reps: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    b.set(a);
    times.push(now() - t0);
  }
  return times;
}

// ------------------------------------------------------------------------------------------------ worker side

export interface WorkerHandler {
  /** Runs `steps` steps; returns the time of each in ms. */
  run(steps: number): Promise<number[]> | number[];
  /** Extra facts for the report (merged into the `info` reply). */
  info?(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Any other request. */
  call?(req: Record<string, unknown>): Promise<Record<string, unknown>> | Record<string, unknown>;
}

function reply(obj: unknown): void {
  process.stdout.write(`${TAG}${JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))}\n`);
}

const errText = (e: unknown) => (e instanceof Error ? `${e.message}${(e as { fix?: string }).fix ? ` (fix: ${(e as { fix?: string }).fix})` : ''}` : String(e));

/** The worker side of the protocol: `setup` builds the handler, then requests are served until `exit`. */
export async function serveWorker(setup: () => Promise<WorkerHandler>, readyInfo: () => Record<string, unknown> = () => ({})): Promise<void> {
  let handler: WorkerHandler;
  try {
    handler = await setup();
  } catch (e) {
    reply({ ready: false, error: errText(e) });
    process.exit(0);
  }
  reply({ ready: true, ...readyInfo() });
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(line);
    } catch {
      reply({ error: `bad request ${line}` });
      continue;
    }
    try {
      if (req.op === 'exit') break;
      if (req.op === 'run') reply({ times: await handler.run(Number(req.steps ?? 1)) });
      else if (req.op === 'info') reply({ peakRss: peakRss(), rss: currentRss(), ...((await handler.info?.()) ?? {}) });
      else if (handler.call) reply(await handler.call(req));
      else reply({ error: `unknown op ${String(req.op)}` });
    } catch (e) {
      reply({ error: errText(e) });
    }
  }
  process.exit(0);
}

// ------------------------------------------------------------------------------------------------ parent side

export class BenchWorker {
  private readonly pending: ((msg: Record<string, unknown>) => void)[] = [];
  private readonly queue: Record<string, unknown>[] = [];
  private stderrTail: string[] = [];
  private exited: string | undefined;
  readyInfo: Record<string, unknown> = {};

  private constructor(readonly label: string, private readonly child: ChildProcess) {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (!line.startsWith(TAG)) return;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line.slice(TAG.length));
      } catch {
        msg = { error: `unparsable reply ${line.slice(0, 200)}` };
      }
      const p = this.pending.shift();
      if (p) p(msg);
      else this.queue.push(msg);
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderrTail.push(...d.toString().split('\n').filter((l) => l.trim() && !/npm warn/i.test(l)));
      this.stderrTail = this.stderrTail.slice(-6);
    });
    child.on('exit', (code, sig) => {
      this.exited = `exited (${sig ?? code})${this.stderrTail.length ? `: ${this.stderrTail.slice(-3).join(' | ')}` : ''}`;
      for (const p of this.pending.splice(0)) p({ error: `${label} ${this.exited}` });
    });
  }

  /** Starts a worker (a tsx script, or a python3 script when it ends in .py) and waits for its ready line. */
  static async start(label: string, script: string, args: readonly string[], opts: { env?: Record<string, string | undefined>; nodeArgs?: readonly string[]; timeoutMs?: number } = {}): Promise<BenchWorker> {
    const file = path.join(BENCH_DIR, script);
    const isPy = script.endsWith('.py');
    const cmd = isPy ? 'python3' : process.execPath;
    const argv = isPy ? [file, ...args] : [...(opts.nodeArgs ?? []), '--import', 'tsx', file, ...args];
    const child = spawn(cmd, argv, { cwd: REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const w = new BenchWorker(label, child);
    const spawnError = new Promise<Record<string, unknown>>((resolve) => child.on('error', (e) => resolve({ ready: false, error: `cannot start ${cmd}: ${e.message}` })));
    const ready = await Promise.race([w.next(opts.timeoutMs ?? 300_000), spawnError]);
    if (!ready.ready) {
      w.kill();
      throw new Error(String(ready.error ?? 'worker did not start'));
    }
    w.readyInfo = ready;
    return w;
  }

  private next(timeoutMs: number): Promise<Record<string, unknown>> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.exited) return Promise.resolve({ error: `${this.label} ${this.exited}` });
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const i = this.pending.indexOf(done);
        if (i >= 0) this.pending.splice(i, 1);
        resolve({ error: `${this.label}: no reply in ${timeoutMs / 1000} s` });
      }, timeoutMs);
      const done = (m: Record<string, unknown>) => {
        clearTimeout(t);
        resolve(m);
      };
      this.pending.push(done);
    });
  }

  /** One request; throws on an error reply. */
  async request(req: Record<string, unknown>, timeoutMs = 300_000): Promise<Record<string, unknown>> {
    if (this.exited) throw new Error(`${this.label} ${this.exited}`);
    this.child.stdin!.write(`${JSON.stringify(req)}\n`);
    const r = await this.next(timeoutMs);
    if (r.error) throw new Error(String(r.error));
    return r;
  }

  async run(steps: number, timeoutMs?: number): Promise<number[]> {
    return (await this.request({ op: 'run', steps }, timeoutMs)).times as number[];
  }

  info(): Promise<Record<string, unknown>> {
    return this.request({ op: 'info' });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      this.child.stdin!.write(`${JSON.stringify({ op: 'exit' })}\n`);
    } catch {
      // already closed
    }
    const t = setTimeout(() => this.kill(), 10_000);
    await gone;
    clearTimeout(t);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/**
 * Interleaved measurement: `rounds` rounds; in each, every worker runs `steps(label)` steps, the order rotated by
 * one each round. Returns all step times per label (ms). A worker that fails is dropped with its error recorded.
 */
export async function interleave(
  workers: readonly BenchWorker[],
  rounds: number,
  steps: (label: string) => number,
  log: (s: string) => void = () => undefined,
): Promise<{ times: Map<string, number[]>; blocks: Map<string, number[]>; errors: Map<string, string> }> {
  const times = new Map<string, number[]>(workers.map((w) => [w.label, []]));
  const blocks = new Map<string, number[]>(workers.map((w) => [w.label, []]));
  const errors = new Map<string, string>();
  for (let r = 0; r < rounds; r++) {
    const order = workers.map((_, i) => workers[(i + r) % workers.length]);
    for (const w of order) {
      if (errors.has(w.label)) continue;
      try {
        const t = await w.run(steps(w.label));
        times.get(w.label)!.push(...t);
        blocks.get(w.label)!.push(median(t));
      } catch (e) {
        errors.set(w.label, (e as Error).message);
        log(`  ${w.label}: ${(e as Error).message}`);
      }
    }
    log(`  round ${r + 1}/${rounds}: ${order.filter((w) => !errors.has(w.label)).map((w) => `${w.label} ${fmtMs(median(blocks.get(w.label)!.slice(-1)))}`).join(', ')}`);
  }
  return { times, blocks, errors };
}

/**
 * Starts workers, two at a time (setups are CPU-bound and this machine has few cores; nothing is timed yet), and
 * returns them in the order of `specs`.
 */
export async function startAll(specs: readonly { label: string; script: string; args: readonly string[]; env?: Record<string, string | undefined>; nodeArgs?: readonly string[] }[], log: (s: string) => void, parallel = 2): Promise<{ workers: BenchWorker[]; failed: Map<string, string> }> {
  const started = new Map<string, BenchWorker>();
  const failed = new Map<string, string>();
  const t0 = now();
  let next = 0;
  const lane = async () => {
    while (next < specs.length) {
      const s = specs[next++];
      try {
        started.set(s.label, await BenchWorker.start(s.label, s.script, s.args, { env: s.env, nodeArgs: s.nodeArgs }));
      } catch (e) {
        failed.set(s.label, (e as Error).message);
        log(`  ${s.label} unavailable: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
  log(`  started ${started.size} worker(s) in ${((now() - t0) / 1000).toFixed(1)} s`);
  return { workers: specs.filter((s) => started.has(s.label)).map((s) => started.get(s.label)!), failed };
}

// ------------------------------------------------------------------------------------------------ formatting

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return 'n/a';
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(2)} GiB`;
  return `${(b / (1 << 20)).toFixed(0)} MiB`;
}

/** 1000000 -> "1e6", 50000000 -> "5e7". */
export const fmtN = (n: number) => n.toExponential().replace(/\.?0*e\+?/, 'e');

export const fmtX = (x: number, digits = 2) => (Number.isFinite(x) ? `${x.toFixed(digits)}x` : 'n/a');

/** A plain-text table for stdout. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** A markdown table. */
export function mdTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${a.map((x) => (x === 'l' ? ':---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}
