/**
 * A static file server for the built demo (web/dist) on 127.0.0.1, with the cross-origin isolation headers
 * (COOP same-origin, COEP require-corp) that onnxruntime-web's and TensorFlow.js's wasm threads need
 * (SharedArrayBuffer). Used by the tests and the benchmark; `npx tsx tools/web/serve.ts [port]` serves it by hand.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST } from './prepare.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream', '.bin': 'application/octet-stream',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.map': 'application/json',
};

export interface StaticServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `root` (default web/dist) on 127.0.0.1:`port` (0 = any free port). */
export async function serveStatic(root = DIST, port = 0): Promise<StaticServer> {
  if (!fs.existsSync(path.join(root, 'index.html'))) throw new Error(`${root} has no index.html: run "npm run web:build" first`);
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.resolve(base, `.${p.endsWith('/') ? `${p}index.html` : p}`);
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    if (!file.startsWith(base + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', fs.statSync(file).size);
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve); });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}/`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const s = await serveStatic(DIST, Number(process.argv[2] ?? 5180));
  console.log(`serving ${path.relative(process.cwd(), DIST)} at ${s.url} (COOP/COEP on); Ctrl-C stops`);
}
