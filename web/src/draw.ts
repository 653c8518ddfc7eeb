/**
 * A drawing pad for one digit and the MNIST preprocessing of what was drawn: the ink's bounding box is scaled to
 * fit 20x20 (aspect kept) and placed in a 28x28 field so that its centre of mass sits at the centre — how the
 * MNIST digits themselves were made (LeCun et al.) — with values in [0, 1].
 */
export class DrawPad {
  private drawing = false;
  private last: [number, number] | undefined;
  private readonly ctx: CanvasRenderingContext2D;
  /** Called when a stroke ends. */
  onStroke: (() => void) | undefined;

  constructor(readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    const pos = (e: PointerEvent): [number, number] => {
      const r = canvas.getBoundingClientRect();
      return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
    };
    canvas.addEventListener('pointerdown', (e) => { this.drawing = true; this.last = pos(e); this.line(this.last, this.last); canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener('pointermove', (e) => { if (!this.drawing) return; const p = pos(e); this.line(this.last!, p); this.last = p; });
    const end = () => { if (!this.drawing) return; this.drawing = false; this.onStroke?.(); };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  private line(a: [number, number], b: [number, number]): void {
    const c = this.ctx;
    c.strokeStyle = '#fff';
    c.lineWidth = this.canvas.width / 14;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(a[0], a[1]);
    c.lineTo(b[0], b[1]);
    c.stroke();
  }

  /** Shows a 28x28 image (e.g. a test digit) on the pad. */
  show(image: Float32Array): void {
    const small = document.createElement('canvas');
    small.width = small.height = 28;
    const sc = small.getContext('2d')!;
    const img = sc.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.round(image[i] * 255);
      img.data.set([v, v, v, 255], i * 4);
    }
    sc.putImageData(img, 0, 0);
    this.clear();
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(small, 0, 0, this.canvas.width, this.canvas.height);
  }

  /** The drawing as an MNIST-style 28x28 image, or undefined when the pad is empty. */
  toMnist(): Float32Array | undefined {
    const { width: w, height: h } = this.canvas;
    const px = this.ctx.getImageData(0, 0, w, h).data;
    let x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      if (px[(y * w + x) * 4] > 20) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
    if (x1 < 0) return undefined;
    const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    const s = 20 / Math.max(bw, bh);
    const tw = Math.max(1, Math.round(bw * s)), th = Math.max(1, Math.round(bh * s));
    const box = document.createElement('canvas');
    box.width = tw; box.height = th;
    const bc = box.getContext('2d', { willReadFrequently: true })!;
    bc.imageSmoothingEnabled = true;
    bc.imageSmoothingQuality = 'high';
    bc.drawImage(this.canvas, x0, y0, bw, bh, 0, 0, tw, th);
    const b = bc.getImageData(0, 0, tw, th).data;
    let m = 0, cx = 0, cy = 0;
    for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) { const v = b[(y * tw + x) * 4]; m += v; cx += v * x; cy += v * y; }
    const ox = Math.round(14 - cx / m), oy = Math.round(14 - cy / m);
    const out = new Float32Array(784);
    for (let y = 0; y < th; y++) for (let x = 0; x < tw; x++) {
      const X = x + ox, Y = y + oy;
      if (X >= 0 && X < 28 && Y >= 0 && Y < 28) out[Y * 28 + X] = b[(y * tw + x) * 4] / 255;
    }
    return out;
  }
}
