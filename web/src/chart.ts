/** A small live line chart (training loss per step, with a moving average) on a canvas. */
export class LossChart {
  private points: number[] = [];
  private pending = false;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.draw();
  }

  reset(): void {
    this.points = [];
    this.draw();
  }

  push(loss: number): void {
    this.points.push(loss);
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  draw(): void {
    const c = this.canvas.getContext('2d')!;
    const { width: w, height: h } = this.canvas;
    const pad = { l: 44, r: 10, t: 10, b: 24 };
    c.fillStyle = '#fff';
    c.fillRect(0, 0, w, h);
    c.strokeStyle = '#ccc';
    c.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
    const p = this.points;
    const maxY = Math.max(0.5, ...p.slice(0, 2000));
    const n = Math.max(10, p.length);
    const X = (i: number) => pad.l + ((w - pad.l - pad.r) * i) / (n - 1);
    const Y = (v: number) => pad.t + (h - pad.t - pad.b) * (1 - Math.min(v, maxY) / maxY);
    c.fillStyle = '#555';
    c.font = '11px system-ui, sans-serif';
    c.textAlign = 'right';
    for (const v of [0, maxY / 2, maxY]) c.fillText(v.toFixed(2), pad.l - 4, Y(v) + 4);
    c.textAlign = 'center';
    c.fillText(`step (${p.length})`, w / 2, h - 6);
    const line = (vals: number[], color: string, width: number) => {
      if (vals.length < 2) return;
      c.strokeStyle = color;
      c.lineWidth = width;
      c.beginPath();
      vals.forEach((v, i) => (i ? c.lineTo(X(i), Y(v)) : c.moveTo(X(i), Y(v))));
      c.stroke();
    };
    line(p, '#9ec5fe', 1);
    const k = 20;
    const avg = p.map((_, i) => { const s = p.slice(Math.max(0, i - k + 1), i + 1); return s.reduce((a, b) => a + b, 0) / s.length; });
    line(avg, '#0b5ed7', 2);
  }
}
