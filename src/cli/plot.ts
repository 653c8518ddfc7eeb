/**
 * Training curves as a self-contained SVG (no dependency): training loss (raw, light, and an exponential moving
 * average, dark), evaluation loss as points, and the learning rate in a second panel below, sharing the step
 * axis. Axis ticks are "nice" numbers (1, 2, 5 × 10^k). Non-finite values are left out of the lines.
 */

export interface PlotPoint {
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
}

export interface PlotEval {
  readonly step: number;
  readonly loss: number;
  readonly accuracy?: number;
}

export interface PlotOptions {
  readonly title?: string;
  /** Legend label of the evaluation points (default "eval loss"). */
  readonly evalLabel?: string;
  /** Smoothing of the loss line: EMA weight of the past (default 0.9; 0 = raw only). */
  readonly smoothing?: number;
  readonly width?: number;
  readonly height?: number;
}

const COLORS = { raw: '#9ecae1', smooth: '#08519c', eval: '#d94801', lr: '#238b45', grid: '#e5e5e5', axis: '#333333', text: '#222222' };

/** The SVG document for `points` (one per update) and optional evaluation results. */
export function renderTrainingPlot(points: readonly PlotPoint[], evals: readonly PlotEval[] = [], o: PlotOptions = {}): string {
  const W = o.width ?? 720;
  const H = o.height ?? 480;
  const m = { l: 64, r: 20, t: 36, b: 40 };
  const gap = 44;
  const innerH = H - m.t - m.b - gap;
  const lossH = Math.round(innerH * 0.62);
  const lrH = innerH - lossH;
  const plotW = W - m.l - m.r;
  const lossTop = m.t;
  const lrTop = m.t + lossH + gap;

  const steps = [...points.map((p) => p.step), ...evals.map((e) => e.step)].filter(Number.isFinite);
  const xMin = steps.length ? Math.min(...steps) : 0;
  const xMax = steps.length ? Math.max(...steps) : 1;
  const xs = scale(xMin, xMax === xMin ? xMin + 1 : xMax, m.l, m.l + plotW);

  const losses = [...points.map((p) => p.loss), ...evals.map((e) => e.loss)].filter(Number.isFinite);
  const lossTicks = niceTicks(losses.length ? Math.min(0, ...losses) : 0, losses.length ? Math.max(...losses) : 1, 5);
  const ys = scale(lossTicks[0], lossTicks[lossTicks.length - 1], lossTop + lossH, lossTop);

  const lrs = points.map((p) => p.lr).filter(Number.isFinite);
  const lrTicks = niceTicks(0, lrs.length ? Math.max(...lrs) : 1, 3);
  const yl = scale(lrTicks[0], lrTicks[lrTicks.length - 1], lrTop + lrH, lrTop);
  const xTicks = niceTicks(xMin, xMax === xMin ? xMin + 1 : xMax, 6).filter((t) => t >= xMin && t <= Math.max(xMax, xMin + 1));

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  if (o.title) out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" fill="${COLORS.text}">${escapeXml(o.title)}</text>`);

  const panel = (top: number, h: number, ticks: number[], y: (v: number) => number, label: string, fmt: (v: number) => string) => {
    for (const t of ticks) {
      const yy = f(y(t));
      out.push(`<line x1="${m.l}" y1="${yy}" x2="${m.l + plotW}" y2="${yy}" stroke="${COLORS.grid}"/>`);
      out.push(`<text x="${m.l - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="${COLORS.text}">${escapeXml(fmt(t))}</text>`);
    }
    for (const t of xTicks) {
      const xx = f(xs(t));
      out.push(`<line x1="${xx}" y1="${top}" x2="${xx}" y2="${top + h}" stroke="${COLORS.grid}"/>`);
    }
    out.push(`<rect x="${m.l}" y="${top}" width="${plotW}" height="${h}" fill="none" stroke="${COLORS.axis}"/>`);
    out.push(`<text x="14" y="${f(top + h / 2)}" text-anchor="middle" transform="rotate(-90 14 ${f(top + h / 2)})" fill="${COLORS.text}">${escapeXml(label)}</text>`);
  };
  panel(lossTop, lossH, lossTicks, ys, 'loss', fmtTick);
  panel(lrTop, lrH, lrTicks, yl, 'learning rate', fmtLr);
  for (const t of xTicks) {
    out.push(`<text x="${f(xs(t))}" y="${lrTop + lrH + 16}" text-anchor="middle" fill="${COLORS.text}">${escapeXml(fmtTick(t))}</text>`);
  }
  out.push(`<text x="${m.l + plotW / 2}" y="${H - 6}" text-anchor="middle" fill="${COLORS.text}">step</text>`);

  const raw = points.map((p) => [p.step, p.loss] as const);
  const alpha = o.smoothing ?? 0.9;
  out.push(polyline(raw, xs, ys, COLORS.raw, 1));
  if (alpha > 0) {
    const smooth: (readonly [number, number])[] = [];
    let ema: number | undefined;
    let w = 0;
    for (const [s, l] of raw) {
      if (!Number.isFinite(l)) continue;
      ema = (ema ?? 0) * alpha + (1 - alpha) * l;
      w = w * alpha + (1 - alpha);
      smooth.push([s, ema / w]); // debiased, as TensorBoard does
    }
    out.push(polyline(smooth, xs, ys, COLORS.smooth, 2));
  }
  for (const e of evals) {
    if (!Number.isFinite(e.loss) || !Number.isFinite(e.step)) continue;
    out.push(`<circle cx="${f(xs(e.step))}" cy="${f(ys(e.loss))}" r="3.5" fill="${COLORS.eval}"><title>${escapeXml(`step ${e.step}: ${o.evalLabel ?? 'eval loss'} ${e.loss.toFixed(4)}${e.accuracy !== undefined ? `, accuracy ${(e.accuracy * 100).toFixed(2)}%` : ''}`)}</title></circle>`);
  }
  out.push(polyline(points.map((p) => [p.step, p.lr] as const), xs, yl, COLORS.lr, 2));

  // Legend (top right of the loss panel).
  const legend: [string, string][] = [['train loss', COLORS.raw], ...(alpha > 0 ? [['train loss (EMA)', COLORS.smooth] as [string, string]] : []),
    ...(evals.length ? [[o.evalLabel ?? 'eval loss', COLORS.eval] as [string, string]] : []), ['learning rate', COLORS.lr]];
  let ly = lossTop + 14;
  for (const [name, color] of legend) {
    const lx = m.l + plotW - 130;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 24}" y="${ly}" dominant-baseline="middle" fill="${COLORS.text}">${escapeXml(name)}</text>`);
    ly += 16;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function polyline(pts: readonly (readonly [number, number])[], x: (v: number) => number, y: (v: number) => number, color: string, width: number): string {
  const coords = pts.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b)).map(([a, b]) => `${f(x(a))},${f(y(b))}`);
  return `<polyline fill="none" stroke="${color}" stroke-width="${width}" stroke-linejoin="round" points="${coords.join(' ')}"/>`;
}

function scale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

const f = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Ticks at 1/2/5 × 10^k covering [lo, hi] (about `n` of them); first ≤ lo, last ≥ hi. */
export function niceTicks(lo: number, hi: number, n: number): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi <= lo) hi = lo + (lo === 0 ? 1 : Math.abs(lo));
  const raw = (hi - lo) / Math.max(1, n);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((c) => c * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = start; v < hi + step * 0.5 && ticks.length < 50; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(1) : String(Number(v.toPrecision(6)));
}

function fmtLr(v: number): string {
  return v === 0 ? '0' : v.toExponential(1);
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
