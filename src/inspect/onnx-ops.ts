/**
 * Why a stock ONNX Runtime cannot run a node: the reasons behind `inspect`'s "need lowering" list. The table of
 * standard ai.onnx ops and the opset introducing each is src/transforms/onnx-ops.ts (one table for the project);
 * this module adds what a person needs to read the verdict: deprecations and what ORT makes of the odd names.
 */
import { ONNX_OP_SINCE } from '../transforms/onnx-ops.js';

/** Newest ai.onnx opset the operator table describes. */
export const ONNX_TABLE_OPSET = Math.max(...Object.values(ONNX_OP_SINCE));

/** Ops whose newest ONNX schema is marked deprecated, with the opset from which that applies. */
const DEPRECATED: Readonly<Record<string, { since: number; use: string }>> = {
  Upsample: { since: 10, use: 'Resize' },
  Scatter: { since: 11, use: 'ScatterElements' },
};

/**
 * Names ONNX Runtime registers in the *default* domain although they are not (or not yet, at the model's opset)
 * ONNX operators: training kernels and contrib ops. Stock inference builds lack the training ones.
 */
const ORT_DEFAULT_DOMAIN: Readonly<Record<string, string>> = {
  MaxPoolGrad: 'ONNX Runtime training op registered in the default domain',
  AveragePoolGrad: 'ONNX Runtime training op registered in the default domain',
  LayerNormalization: 'ONNX Runtime contrib op registered in the default domain',
  SimplifiedLayerNormalization: 'ONNX Runtime contrib op registered in the default domain',
};

export interface OnnxOpInfo {
  readonly name: string;
  /** ai.onnx opset that introduced the op. */
  readonly since: number;
  /** Opset from which ONNX marks the op deprecated. */
  readonly deprecatedSince?: number;
  /** The op ONNX recommends instead of a deprecated one. */
  readonly replacement?: string;
}

const TABLE: ReadonlyMap<string, OnnxOpInfo> = new Map(
  Object.entries(ONNX_OP_SINCE).map(([name, since]): [string, OnnxOpInfo] => {
    const dep = DEPRECATED[name];
    return [name, dep ? { name, since, deprecatedSince: dep.since, replacement: dep.use } : { name, since }];
  }),
);

/** The standard ai.onnx operator `name`, or undefined when ONNX has no such operator. */
export function onnxOp(name: string): OnnxOpInfo | undefined {
  return TABLE.get(name);
}

/** Every standard ai.onnx operator name, sorted. */
export function onnxOpNames(): string[] {
  return [...TABLE.keys()].sort();
}

/** What ONNX Runtime makes of a default-domain name that is not a standard op at the model's opset, if known. */
export function ortDefaultDomainNote(name: string): string | undefined {
  return ORT_DEFAULT_DOMAIN[name];
}

/**
 * Why a stock ONNX Runtime cannot run `domain::op` in a model importing ai.onnx opset `opset`, or undefined when
 * it can. Only the default domain is checked op by op; ai.onnx.ml is taken as standard, every other domain is not.
 */
export function whyNotStandard(domain: string, op: string, opset: number | undefined): string | undefined {
  if (domain === 'ai.onnx.ml') return undefined;
  if (domain !== '' && domain !== 'ai.onnx') {
    return domain === 'com.microsoft'
      ? 'ONNX Runtime contrib/training op, not standard ONNX'
      : `domain "${domain}" is not a standard ONNX domain`;
  }
  const info = TABLE.get(op);
  const ort = ORT_DEFAULT_DOMAIN[op];
  if (!info) {
    const base = opset !== undefined && opset > ONNX_TABLE_OPSET
      ? `not an ONNX operator up to opset ${ONNX_TABLE_OPSET} (the model imports ai.onnx ${opset}, newer than this table)`
      : 'not an ONNX operator';
    return ort ? `${base}: ${ort}` : base;
  }
  if (opset === undefined) return 'the model does not import the ai.onnx opset';
  if (opset < info.since) {
    const base = `ONNX introduces ${op} in opset ${info.since}; the model imports ai.onnx ${opset}`;
    return ort ? `${base} (${ort})` : base;
  }
  if (info.deprecatedSince !== undefined && opset >= info.deprecatedSince) {
    return `deprecated since ai.onnx ${info.deprecatedSince} (runtimes need not implement it there); use ${info.replacement}`;
  }
  return undefined;
}
