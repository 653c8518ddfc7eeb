/**
 * Optimizers as ONNX graphs of standard ops: transforms (optax-style) composed with `chain`, the optimizers built
 * from them, and `buildOptimizerGraph`, whose graph interface is documented in io.ts.
 */
export { adafactorScheduleLr, adafactorScheduleOutput } from './adafactor-schedule.js';
export { buildOptimizerGraph, optimizerDef, resolveOptimizer } from './build.js';
export type { BuildOptions, OptimizerGraph } from './build.js';
export { chain } from './chain.js';
export type { ChainSpec } from './chain.js';
export { StepContext } from './context.js';
export { flatParam, flatSegments, packFlat, unpackFlat } from './flat.js';
export { gradName, initialState, outName, stateName } from './io.js';
export type { IODType, LrKind, OptimizerIO, ParamIO, SlotIO, TensorIO } from './io.js';
export { OPTIMIZERS } from './optimizers/index.js';
export type { ChainOptions, LrSource, OptimizerDef } from './optimizers/index.js';
export { ScalarMath, tensorCoef } from './scalar.js';
export type { Precision } from './scalar.js';
export { OPTIMIZER_TYPES } from './spec.js';
export type {
  AdafactorSpec, AdamWeightDecaySpec, AdamWSpec, AdamWTorchSpec, OnnxAdagradSpec, OnnxAdamSpec, OnnxMomentumSpec, OptimizerSpec,
  OptimizerType, OrtAdamWSpec, SgdSpec,
} from './spec.js';
export { addDecayedWeights } from './transforms/add-decayed-weights.js';
export { clipByGlobalNorm } from './transforms/clip-by-global-norm.js';
export { clipByNorm } from './transforms/clip-by-norm.js';
export { clipByRms } from './transforms/clip-by-rms.js';
export { decays, decayWeights, pyRegex } from './transforms/decay-weights.js';
export type { DecaySelection, DecayWeightsSpec } from './transforms/decay-weights.js';
export { emaUpdates } from './transforms/ema-updates.js';
export { scale } from './transforms/scale.js';
export { scaleByAdafactorStepSize } from './transforms/scale-by-adafactor-step-size.js';
export { scaleByAdagrad } from './transforms/scale-by-adagrad.js';
export { scaleByAdam } from './transforms/scale-by-adam.js';
export type { ScaleByAdamSpec } from './transforms/scale-by-adam.js';
export { scaleByFactoredRms, isFactored } from './transforms/scale-by-factored-rms.js';
export { scaleByLr } from './transforms/scale-by-lr.js';
export { trace } from './transforms/trace.js';
export type { Coef, GlobalArgs, GlobalResult, ParamInfo, Segment, SlotSpec, Transform, Update, UpdateArgs, UpdateResult } from './types.js';
export { applyUpdate, gradientUpdate } from './update.js';
