/**
 * `sgd`: `torch.optim.SGD` (`_single_tensor_sgd`).
 *
 *     g ← −g if maximize;  g ← g + weight_decay·p
 *     momentum ≠ 0: buf = g on the first step, else buf ← momentum·buf + (1 − dampening)·g;
 *                   g ← nesterov ? g + momentum·buf : buf
 *     p ← p − lr·g
 *
 * Defaults: lr 1e-3, momentum 0, dampening 0, weight_decay 0, nesterov false, maximize false. State:
 * `momentum_buffer` (momentum ≠ 0; starts at 0, replaced by g on step 1).
 */
import { pyFloatRepr } from '../../schedules/py-format.js';
import { chain } from '../chain.js';
import type { SgdSpec } from '../spec.js';
import { addDecayedWeights } from '../transforms/add-decayed-weights.js';
import { scale } from '../transforms/scale.js';
import { scaleByLr } from '../transforms/scale-by-lr.js';
import { trace } from '../transforms/trace.js';
import type { Transform } from '../types.js';
import { bool, check, checkKeys, num, TORCH_INTERFACE, type OptimizerDef } from './def.js';

/** The `sgd` definition (see the module comment). */
export const SGD: OptimizerDef<SgdSpec> = {
  type: 'sgd',
  resolve(spec) {
    checkKeys(spec, ['lr', 'momentum', 'dampening', 'weight_decay', 'nesterov', 'maximize']);
    const lr = num(spec, 'lr', 1e-3);
    const momentum = num(spec, 'momentum', 0);
    const dampening = num(spec, 'dampening', 0);
    const wd = num(spec, 'weight_decay', 0);
    const nesterov = bool(spec, 'nesterov', false);
    check(lr >= 0, 'sgd', `Invalid learning rate: ${pyFloatRepr(lr)}`);
    check(momentum >= 0, 'sgd', `Invalid momentum value: ${pyFloatRepr(momentum)}`);
    check(wd >= 0, 'sgd', `Invalid weight_decay value: ${pyFloatRepr(wd)}`);
    check(!(nesterov && (momentum <= 0 || dampening !== 0)), 'sgd', 'Nesterov momentum requires a momentum and zero dampening');
    return { type: 'sgd', lr, momentum, dampening, weight_decay: wd, nesterov, maximize: bool(spec, 'maximize', false) };
  },
  transform(spec) {
    const parts: Transform[] = [];
    if (spec.maximize) parts.push(scale(-1));
    parts.push(addDecayedWeights({ rate: spec.weight_decay! }));
    if (spec.momentum !== 0) parts.push(trace({ form: 'torch', decay: spec.momentum!, gain: 1 - spec.dampening!, nesterov: spec.nesterov!, slot_name: 'momentum_buffer' }));
    parts.push(scaleByLr({ precision: 'float64' }));
    return chain(...parts);
  },
  ...TORCH_INTERFACE,
};
