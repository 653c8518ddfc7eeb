/**
 * ms::GatherElementsGrad (dY, shape, indices; axis = 0) → ScatterElements(zeros(shape), indices, dY, axis,
 * reduction=add). Also the gradient of TopK (indices = TopK's second output). minOpset 16; nothing from
 * ctx.shapes except dY's element type (or opset 15 CastLike) for the zeros.
 */
import type { LoweringRule } from '../rule.js';
import { asInt64, missingInputs, msOp, req, typeReason, zerosOfShape } from './support.js';

export const lowerGatherElementsGrad: LoweringRule = {
  op: msOp('GatherElementsGrad'),
  minOpset: 16,
  check: (n, ctx) => missingInputs(n, ['dY', 'shape', 'indices'])
    ?? (ctx.opset < 16 ? `ScatterElements with reduction="add" needs opset 16 (model has ${ctx.opset})` : undefined)
    ?? typeReason(ctx, n, 0),
  lower: (n, ctx) => {
    const dY = req(ctx, n, 0);
    const zeros = zerosOfShape(ctx, asInt64(ctx, req(ctx, n, 1)), dY);
    return [ctx.b.op.ScatterElements(zeros, req(ctx, n, 2), dY, n.attrInt('axis', 0), 'add')];
  },
};
