/**
 * A training progress bar: step, loss, learning rate, samples/s and ETA.
 *
 * On a terminal it redraws one line in place (`\r`, erase to end of line), at most `fps` times a second and always
 * for the last step. Elsewhere (a pipe, a CI log, a test) it writes plain lines — one every `plainEvery` steps
 * (default: about ten per run) plus the last — so logs stay readable and short. Messages printed through
 * {@link ProgressBar.note} (e.g. evaluation results) clear the bar first and do not garble it.
 */

export interface ProgressUpdate {
  /** Completed updates (global step). */
  readonly step: number;
  /** Target step. */
  readonly total: number;
  readonly loss: number;
  readonly lr: number;
  readonly samplesPerSecond: number;
  readonly etaSeconds: number;
}

export interface ProgressOptions {
  /** Where to write (stderr by default in the CLI). */
  readonly write: (text: string) => void;
  /** Redraw in place (a terminal). */
  readonly tty: boolean;
  /** Bar width in characters (tty only; default 24). */
  readonly width?: number;
  /** Redraws per second at most (tty only; default 10). */
  readonly fps?: number;
  /** Non-tty: a line every N steps (default: total / 10, at least 1). */
  readonly plainEvery?: number;
  /** Clock in ms (tests). */
  readonly now?: () => number;
  /** Step the run started at (a resumed run), for the bar's fraction. */
  readonly startStep?: number;
}

export class ProgressBar {
  private lastDraw = -Infinity;
  private drawn = false;
  private last: ProgressUpdate | undefined;

  constructor(private readonly o: ProgressOptions) {}

  update(u: ProgressUpdate): void {
    this.last = u;
    const final = u.step >= u.total;
    if (this.o.tty) {
      const t = (this.o.now ?? Date.now)();
      if (!final && t - this.lastDraw < 1000 / (this.o.fps ?? 10)) return;
      this.lastDraw = t;
      this.o.write(`\r${formatProgressLine(u, { width: this.o.width ?? 24, startStep: this.o.startStep ?? 0 })}\x1b[K`);
      this.drawn = true;
      return;
    }
    const run = u.total - (this.o.startStep ?? 0);
    const every = this.o.plainEvery ?? Math.max(1, Math.round(run / 10));
    if (final || (u.step - (this.o.startStep ?? 0)) % every === 0) this.o.write(`${formatProgressLine(u, { width: 0, startStep: this.o.startStep ?? 0 })}\n`);
  }

  /** Prints a line of its own (e.g. eval results) without breaking the bar. */
  note(line: string): void {
    if (this.o.tty && this.drawn) {
      this.o.write(`\r\x1b[K${line}\n`);
      if (this.last) this.o.write(`${formatProgressLine(this.last, { width: this.o.width ?? 24, startStep: this.o.startStep ?? 0 })}\x1b[K`);
    } else {
      this.o.write(`${line}\n`);
    }
  }

  /** Ends the bar's line (tty). */
  done(): void {
    if (this.o.tty && this.drawn) this.o.write('\n');
    this.drawn = false;
  }
}

/**
 * `[########--------]  412/800  loss 0.3121  lr 6.1e-4  1843 samples/s  ETA 0:09` (`width` 0 omits the bar and
 * writes `step 412/800`).
 */
export function formatProgressLine(u: ProgressUpdate, o: { width: number; startStep?: number }): string {
  const digits = String(u.total).length;
  const head = o.width > 0
    ? `${bar((u.step - (o.startStep ?? 0)) / Math.max(1, u.total - (o.startStep ?? 0)), o.width)} ${String(u.step).padStart(digits)}/${u.total}`
    : `step ${String(u.step).padStart(digits)}/${u.total}`;
  return [
    head,
    `loss ${formatLoss(u.loss)}`,
    `lr ${formatLr(u.lr)}`,
    `${formatRate(u.samplesPerSecond)} samples/s`,
    `ETA ${formatDuration(u.etaSeconds)}`,
  ].join('  ');
}

function bar(frac: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(frac) ? frac : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

export function formatLoss(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1000 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4);
}

export function formatLr(x: number): string {
  return x === 0 ? '0' : x.toExponential(2);
}

function formatRate(x: number): string {
  return x >= 100 ? String(Math.round(x)) : x.toFixed(1);
}

/** `m:ss`, or `h:mm:ss` from an hour. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
