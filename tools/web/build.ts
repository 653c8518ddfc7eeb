/**
 * Builds the web demo: tools/web/prepare.ts (artifacts, digits, runtime binaries -> web/public) then Vite
 * (web/ -> web/dist). Skips both when web/dist is newer than every input, unless forced.
 * `npx tsx tools/web/build.ts [--force]`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST, FIXTURE, PUBLIC, ROOT, WEB, prepareWebAssets } from './prepare.js';

/** Newest modification time under the given paths (files or folders, recursively). */
function newest(paths: readonly string[]): number {
  let t = 0;
  const walk = (p: string) => {
    let st: fs.Stats;
    try { st = fs.statSync(p); } catch { return; }
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) if (e !== 'node_modules' && e !== 'dist' && e !== 'public') walk(path.join(p, e));
    } else {
      t = Math.max(t, st.mtimeMs);
    }
  };
  paths.forEach(walk);
  return t;
}

/** Inputs of the build: the page, the runtime it bundles, the tools that generate its assets, the fixture. */
const INPUTS = [WEB, path.join(ROOT, 'src'), path.join(ROOT, 'tools', 'web'), FIXTURE, path.join(ROOT, 'package-lock.json')];

export function webBuildIsFresh(): boolean {
  const marker = path.join(DIST, '.built');
  if (!fs.existsSync(marker) || !fs.existsSync(path.join(PUBLIC, 'artifacts', 'mnist-mlp', 'manifest.json'))) return false;
  return fs.statSync(marker).mtimeMs >= newest(INPUTS);
}

export async function buildWeb(opts: { force?: boolean; log?: (s: string) => void } = {}): Promise<{ built: boolean; ms: number }> {
  const t0 = Date.now();
  if (!opts.force && webBuildIsFresh()) return { built: false, ms: 0 };
  await prepareWebAssets();
  opts.log?.(`web assets prepared (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const { build } = await import('vite');
  await build({ configFile: path.join(WEB, 'vite.config.ts'), logLevel: 'warn' });
  fs.writeFileSync(path.join(DIST, '.built'), new Date().toISOString());
  opts.log?.(`web/dist built (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return { built: true, ms: Date.now() - t0 };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await buildWeb({ force: process.argv.includes('--force'), log: console.log });
  if (!r.built) console.log('web/dist is up to date (pass --force to rebuild)');
}
