/**
 * Independent reference math (float64 JS, written from the ONNX operator definitions and ORT's CPU kernels,
 * not from the lowering code) for the loss ops the core lowering rules handle.
 *
 * Layout: scores / log_prob [N, C, D] flattened row-major with D = D1·…·Dk (D = 1 for 2-D inputs); labels
 * [N, D]; element (n, c, d) at index (n·C + c)·D + d; sample (n, d) at n·D + d.
 */
export type Reduction = 'none' | 'sum' | 'mean';

export interface LossCase {
  n: number;
  c: number;
  /** Product of the trailing dims D1..Dk (1 for [N, C]). */
  d: number;
  labels: readonly number[];
  weights?: readonly number[];
  /** Undefined: nothing ignored. */
  ignoreIndex?: number;
  reduction: Reduction;
}

/** LogSoftmax over the class axis. */
export function logSoftmaxAxis1(scores: readonly number[], n: number, c: number, d: number): number[] {
  const out = new Array<number>(scores.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      let max = -Infinity;
      for (let j = 0; j < c; j++) max = Math.max(max, scores[(i * c + j) * d + k]);
      let sum = 0;
      for (let j = 0; j < c; j++) sum += Math.exp(scores[(i * c + j) * d + k] - max);
      const lse = max + Math.log(sum);
      for (let j = 0; j < c; j++) out[(i * c + j) * d + k] = scores[(i * c + j) * d + k] - lse;
    }
  }
  return out;
}

function sampleWeight(cs: LossCase, s: number): number {
  const label = cs.labels[s];
  if (cs.ignoreIndex !== undefined && label === cs.ignoreIndex) return 0;
  return cs.weights ? cs.weights[label] : 1;
}

/**
 * Negative log-likelihood of log-probabilities: per sample −logp[label]·w; none → per sample; sum → Σ;
 * mean → Σ / Σ w (0 when Σ w = 0, as ORT's kernel).
 */
export function nllLoss(logProb: readonly number[], cs: LossCase): number[] {
  const { n, c, d } = cs;
  const per: number[] = [];
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      const s = i * d + k;
      const w = sampleWeight(cs, s);
      wsum += w;
      per.push(w === 0 ? 0 : -logProb[(i * c + cs.labels[s]) * d + k] * w);
    }
  }
  if (cs.reduction === 'none') return per;
  const total = per.reduce((a, x) => a + x, 0);
  if (cs.reduction === 'sum') return [total];
  return [wsum === 0 ? total : total / wsum];
}

/** Softmax cross-entropy: loss and log_prob (ONNX SoftmaxCrossEntropyLoss). */
export function sceLoss(scores: readonly number[], cs: LossCase): { loss: number[]; logProb: number[] } {
  const logProb = logSoftmaxAxis1(scores, cs.n, cs.c, cs.d);
  return { loss: nllLoss(logProb, cs), logProb };
}

/**
 * d loss / d scores, given log_prob and the incoming gradient dY (one value for sum/mean, one per sample for
 * none): (softmax − one_hot(label)) · w · dY [/ Σ w for mean, skipped when Σ w = 0]; 0 for ignored samples.
 */
export function sceGrad(dY: readonly number[], logProb: readonly number[], cs: LossCase): number[] {
  const { n, c, d } = cs;
  let wsum = 0;
  for (let s = 0; s < n * d; s++) wsum += sampleWeight(cs, s);
  const out = new Array<number>(n * c * d).fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      const s = i * d + k;
      const w = sampleWeight(cs, s);
      if (w === 0) continue;
      let f = w * (cs.reduction === 'none' ? dY[s] : dY[0]);
      if (cs.reduction === 'mean' && wsum !== 0) f /= wsum;
      for (let j = 0; j < c; j++) {
        const idx = (i * c + j) * d + k;
        out[idx] = (Math.exp(logProb[idx]) - (j === cs.labels[s] ? 1 : 0)) * f;
      }
    }
  }
  return out;
}
