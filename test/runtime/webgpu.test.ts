/**
 * The runtime on onnxruntime-node's WebGPU EP (SwiftShader here, installed by .ci/run with Debian's chromium):
 * a few fused steps reduce the loss, and ORT's placement log shows every node of every session on WebGPU —
 * no lowered or optimizer node falls back to the CPU.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { swiftShaderAvailable, webgpuEnvFix } from '../../src/runtime/adapters/webgpu-env.js';
import { haveSet, setDir } from '../helpers/artifact-sets.js';

const cases: [string, string][] = [['mnist-mlp-web', path.resolve('fixtures/mnist-mlp-web')], ['lora-linear-mse', setDir('lora-linear-mse')]];

for (const [name, dir] of cases) {
  test(`runtime › webgpu › ${name} › trains${name === 'mnist-mlp-web' ? ', all nodes placed on WebGPU' : ''}`, (t) => {
    if (!swiftShaderAvailable()) return t.fail('SwiftShader missing: apt-get install -y chromium (.ci/run does this)');
    if (name !== 'mnist-mlp-web' && !haveSet(name)) return t.fail(`${dir} missing`);
    const env = { ...process.env, ...(webgpuEnvFix()?.env ?? {}) };
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/runtime/fixtures/webgpu-train.ts', dir, name], { env, encoding: 'utf8', maxBuffer: 256 << 20, timeout: 240_000 });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    t.is(r.status, 0, r.stderr.slice(-2000));
    const { losses } = JSON.parse(last) as { losses: number[] };
    t.true(losses.every(Number.isFinite));
    t.true(losses[losses.length - 1] < losses[0], `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
    if (name !== 'mnist-mlp-web') return; // lora's ReduceMean gradient keeps a Size on the CPU EP (documented)
    const log = r.stderr;
    const placed = [...log.matchAll(/All nodes placed on \[WebGpuExecutionProvider\]\. Number of nodes: (\d+)/g)];
    t.true(placed.length >= 3, `placement lines: ${placed.length}`); // training, optimizer, train_step
    t.notRegex(log, /Some nodes were not assigned to the preferred execution providers/);
    t.notRegex(log, /Node\(s\) placed on \[CPUExecutionProvider\]/);
  });
}
