/** Host-side state machines that cannot live in the training graph, and their conformance-case runners. */
export { ReduceLROnPlateau, PLATEAU_OPTION_NAMES } from './plateau.js';
export type { ReduceLROnPlateauOptions, ReduceLROnPlateauState, JsonFloat } from './plateau.js';
export { GradientAccumulator } from './gradient-accumulator.js';
export type { GradientInput, GradientAccumulatorState } from './gradient-accumulator.js';
export { runPlateauCase, runAccumulatorCase } from './conformance.js';
export type { HostCaseResult } from './conformance.js';
