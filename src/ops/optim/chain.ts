/**
 * `chain(...)`: optax's `chain` for graph transforms — the transforms run in order, each receiving the previous
 * one's update. The order of a chain *is* the upstream order of operations (transformers, torch and Keras differ,
 * see shared/reference/optimizer-semantics.md §4, §5, §7.2).
 */
import type { GraphBuilder } from '../../builder/index.js';
import { OnnxTrainError } from '../../errors.js';
import type { StepContext } from './context.js';
import type { Coef, GlobalArgs, GlobalResult, ParamInfo, SlotSpec, Transform, UpdateArgs, UpdateResult } from './types.js';
import type { Value } from '../../builder/index.js';

/** The spec of a chain: its members' names and specs, in order. */
export interface ChainSpec {
  readonly chain: readonly { readonly name: string; readonly spec: unknown }[];
}

/**
 * Composes transforms left to right. Slots are the concatenation of the members' slots (names must be unique per
 * parameter); each member's nodes are scoped under its name; `vars` published by a member are visible to the
 * members after it; extras are merged (a later member wins on a clash). Members' `prepare` stages run in order.
 * @throws OnnxTrainError('BAD_ARGUMENT') for an empty chain
 */
export function chain(...transforms: readonly Transform[]): Transform<ChainSpec> {
  if (transforms.length === 0) throw new OnnxTrainError('BAD_ARGUMENT', 'chain() needs at least one transform', 'pass the transforms to compose');
  const slotsOf = (p: ParamInfo) => transforms.map((t) => t.slots(p));
  return {
    name: 'chain',
    spec: { chain: transforms.map((t) => ({ name: t.name, spec: t.spec })) },
    slots(p: ParamInfo): readonly SlotSpec[] {
      const all = slotsOf(p).flat();
      const seen = new Set<string>();
      for (const s of all) {
        if (seen.has(s.name)) {
          throw new OnnxTrainError('BAD_ARGUMENT', `two transforms of a chain declare the slot "${s.name}" for "${p.name}"`, 'give the slots distinct names');
        }
        seen.add(s.name);
      }
      return all;
    },
    prepare(b: GraphBuilder, all: readonly GlobalArgs[], ctx: StepContext): GlobalResult {
      const extras: Record<string, Value> = {};
      for (const t of transforms) {
        if (!t.prepare) continue;
        const r = b.scope(t.name, () => t.prepare!(b, all, ctx));
        Object.assign(extras, r.extras ?? {});
      }
      return { extras };
    },
    emit(b: GraphBuilder, u: UpdateArgs): UpdateResult {
      const memberSlots = slotsOf(u.param);
      let update = u.update;
      const vars: Record<string, Coef> = { ...u.vars };
      const slots: Record<string, Value> = {};
      const extras: Record<string, Value> = {};
      transforms.forEach((t, i) => {
        const mine: Record<string, Value> = {};
        for (const s of memberSlots[i]) mine[s.name] = u.slots[s.name];
        const r = b.scope(t.name, () => t.emit(b, { ...u, update, slots: mine, vars: { ...vars } }));
        update = r.update;
        Object.assign(vars, r.vars ?? {});
        Object.assign(slots, r.slots ?? {});
        Object.assign(extras, r.extras ?? {});
      });
      return { update, slots, vars, extras };
    },
  };
}
