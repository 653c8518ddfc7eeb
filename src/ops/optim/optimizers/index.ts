/** The optimizer registry: one {@link OptimizerDef} per {@link OptimizerType}. */
import type { OptimizerSpec, OptimizerType } from '../spec.js';
import { ADAFACTOR } from './adafactor.js';
import { ADAM_WEIGHT_DECAY } from './adam-weight-decay.js';
import { ADAMW } from './adamw.js';
import { ADAMW_TORCH } from './adamw-torch.js';
import type { OptimizerDef } from './def.js';
import { ONNX_ADAGRAD } from './onnx-adagrad.js';
import { ONNX_ADAM } from './onnx-adam.js';
import { ONNX_MOMENTUM } from './onnx-momentum.js';
import { ORT_ADAMW } from './ort-adamw.js';
import { SGD } from './sgd.js';

/** Every optimizer definition, by type. */
export const OPTIMIZERS: { readonly [K in OptimizerType]: OptimizerDef<Extract<OptimizerSpec, { type: K }>> } = {
  adamw: ADAMW,
  adamw_torch: ADAMW_TORCH,
  adafactor: ADAFACTOR,
  adam_weight_decay: ADAM_WEIGHT_DECAY,
  ort_adamw: ORT_ADAMW,
  onnx_adam: ONNX_ADAM,
  onnx_adagrad: ONNX_ADAGRAD,
  onnx_momentum: ONNX_MOMENTUM,
  sgd: SGD,
};

export type { OptimizerDef, LrSource, ChainOptions } from './def.js';
