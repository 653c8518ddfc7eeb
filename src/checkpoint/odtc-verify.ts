/**
 * Structural verifier for ODTC buffers, the counterpart of flatbuffers' C++ `Verifier` that ORT runs before
 * touching a checkpoint. The JS flatbuffers runtime has none, and its ByteBuffer silently reads `undefined`
 * (→ 0) past the end of the array, so a truncated or corrupted file would decode to garbage instead of
 * failing. Every offset the accessors in `odtc-schema.ts` will follow is checked here first: table/vtable
 * bounds, field sizes and alignment, vector and string extents, NUL terminators and UTF-8.
 */
import { OnnxTrainError } from '../errors.js';
import { ODTC_IDENTIFIER, Slots, slot } from './odtc-schema.js';

interface TableInfo {
  pos: number;
  vt: number;
  vtLen: number;
  tLen: number;
  what: string;
}

const FIX = 'the file is damaged or not an ORT training checkpoint; re-create it (onnxblock generate_artifacts or save it again)';

class Verifier {
  private readonly dv: DataView;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  /**
   * Work budget in visited objects. A well-formed file holds at most one object per 4 bytes, each visited
   * once; offsets shared on purpose (many vector slots pointing at one huge table) would make verification
   * and decoding quadratic, so they exhaust the budget and are rejected.
   */
  private budget: number;
  /** Strings already verified (shared strings are legal flatbuffers; verify each once). */
  private readonly strings = new Set<number>();
  /**
   * Data vectors already claimed by a tensor. Decoding copies tensor data, so one payload referenced by many
   * tensors would turn a small file into gigabytes of copies; no real writer shares them, so refuse.
   */
  private readonly payloads = new Set<number>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly where: string | undefined,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.budget = bytes.length + 64;
  }

  private spend(what: string): void {
    if (--this.budget < 0) this.fail(`${what}: too many references for the file size (maliciously shared offsets)`);
  }

  fail(what: string): never {
    throw new OnnxTrainError('BAD_CHECKPOINT', what, FIX, this.where);
  }

  private need(pos: number, size: number, what: string): void {
    if (!(pos >= 0 && pos + size <= this.bytes.length)) {
      this.fail(`${what} at byte ${pos} (${size} bytes) lies outside the file (${this.bytes.length} bytes): truncated or corrupt`);
    }
  }

  private aligned(pos: number, align: number, what: string): void {
    if (pos % align !== 0) this.fail(`${what} at byte ${pos} is not ${align}-byte aligned: corrupt offset`);
  }

  u32(pos: number, what: string): number {
    this.need(pos, 4, what);
    return this.dv.getUint32(pos, true);
  }

  table(pos: number, what: string): TableInfo {
    this.spend(what);
    this.need(pos, 4, what);
    this.aligned(pos, 4, what);
    const vt = pos - this.dv.getInt32(pos, true);
    this.need(vt, 4, `vtable of ${what}`);
    this.aligned(vt, 2, `vtable of ${what}`);
    const vtLen = this.dv.getUint16(vt, true);
    const tLen = this.dv.getUint16(vt + 2, true);
    if (vtLen < 4 || vtLen % 2 !== 0) this.fail(`vtable of ${what} has invalid size ${vtLen}`);
    this.need(vt, vtLen, `vtable of ${what}`);
    if (tLen < 4) this.fail(`${what} has invalid inline size ${tLen}`);
    this.need(pos, tLen, what);
    return { pos, vt, vtLen, tLen, what };
  }

  /** Absolute position of an inline field of `size` bytes, 0 when absent. */
  field(t: TableInfo, s: number, size: number, name: string): number {
    const vo = slot(s);
    if (vo + 2 > t.vtLen) return 0;
    const o = this.dv.getUint16(t.vt + vo, true);
    if (o === 0) return 0;
    if (o < 4 || o + size > t.tLen) this.fail(`field ${name} of ${t.what} lies outside its table`);
    this.aligned(t.pos + o, size, `field ${name} of ${t.what}`);
    return t.pos + o;
  }

  /** Target of an offset field (table, vector, string), 0 when absent. */
  ref(t: TableInfo, s: number, name: string): number {
    const p = this.field(t, s, 4, name);
    if (p === 0) return 0;
    const target = p + this.dv.getUint32(p, true);
    this.need(target, 4, `${name} of ${t.what}`);
    return target;
  }

  /** Extent of a vector at `pos`: element start and count. */
  vector(pos: number, elemSize: number, what: string): { start: number; len: number } {
    this.aligned(pos, 4, what);
    const len = this.u32(pos, `length of ${what}`);
    const start = pos + 4;
    if (len * elemSize > this.bytes.length - start) {
      this.fail(`${what} claims ${len} elements (${len * elemSize} bytes) but only ${this.bytes.length - start} bytes remain: truncated or corrupt`);
    }
    if (elemSize === 8) this.aligned(start, 8, what);
    return { start, len };
  }

  string(pos: number, what: string): void {
    this.spend(what);
    if (this.strings.has(pos)) return;
    this.strings.add(pos);
    const { start, len } = this.vector(pos, 1, what);
    this.need(start, len + 1, what);
    if (this.bytes[start + len] !== 0) this.fail(`${what} is not NUL-terminated: corrupt`);
    try {
      this.utf8.decode(this.bytes.subarray(start, start + len));
    } catch {
      this.fail(`${what} is not valid UTF-8`);
    }
  }

  optString(t: TableInfo, s: number, name: string): void {
    const p = this.ref(t, s, name);
    if (p !== 0) this.string(p, `${name} of ${t.what}`);
  }

  /** Each table of an offset vector in slot `s`, handed to `each`. */
  tables(t: TableInfo, s: number, name: string, each: (pos: number, what: string) => void): void {
    const p = this.ref(t, s, name);
    if (p === 0) return;
    const { start, len } = this.vector(p, 4, `${name} of ${t.what}`);
    for (let i = 0; i < len; i++) {
      const e = start + 4 * i;
      each(e + this.dv.getUint32(e, true), `${name}[${i}]`);
    }
  }

  private claim(pos: number, what: string): void {
    if (this.payloads.has(pos)) this.fail(`${what} shares its data with another tensor: corrupt or malicious offsets`);
    this.payloads.add(pos);
  }

  tensor(pos: number, what: string): void {
    const t = this.table(pos, what);
    const S = Slots.Tensor;
    this.optString(t, S.name, 'name');
    this.optString(t, S.docString, 'doc_string');
    const dims = this.ref(t, S.dims, 'dims');
    if (dims !== 0) this.vector(dims, 8, `dims of ${what}`);
    this.field(t, S.dataType, 4, 'data_type');
    const raw = this.ref(t, S.rawData, 'raw_data');
    if (raw !== 0) {
      const v = this.vector(raw, 1, `raw_data of ${what}`);
      if (v.len > 0) this.claim(raw, `raw_data of ${what}`);
    }
    const strs = this.ref(t, S.stringData, 'string_data');
    if (strs !== 0) {
      this.claim(strs, `string_data of ${what}`);
      const { start, len } = this.vector(strs, 4, `string_data of ${what}`);
      for (let i = 0; i < len; i++) {
        const e = start + 4 * i;
        this.string(e + this.dv.getUint32(e, true), `string_data[${i}] of ${what}`);
      }
    }
    this.field(t, S.externalDataOffset, 8, 'external_data_offset');
  }

  property(pos: number, what: string, kind: 'int' | 'float' | 'string'): void {
    const t = this.table(pos, what);
    this.optString(t, Slots.Property.name, 'name');
    if (kind === 'int') this.field(t, Slots.Property.value, 8, 'value');
    else if (kind === 'float') this.field(t, Slots.Property.value, 4, 'value');
    else this.optString(t, Slots.Property.value, 'value');
  }

  checkpoint(): void {
    if (this.bytes.length < 8) this.fail(`file is ${this.bytes.length} bytes, too short for an ODTC checkpoint (needs at least 8)`);
    const ident = String.fromCharCode(...this.bytes.subarray(4, 8));
    if (ident !== ODTC_IDENTIFIER) {
      this.fail(`file identifier is ${JSON.stringify(ident)}, expected "${ODTC_IDENTIFIER}": not an ORT on-device-training checkpoint`);
    }
    const root = this.table(this.u32(0, 'root offset'), 'Checkpoint');
    const C = Slots.Checkpoint;
    this.field(root, C.version, 4, 'version');

    const ms = this.ref(root, C.moduleState, 'module_state');
    if (ms !== 0) {
      const m = this.table(ms, 'module_state');
      const M = Slots.ModuleState;
      this.tables(m, M.requiresGradParams, 'requires_grad_params', (p, w) => this.tensor(p, `module_state.${w}`));
      this.tables(m, M.frozenParams, 'frozen_params', (p, w) => this.tensor(p, `module_state.${w}`));
      this.field(m, M.isNominalState, 1, 'is_nominal_state');
      this.field(m, M.hasExternalData, 1, 'has_external_data');
    }

    this.tables(root, C.optimizerGroups, 'optimizer_groups', (gp, gw) => {
      const g = this.table(gp, gw);
      const G = Slots.OptimizerGroup;
      this.optString(g, G.groupName, 'group_name');
      this.field(g, G.step, 8, 'step');
      this.field(g, G.initialLearningRate, 4, 'initial_learning_rate');
      this.tables(g, G.optimizerStates, 'optimizer_states', (sp, sw) => {
        const st = this.table(sp, `${gw}.${sw}`);
        this.optString(st, Slots.ParameterOptimizerState.paramName, 'param_name');
        this.tables(st, Slots.ParameterOptimizerState.momentums, 'momentums', (tp, tw) =>
          this.tensor(tp, `${gw}.${sw}.${tw}`),
        );
      });
    });

    const pb = this.ref(root, C.propertyBag, 'property_bag');
    if (pb !== 0) {
      const b = this.table(pb, 'property_bag');
      const P = Slots.PropertyBag;
      this.tables(b, P.ints, 'ints', (p, w) => this.property(p, `property_bag.${w}`, 'int'));
      this.tables(b, P.floats, 'floats', (p, w) => this.property(p, `property_bag.${w}`, 'float'));
      this.tables(b, P.strings, 'strings', (p, w) => this.property(p, `property_bag.${w}`, 'string'));
    }
  }
}

/**
 * Checks that every offset in an ODTC buffer stays inside it, so the unchecked accessors of `odtc-schema.ts`
 * can read it safely. Throws OnnxTrainError('BAD_CHECKPOINT') naming the first bad structure.
 */
export function verifyOdtc(bytes: Uint8Array, where?: string): void {
  new Verifier(bytes, where).checkpoint();
}
