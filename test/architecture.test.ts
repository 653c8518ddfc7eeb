/**
 * Layering is enforced here, not just documented: a module may import only from its own layer or the layers
 * above it in LAYERS (../shared/ARCHITECTURE.md), runtime never imports builder/ops directly, and only the
 * adapters import the ONNX Runtime packages.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';

const LAYERS = ['errors', 'util', 'onnx', 'ir', 'builder', 'ops', 'transforms', 'checkpoint', 'inspect', 'runtime', 'conformance', 'cli'];
const SRC = path.resolve('src');

function layerOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? rel[0].replace(/\.ts$/, '') : rel[0];
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const re = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
  const out: string[] = [];
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

const files = sources(SRC);

test('architecture › every top-level folder of src › is a known layer', (t) => {
  const unknown = [...new Set(files.map(layerOf))].filter((l) => !LAYERS.includes(l));
  t.deepEqual(unknown, [], `add new layers to LAYERS and ARCHITECTURE notes: ${unknown.join(', ')}`);
});

test('architecture › imports › only from the same or a more fundamental layer', (t) => {
  const violations: string[] = [];
  for (const f of files) {
    const from = layerOf(f);
    for (const spec of importsOf(f)) {
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(f), spec);
      if (!target.startsWith(SRC)) { violations.push(`${path.relative(SRC, f)} imports outside src: ${spec}`); continue; }
      const to = layerOf(target.replace(/\.js$/, '.ts'));
      if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) violations.push(`${path.relative(SRC, f)} (${from}) imports ${spec} (${to})`);
      if (from === 'runtime' && (to === 'builder' || to === 'ops')) violations.push(`${path.relative(SRC, f)}: runtime must not import ${to}`);
    }
  }
  t.deepEqual(violations, []);
});

test('architecture › ONNX Runtime packages › imported only by their adapter', (t) => {
  const violations: string[] = [];
  for (const f of files) {
    const rel = path.relative(SRC, f);
    for (const spec of importsOf(f)) {
      if (spec.startsWith('onnxruntime-node') && rel !== path.join('runtime', 'adapters', 'node.ts')) violations.push(`${rel} imports ${spec}`);
      // The web adapter may be split into web*.ts files (e.g. GPU-resident state), all under adapters/.
      if (spec.startsWith('onnxruntime-web') && !/^runtime\/adapters\/web[\w-]*\.ts$/.test(rel.split(path.sep).join('/'))) violations.push(`${rel} imports ${spec}`);
    }
  }
  t.deepEqual(violations, []);
});

test('architecture › the checker itself › catches a planted violation', (t) => {
  // Guard against a regex that silently matches nothing.
  const all = files.flatMap(importsOf);
  t.true(all.some((s) => s.includes('../errors.js')), 'import scanner finds relative imports');
  t.is(LAYERS.indexOf('ops') > LAYERS.indexOf('builder'), true);
});
