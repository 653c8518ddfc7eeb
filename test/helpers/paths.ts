import * as fs from 'node:fs';
import * as path from 'node:path';

/** Repo root (tests run from it). */
export const ROOT = path.resolve('.');
/** ../shared next to the repo (artifacts, conformance cases). Tests that need it skip loudly when absent. */
export const SHARED = path.resolve(ROOT, '..', 'shared');
export const ARTIFACTS = path.join(SHARED, 'artifacts');
export const ARTIFACT_SETS = ['mnist-mlp-web', 'seizureguard-cnn1d', 'resnet50-conv0', 'lora-linear-mse'] as const;

/** Every .onnx file under fixtures/ and ../shared/artifacts. */
export function allModelFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.onnx')) out.push(p);
    }
  };
  walk(path.join(ROOT, 'fixtures'));
  walk(ARTIFACTS);
  return out.sort();
}
