/**
 * MNIST digits in the browser: the same split, order and float32 values as src/runtime/data/mnist.ts (Node),
 * fetched from data/mnist.bin, which tools/web/prepare.ts writes from that loader (layout in writeMnist there).
 */
export const PIXELS = 784;

export interface Split {
  /** [n, 784] row-major, float32 in [0, 1]. */
  readonly images: Float32Array;
  readonly labels: BigInt64Array;
  readonly count: number;
}

export interface Mnist {
  readonly train: Split;
  readonly test: Split;
}

/** Fetches and decodes mnist.bin. */
export async function loadMnist(url: string): Promise<Mnist> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status} (run "npm run web:prepare")`);
  return decodeMnist(new Uint8Array(await res.arrayBuffer()));
}

export function decodeMnist(buf: Uint8Array): Mnist {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0, false) !== 0x4d4e5331) throw new Error('mnist.bin: bad magic (re-run "npm run web:prepare")');
  const nTrain = dv.getUint32(4, true);
  const nTest = dv.getUint32(8, true);
  const table = new Float32Array(buf.slice(12, 12 + 1024).buffer);
  let o = 12 + 1024;
  const labels = (n: number) => {
    const l = new BigInt64Array(n);
    for (let i = 0; i < n; i++) l[i] = BigInt(buf[o + i]);
    o += n;
    return l;
  };
  const trainLabels = labels(nTrain);
  const testLabels = labels(nTest);
  const images = (n: number) => {
    const x = new Float32Array(n * PIXELS);
    for (let i = 0; i < x.length; i++) x[i] = table[buf[o + i]];
    o += x.length;
    return x;
  };
  return {
    train: { images: images(nTrain), labels: trainLabels, count: nTrain },
    test: { images: images(nTest), labels: testLabels, count: nTest },
  };
}

/** Batch `k` of size `batch`, wrapping around (as batchAt in src/runtime/data/mnist.ts). */
export function batchAt(split: Split, k: number, batch: number): { images: Float32Array; labels: BigInt64Array } {
  const start = (k * batch) % Math.max(1, split.count - batch + 1);
  return {
    images: split.images.slice(start * PIXELS, (start + batch) * PIXELS),
    labels: split.labels.slice(start, start + batch),
  };
}
