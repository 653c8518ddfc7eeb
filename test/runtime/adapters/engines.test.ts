import * as path from 'node:path';
import test from 'ava';
import { OnnxTrainError } from '../../../src/errors.js';
import { cudaProviderProblem } from '../../../src/runtime/adapters/node.js';
import { webError } from '../../../src/runtime/adapters/web.js';
import { SWIFTSHADER_ICD, swiftShaderAvailable, webgpuEnvFix } from '../../../src/runtime/adapters/webgpu-env.js';
import { createEngine } from '../../../src/runtime/engines.js';
import { REPO, runNode } from '../../cli/helpers.js';
import { affineModel, runAffine } from './fixtures/run-engine.js';

const SCRIPT = path.join(REPO, 'test', 'runtime', 'adapters', 'fixtures', 'run-engine.ts');
const WANT = { y: [2, 3, -2], yType: 'float32', k1: '42', k1Type: 'int64' };

for (const ep of ['cpu', 'wasm'] as const) {
  test(`engines › ${ep} › runs a graph, float32 and int64 round-trip`, async (t) => {
    t.like(await runAffine(ep), { ep, ...WANT });
  });
}

test('engines › wasm first, then cpu, in a fresh process › both give the right numbers', async (t) => {
  const r = await runNode(SCRIPT, ['wasm', 'cpu']);
  t.is(r.code, 0, r.stderr);
  const [wasm, cpu] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.like(wasm, { ep: 'wasm', ...WANT });
  t.like(cpu, { ep: 'cpu', ...WANT });
});

test('engines › unknown ep › BAD_ARGUMENT listing the valid ones', async (t) => {
  const e = await t.throwsAsync(createEngine('tpu' as never), { instanceOf: OnnxTrainError });
  t.is(e?.code, 'BAD_ARGUMENT');
  t.regex(e!.message, /cpu, cuda, wasm, webgpu/);
});

test('engines › cuda › a clear error naming the install command when the provider is absent', async (t) => {
  if (cudaProviderProblem() === undefined) {
    t.log('CUDA provider libraries installed: running on cuda');
    t.like(await runAffine('cuda'), WANT);
    return;
  }
  const e = await t.throwsAsync(createEngine('cuda'), { instanceOf: OnnxTrainError });
  t.is(e?.code, 'RUNTIME');
  t.regex(e!.message, /CUDA execution provider is not installed/);
  t.regex(e!.message, /ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci/);
});

test('engines › webgpu › runs in a process started with the Vulkan environment', async (t) => {
  const fix = webgpuEnvFix();
  if (!fix && !process.env.VK_ICD_FILENAMES && !swiftShaderAvailable()) {
    t.log(`SwiftShader (${SWIFTSHADER_ICD}) is absent and no Vulkan ICD is configured: webgpu not checked (apt-get install -y chromium)`);
    t.pass();
    return;
  }
  const r = await runNode(SCRIPT, ['webgpu'], fix?.env ?? {});
  t.is(r.code, 0, r.stderr);
  t.like(JSON.parse(r.stdout.trim().split('\n').at(-1)!), { ep: 'webgpu', ...WANT });
});

test('engines › webgpu without LD_LIBRARY_PATH › a fix-it error, not a crash', async (t) => {
  const fix = webgpuEnvFix({ ...process.env, LD_LIBRARY_PATH: '' });
  if (!fix?.needsRestart) {
    t.log('this machine needs no LD_LIBRARY_PATH for WebGPU: nothing to check');
    t.pass();
    return;
  }
  const r = await runNode(SCRIPT, ['webgpu'], { LD_LIBRARY_PATH: '', VK_ICD_FILENAMES: '' });
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { error: string; code: string };
  t.is(out.code, 'RUNTIME');
  t.regex(out.error, /no WebGPU adapter/);
  t.regex(out.error, /VK_ICD_FILENAMES=.*LD_LIBRARY_PATH=/);
});

test('engines › webgpu env › nothing to do when the user configured Vulkan', (t) => {
  t.is(webgpuEnvFix({ VK_ICD_FILENAMES: '/etc/vulkan/icd.d/nvidia_icd.json' }), undefined);
});

test('engines › wasm errors › a bare number becomes a readable OnnxTrainError', (t) => {
  const e = webError('failed to run the model', 1234567, 'fix');
  t.is(e.code, 'RUNTIME');
  t.regex(e.message, /bare number 1234567/);
  t.regex(e.message, /declared shape/);
  t.regex(e.message, /--ep cpu/);
});

test('engines › wasm › a model whose declared output shape is wrong fails with an OnnxTrainError', async (t) => {
  const bytes = affineModel();
  // Re-declare y as float32[4] for a 3-element input: onnxruntime-web rejects it.
  const { decodeModel, encodeModel } = await import('../../../src/onnx/io.js');
  const m = decodeModel(bytes);
  m.graph!.output![0]!.type!.tensor_type!.shape = { dim: [{ dim_value: 4 }] };
  m.graph!.input![0]!.type!.tensor_type!.shape = { dim: [{ dim_value: 3 }] };
  const engine = await createEngine('wasm');
  const e = await t.throwsAsync(async () => {
    const s = await engine.load(encodeModel(m));
    await s.run({ x: { type: 'float32', dims: [3], data: Float32Array.of(1, 2, 3) }, k: { type: 'int64', dims: [1], data: BigInt64Array.of(1n) } });
  }, { instanceOf: OnnxTrainError });
  t.is(e?.code, 'RUNTIME');
  t.regex(e!.message, /onnxruntime-web \(wasm\)/);
});
