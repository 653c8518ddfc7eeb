/**
 * Vite config of the web demo. `npm run web:build` = tools/web/prepare.ts (artifacts, digits, runtime binaries
 * into web/public) + `vite build` into web/dist; `npm run web:dev` serves it with the same COOP/COEP headers
 * (cross-origin isolation: SharedArrayBuffer for onnxruntime-web's wasm threads).
 *
 * onnxruntime-web is resolved to its "extern wasm" builds: the wasm loader (.mjs) and binary come from web/public/ort
 * at run time instead of being inlined, so its worker threads load a plain module, not the app bundle.
 */
import { defineConfig, defaultClientConditions, type Plugin } from 'vite';

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Fails the build when project code (src/, web/src) pulls a Node-only module (node:fs, …) into the browser bundle.
 * Dependencies are exempt: emscripten loaders carry `require('fs')` behind a Node-only branch.
 */
function noNodeBuiltins(): Plugin {
  return {
    name: 'onnx-train:no-node-builtins',
    enforce: 'pre',
    resolveId(id, importer) {
      if (!importer || importer.includes('/node_modules/')) return null;
      if (id.startsWith('node:') || ['fs', 'path', 'os', 'module', 'url', 'child_process'].includes(id)) {
        throw new Error(`${importer} imports the Node-only module "${id}": keep it out of web/src's import graph`);
      }
      return null;
    },
  };
}

export default defineConfig({
  root: __dirname,
  base: './',
  publicDir: 'public',
  plugins: [noNodeBuiltins()],
  resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  logLevel: 'warn',
});
