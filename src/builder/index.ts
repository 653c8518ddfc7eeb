export { GraphBuilder, Value, float, Float, valueInfo, makeAttribute, DEFAULT_OPSET } from './builder.js';
export type { ValueLike, AttrValue, Shape, BuilderOptions } from './builder.js';
export { Ops } from './ops.js';
export type { ConvAttrs } from './ops.js';
