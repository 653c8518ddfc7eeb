/**
 * Human-readable text for `onnx-train inspect` (the --json output is the report itself).
 */
import * as path from 'node:path';
import type { ArtifactsReport, CheckpointReport, CheckpointTensorReport, Dim, InputReport, InspectResult, ModelReport, ValueReport } from '../../inspect/index.js';

/** How many I/O rows to print before summarising the rest (ResNet training models take ~600 inputs). */
const MAX_ROWS = 16;

const n = (x: number) => x.toLocaleString('en-US');

export function renderInspect(r: InspectResult): string {
  return r.type === 'model' ? renderModel(r.report, r.report.file) : renderArtifacts(r.report);
}

/** `[batch_size,784]`; `[…]` for a tensor of unknown rank; nothing for sequences, maps and optionals. */
function shapeText(type: string, shape: readonly Dim[] | null): string {
  if (shape === null) return /^(seq|optional|map|opaque)\(/.test(type) ? '' : '[…]';
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}

const plural = (k: number, one: string, many = `${one}s`) => `${n(k)} ${k === 1 ? one : many}`;

function table(rows: readonly (readonly string[])[], indent: string): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

const ROLE_TEXT: Record<InputReport['role'], string> = {
  input: '',
  parameter: 'parameter',
  trainable: 'trainable',
  frozen: 'frozen',
  grad_buffer: 'gradient buffer',
  lazy_reset_grad: 'reset switch',
};

function valueRows<T extends ValueReport>(values: readonly T[], role: (v: T) => string): string[] {
  const shown = values.length > MAX_ROWS ? values.slice(0, MAX_ROWS - 2) : values;
  const lines = table(shown.map((v) => [v.name, `${v.type}${shapeText(v.type, v.shape)}`, role(v)]), '    ');
  if (shown.length < values.length) {
    const rest = values.slice(shown.length);
    const byRole = new Map<string, number>();
    for (const v of rest) byRole.set(role(v) || 'other', (byRole.get(role(v) || 'other') ?? 0) + 1);
    lines.push(`    … ${rest.length} more (${[...byRole].map(([r, c]) => `${c} ${r}`).join(', ')}; --json lists all)`);
  }
  return lines;
}

function renderModel(m: ModelReport, title: string): string {
  const out: string[] = [];
  const kindText = { model: 'model', training: 'training model', eval: 'eval model', optimizer: 'optimizer model', train_step: 'fused training step' }[m.kind];
  out.push(`${title}  (${kindText})`);
  const producer = [m.producer.name, m.producer.version].filter(Boolean).join(' ') || 'unknown';
  out.push(`  IR version ${m.irVersion}, producer ${producer}`);
  out.push(`  opsets: ${m.opsets.map((o) => `${o.domain} ${o.version}`).join(', ') || 'none'}`);
  out.push(`  inputs (${m.inputs.length}):`);
  out.push(...valueRows(m.inputs, (v) => ROLE_TEXT[v.role]));
  out.push(`  outputs (${m.outputs.length}):`);
  out.push(...valueRows(m.outputs, () => ''));
  out.push(`  initializers: ${plural(m.initializers.count, 'tensor')}, ${plural(m.initializers.elements, 'element')}`);
  const p = m.parameters;
  if (p) {
    const split = p.trainable && p.frozen
      ? `${n(p.trainable.elements)} trainable (${plural(p.trainable.count, 'tensor')}), ${n(p.frozen.elements)} frozen (${plural(p.frozen.count, 'tensor')})`
      : `${n(p.total.elements)} in ${plural(p.total.count, 'tensor')} (which are trainable this model alone does not tell)`;
    out.push(`  parameter inputs: ${split}  [from ${p.source}]`);
  }
  if (m.functions.length > 0) out.push(`  local functions: ${m.functions.join(', ')}`);
  out.push(`  ops (${plural(m.nodes, 'node')}):`);
  const domains = [...new Set(m.ops.map((o) => o.domain))];
  out.push(...table(domains.map((d) => [d, m.ops.filter((o) => o.domain === d).map((o) => `${o.op} x${o.count}`).join(', ')]), '    '));
  if (m.nonStandard.length === 0) {
    out.push('  stock ONNX Runtime: every op is standard');
  } else {
    const nodes = m.nonStandard.reduce((a, o) => a + o.count, 0);
    out.push(`  stock ONNX Runtime cannot run ${plural(nodes, 'node')} (${plural(m.nonStandard.length, 'op')}); these need lowering:`);
    out.push(...table(m.nonStandard.map((o) => [`${o.domain}::${o.op}`, `x${o.count}`, o.reason]), '    '));
  }
  return `${out.join('\n')}\n`;
}

function tensorRows(ts: readonly CheckpointTensorReport[]): string[] {
  return valueRows(ts.map((t) => ({ name: t.name, type: t.type, shape: t.shape })), () => '');
}

function renderCheckpoint(c: CheckpointReport, title: string): string {
  const out: string[] = [];
  const version = c.version === null ? '' : ` v${c.version}`;
  out.push(`${title}  (${c.format.toUpperCase()}${version} checkpoint${c.nominal ? ', nominal: shapes only, no values' : ''})`);
  const count = (ts: readonly CheckpointTensorReport[]) => `${plural(ts.length, 'tensor')}, ${plural(ts.reduce((a, t) => a + t.elements, 0), 'element')}`;
  out.push(`  trainable: ${count(c.trainable)}`);
  out.push(...tensorRows(c.trainable));
  out.push(`  frozen: ${count(c.frozen)}`);
  out.push(...tensorRows(c.frozen));
  out.push(`  optimizer state: ${c.optimizerGroups.length === 0 ? 'none'
    : c.optimizerGroups.map((g) => `${g.name} (step ${g.step}, initial lr ${Number(g.initialLearningRate.toPrecision(7))}, ${plural(g.params, 'param')})`).join('; ')}`);
  const props = Object.entries(c.properties);
  out.push(`  properties: ${props.length === 0 ? 'none' : props.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}`);
  return `${out.join('\n')}\n`;
}

function renderArtifacts(a: ArtifactsReport): string {
  const notes = [a.augmented ? 'augmented by onnx-train' : '', a.missing.length ? `missing: ${a.missing.join(', ')}` : ''].filter(Boolean);
  const parts: string[] = [`artifacts ${a.folder}${notes.length ? `  (${notes.join('; ')})` : ''}\n`];
  for (const m of [a.training, a.eval, a.optimizer, a.trainStep]) if (m) parts.push(renderModel(m, path.basename(m.file)));
  if (a.checkpoint) parts.push(renderCheckpoint(a.checkpoint, path.basename(a.checkpoint.file)));
  if (a.problems.length > 0) {
    parts.push(`checkpoint vs training model: ${plural(a.problems.length, 'problem')}\n${a.problems.map((p) => `  ${p}`).join('\n')}\n`);
  }
  return parts.join('\n');
}
