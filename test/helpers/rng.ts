/** Small seeded PRNG (mulberry32) so fuzz and random-init tests are reproducible. */
export { mulberry32 as rng } from '../../src/util/prng.js';

/** Normal(0, std) samples via Box-Muller. */
export function randn(r: () => number, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}
