/**
 * Learning-rate schedules, each written twice: `valueAt` (JS) and `emitSchedule` (ONNX nodes), plus the
 * transformers-style constructors (`getScheduler`, `createSchedule`), validation and the conformance-case parser.
 */
export * from './spec.js';
export { valueAt, multiplierAt, resolveMinLrRate, resolveStableSteps, resolveTimescale } from './value-at.js';
export { emitSchedule } from './emit.js';
export { getScheduler, createSchedule, isSchedulerType, FACTORIES, PLATEAU_KWARGS } from './get-scheduler.js';
export type { GetSchedulerOptions, ScheduleLrs } from './get-scheduler.js';
export { validateSchedule, SCHEDULE_FIELDS } from './validate.js';
export { scheduleFromCase } from './from-case.js';
export type { CaseLrs } from './from-case.js';
