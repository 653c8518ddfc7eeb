/**
 * Independent reference math (plain JS, from ORT's kernel definitions) for the non-loss core lowering rules,
 * plus the numerical-differentiation helpers the lowering tests share.
 */

/** ReluGrad: dX = dY where X > 0, else 0. */
export function reluGrad(dY: readonly number[], x: readonly number[]): number[] {
  return dY.map((g, i) => (x[i] > 0 ? g : 0));
}

/** Scale: x · s, or x / s with scale_down. */
export function scale(x: readonly number[], s: number, scaleDown: boolean): number[] {
  return x.map((v) => (scaleDown ? v / s : v * s));
}

/** InPlaceAccumulatorV2's new buffer: overwrite ? value : buffer + value. */
export function accumulate(buffer: readonly number[], value: readonly number[], overwrite: boolean | undefined): number[] {
  return buffer.map((b, i) => (overwrite ? value[i] : b + value[i]));
}

/**
 * Central finite difference of a scalar function at x along coordinate i: (f(x + h e_i) − f(x − h e_i)) / 2h.
 */
export async function centralDifference(f: (x: Float64Array) => Promise<number>, x: ArrayLike<number>, i: number, h: number): Promise<number> {
  const xp = Float64Array.from(x);
  const xm = Float64Array.from(x);
  xp[i] += h;
  xm[i] -= h;
  return ((await f(xp)) - (await f(xm))) / (2 * h);
}

/** Largest |a − b| / max(|b|, floor) over the elements. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return worst;
}

/** Largest |a − b|. */
export function maxAbsoluteError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
