/**
 * The runtime on onnxruntime-node's WebGPU EP (SwiftShader here, installed by .ci/run with Debian's chromium):
 * a few fused steps reduce the loss, and ORT's placement log shows every node of every session on WebGPU —
 * no lowered or optimizer node falls back to the CPU.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { swiftShaderAvailable, webgpuEnvFix } from '../../src/runtime/adapters/webgpu-env.js';
import { haveSet, setDir } from '../helpers/artifact-sets.js';

const cases: [string, string][] = [['mnist-mlp-web', path.resolve('fixtures/mnist-mlp-web')], ['lora-linear-mse', setDir('lora-linear-mse')]];

for (const [name, dir] of cases) {
  test(`runtime › webgpu › ${name} › trains, all nodes placed on WebGPU`, (t) => {
    if (!swiftShaderAvailable()) return t.fail('SwiftShader missing: apt-get install -y chromium (.ci/run does this)');
    if (name !== 'mnist-mlp-web' && !haveSet(name)) return t.fail(`${dir} missing`);
    const env = { ...process.env, ...(webgpuEnvFix()?.env ?? {}) };
    // ORT's verbose log goes to a file: the placement report must arrive whole, however long the log is.
    const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-train-webgpu-')), 'ort.log');
    const fd = fs.openSync(logFile, 'w');
    let r;
    try {
      r = spawnSync(process.execPath, ['--import', 'tsx', 'test/runtime/fixtures/webgpu-train.ts', dir, name], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', fd], maxBuffer: 256 << 20, timeout: 240_000 });
    } finally {
      fs.closeSync(fd);
    }
    const log = fs.readFileSync(logFile, 'utf8');
    fs.rmSync(path.dirname(logFile), { recursive: true, force: true });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    t.is(r.status, 0, log.slice(-2000));
    const { losses } = JSON.parse(last) as { losses: number[] };
    t.true(losses.every(Number.isFinite));
    t.true(losses[losses.length - 1] < losses[0], `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
    const placed = [...log.matchAll(/All nodes placed on \[WebGpuExecutionProvider\]\. Number of nodes: (\d+)/g)];
    t.true(placed.length >= 3, `placement lines: ${placed.length}`); // training, optimizer, train_step
    t.notRegex(log, /Some nodes were not assigned to the preferred execution providers/);
    t.notRegex(log, /Node\(s\) placed on \[CPUExecutionProvider\]/);
  });
}
