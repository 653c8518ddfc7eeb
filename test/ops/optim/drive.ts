/**
 * Drives an optimizer graph and an independent reference side by side for a few steps of random data and reports
 * the worst error ratio (FORMAT.md tolerance; ≤ 1 passes) and where it occurred.
 */
import type { BuildOptions } from '../../../src/ops/optim/build.js';
import type { OptimizerSpec } from '../../../src/ops/optim/spec.js';
import type { ParamInfo } from '../../../src/ops/optim/types.js';
import { randomArray, rng } from '../../reference/optim.js';
import { errorRatio, Runner } from './harness.js';

/** One parameter's reference update: returns the new param, the new state by slot name, and optionally lr_used. */
export type RefStep = (name: string, shape: readonly number[], p: Float32Array, g: Float32Array, state: Record<string, Float32Array>, t: number, lr: number) => {
  p: Float32Array;
  state: Record<string, Float32Array>;
  lr?: number;
};

export interface DriveOptions {
  readonly params?: readonly ParamInfo[];
  readonly steps?: number;
  readonly rtol?: number;
  readonly k?: number;
  readonly seed?: number;
  /** lr of update k (0-based) */
  readonly lr?: (k: number) => number;
  /** value fed to the step input for update k (default k + 1) */
  readonly stepInput?: (k: number) => number;
  /** gradient scale of update k */
  readonly gradScale?: (k: number) => number;
  /** transforms all gradients of a step before the reference sees them (e.g. reference clipping) */
  readonly refGrads?: (grads: Float32Array[]) => Float32Array[];
  readonly build?: BuildOptions;
}

export const DEFAULT_PARAMS: readonly ParamInfo[] = [
  { name: 'norm.weight', shape: [5] },
  { name: 'fc.weight', shape: [4, 3] },
  { name: 'conv.weight', shape: [2, 3, 4] },
];

const numel = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/** Runs graph and reference; returns the worst error ratio and where. */
export async function drive(spec: OptimizerSpec, ref: RefStep, o: DriveOptions = {}): Promise<{ worst: number; where: string; runner: Runner }> {
  const params = o.params ?? DEFAULT_PARAMS;
  const next = rng(o.seed ?? 7);
  const init: Record<string, Float32Array> = {};
  for (const p of params) init[p.name] = randomArray(next, numel(p.shape));
  const runner = await Runner.create(spec, params, init, o.build ?? {});
  const refP: Record<string, Float32Array> = { ...init };
  const refS: Record<string, Record<string, Float32Array>> = {};
  for (const p of runner.io.params) {
    refS[p.name] = {};
    for (const s of p.slots) refS[p.name][s.slot] = new Float32Array(numel(s.shape)).fill(s.init);
  }
  let worst = 0;
  let where = '';
  const rtol = o.rtol ?? 1e-5;
  const k = o.k ?? 5e-6;
  const see = (e: number, w: string) => { if (!(e <= worst)) { worst = Number.isNaN(e) ? Infinity : e; where = w; } };
  try {
    for (let step = 0; step < (o.steps ?? 12); step++) {
      const scale = o.gradScale ? o.gradScale(step) : step % 3 === 2 ? 1e-3 : 1;
      const grads = params.map((p) => randomArray(next, numel(p.shape), scale));
      const lr = Math.fround(o.lr ? o.lr(step) : 0.01 * (1 + 0.25 * Math.sin(step)));
      const t = o.stepInput ? o.stepInput(step) : step + 1;
      const out = await runner.step({ grads: Object.fromEntries(params.map((p, i) => [p.name, grads[i]])), lr, step: t });
      const rg = o.refGrads ? o.refGrads(grads) : grads;
      params.forEach((p, i) => {
        const r = ref(p.name, p.shape, refP[p.name], rg[i], refS[p.name], t, lr);
        refP[p.name] = r.p;
        refS[p.name] = { ...refS[p.name], ...r.state };
        see(errorRatio(runner.params.get(p.name)!, r.p, rtol, k), `${p.name} @${step + 1}`);
        for (const [sn, want] of Object.entries(r.state)) see(errorRatio(runner.slot(p.name, sn), want, rtol, k), `${p.name}.${sn} @${step + 1}`);
        if (r.lr !== undefined) see(errorRatio([(out[`${p.name}.lr_used`].data as Float32Array)[0]], [r.lr], rtol, k), `${p.name}.lr_used @${step + 1}`);
      });
    }
  } finally {
    await runner.release();
  }
  return { worst, where, runner };
}
