/** fixtures/index.json lists every fixture file; copied ones are byte-identical to what it records. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { REPO } from './helpers.js';

interface Entry {
  path: string;
  kind: 'copied' | 'generated';
  license: string;
  provenance: string;
  files: Record<string, string | null>;
}

const root = path.join(REPO, 'fixtures');
const index = JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8')) as { format: string; fixtures: Entry[] };

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [path.relative(root, p).split(path.sep).join('/')];
  });
}

test('fixtures › index.json › every file under fixtures/ is listed', (t) => {
  t.is(index.format, 'onnx-train/fixtures@1');
  const listed = new Set(index.fixtures.flatMap((f) => Object.keys(f.files).map((n) => `${f.path}/${n}`)));
  const unlisted = walk(root).filter((p) => p !== 'index.json' && !listed.has(p));
  t.deepEqual(unlisted, [], 'add these to fixtures/index.json with their provenance');
  const missing = [...listed].filter((p) => !fs.existsSync(path.join(root, p)));
  t.deepEqual(missing, [], 'fixtures/index.json lists files that do not exist');
});

test('fixtures › index.json › copied files match their recorded sha256; each entry says license and provenance', (t) => {
  for (const f of index.fixtures) {
    t.truthy(f.license, `${f.path}: license`);
    t.true(fs.existsSync(path.join(root, f.provenance)), `${f.path}: provenance file ${f.provenance}`);
    if (f.kind !== 'copied') continue;
    for (const [name, sha] of Object.entries(f.files)) {
      if (sha === null) continue;
      const got = createHash('sha256').update(fs.readFileSync(path.join(root, f.path, name))).digest('hex');
      t.is(got, sha, `${f.path}/${name}`);
    }
  }
});
