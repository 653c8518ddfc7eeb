/**
 * Device-resident training state on onnxruntime-node's WebGPU EP (SwiftShader here): the MNIST artifacts train with
 * parameters and AdamW moments kept in GPU buffers (the default) and, as the reference, copied to the host every step
 * (`deviceState: false`); everything runs in a child process (fixtures/webgpu-device-state.ts). The checks read what
 * ORT itself returned (each output tensor's `location`, ORT's disposed state of every tensor), not the adapter's flags.
 *
 * Skipped, with the reason in the title, only when the probe child reports that Dawn found no WebGPU adapter; any
 * other probe failure fails the tests.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { webgpuEnvFix } from '../../src/runtime/adapters/webgpu-env.js';

const SCRIPT = path.resolve('test', 'runtime', 'fixtures', 'webgpu-device-state.ts');
const DIR = path.resolve('fixtures', 'mnist-mlp-web');
const STEPS = 10;
const LEAK_STEPS = 50;
const ENV = { ...process.env, ...(webgpuEnvFix()?.env ?? {}) };

interface Step { loss: number | null; locations: Record<string, string>; downloads: Record<string, number>; deviceFeeds: string[]; live: number; ms: number }
interface Run {
  steps: Step[];
  userOutputs: Record<string, { type: string; dims: number[]; data: number[]; device: boolean }>;
  unfused: (number | null)[];
  optimizerLocations: Record<string, string>[];
  evalLoss: number;
  skipped: number;
  step: number;
  size: number;
  heldOnDevice: string[];
  readbacksAfterGetParameter: number;
  fc1Bias: number[];
  fc2ExpAvgSq: number[];
  contiguous: number[];
  checkpoint: string;
}
interface Report {
  stateInputs: string[];
  stateOutputs: string[];
  lossOutput: string;
  userOutputs: string[];
  nanStep: number;
  device: Run;
  host: Run;
  leak: { produced: number; live: number[]; ortAlive: number; liveBeforeRelease: number; liveAfterRelease: number; ortAliveAfterRelease: number; rssMiB: number[]; deviceBytes: number };
  envOff: { locations: Record<string, string> };
}

/** Undefined when a WebGPU adapter exists, else why not (only Dawn's "no adapter" counts; anything else throws). */
function noAdapter(): string | undefined {
  const r = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, 'probe'], { env: ENV, encoding: 'utf8', timeout: 120_000 });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error(`the WebGPU probe failed (exit ${r.status}): ${r.stderr?.slice(-2000)}`);
  const p = JSON.parse(last) as { adapter: boolean; error?: string };
  return p.adapter ? undefined : p.error ?? 'no WebGPU adapter';
}

let report: Promise<Report> | undefined;
function run(): Promise<Report> {
  report ??= new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, 'run', DIR, String(STEPS), String(LEAK_STEPS)], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`child exited ${code ?? signal}: ${err.slice(-3000)}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as Report);
    });
  });
  return report;
}

const maxAbsDiff = (a: readonly (number | null)[], b: readonly (number | null)[]) =>
  a.length !== b.length ? Infinity : a.reduce<number>((m, x, i) => (x === null || b[i] === null ? (x === b[i] ? m : Infinity) : Math.max(m, Math.abs(x - b[i]!))), 0);
const sorted = (xs: readonly string[]) => [...xs].sort();

const skip = noAdapter();
const T = skip === undefined ? test : test.skip;
const why = skip === undefined ? '' : ` (skipped: ${skip})`;

T(`runtime › webgpu device state › mnist › same losses as host state over ${STEPS} fused + 3 unfused steps, a non-finite step skipped by both${why}`, async (t) => {
  const r = await run();
  const losses = (x: Run) => x.steps.map((s) => s.loss);
  t.log(`device: ${losses(r.device).map((l) => (l === null ? 'NaN' : l.toFixed(6))).join(' ')} | unfused ${r.device.unfused.map((l) => l?.toFixed(6)).join(' ')}`);
  t.log(`host:   ${losses(r.host).map((l) => (l === null ? 'NaN' : l.toFixed(6))).join(' ')} | unfused ${r.host.unfused.map((l) => l?.toFixed(6)).join(' ')}`);
  t.log(`median step: device ${median(r.device.steps.slice(1).map((s) => s.ms)).toFixed(0)} ms, host ${median(r.host.steps.slice(1).map((s) => s.ms)).toFixed(0)} ms`);
  t.is(r.device.steps.length, STEPS);
  t.true(maxAbsDiff(losses(r.device), losses(r.host)) <= 1e-5, `fused losses differ by ${maxAbsDiff(losses(r.device), losses(r.host))}`);
  t.true(maxAbsDiff(r.device.unfused, r.host.unfused) <= 1e-5, 'unfused (runTrainStep + runOptimizerStep) losses');
  t.true(Math.abs(r.device.evalLoss - r.host.evalLoss) <= 1e-5, 'runEvalStep with the device-resident parameters');
  // The non-finite step was skipped by both, and the updates before and after it all happened.
  t.is(r.device.steps[r.nanStep].loss, null);
  t.is(r.device.skipped, 1);
  t.is(r.host.skipped, 1);
  t.is(r.device.step, STEPS + 3 - 1);
  t.is(r.device.step, r.host.step);
  t.true(losses(r.device).every((l, k) => k === r.nanStep || (l !== null && Number.isFinite(l))));
  // Outputs the caller asks for besides the loss (the logits) come back as host tensors equal to the host run's.
  for (const n of r.userOutputs) {
    t.false(r.device.userOutputs[n].device, `${n} is a host tensor`);
    t.deepEqual(r.device.userOutputs[n].dims, r.host.userOutputs[n].dims);
    t.true(maxAbsDiff(r.device.userOutputs[n].data, r.host.userOutputs[n].data) <= 1e-5, `${n} values`);
  }
});

T(`runtime › webgpu device state › mnist › ORT returns parameters and moments in gpu-buffer, they are fed back from the GPU, only the loss is copied to the host${why}`, async (t) => {
  const r = await run();
  for (const [k, s] of r.device.steps.entries()) {
    for (const o of r.stateOutputs) t.is(s.locations[o], 'gpu-buffer', `step ${k}: ORT returned ${o} in ${s.locations[o]}`);
    const logits = k === 1 ? Object.fromEntries(r.userOutputs.map((n) => [n, r.device.userOutputs[n].data.length * 4])) : {};
    t.deepEqual(s.downloads, { [r.lossOutput]: 4, ...logits }, `step ${k}: host copies`);
    // The first step feeds the checkpoint's host tensors; every later one feeds the previous step's GPU buffers.
    t.deepEqual(sorted(s.deviceFeeds), k === 0 ? [] : sorted(r.stateInputs), `step ${k}: inputs fed from GPU buffers`);
  }
  for (const loc of r.device.optimizerLocations) for (const o of Object.keys(loc)) t.is(loc[o], 'gpu-buffer', `optimizer model output ${o}`);
  t.deepEqual(sorted(r.device.heldOnDevice), sorted(r.stateInputs), 'after training, the session holds every parameter and moment as a GPU tensor');
  // Controls: the same check sees host copies when device state is off (option or environment).
  for (const o of r.stateOutputs) t.is(r.host.steps[1].locations[o], 'cpu', `deviceState: false returns ${o} in CPU memory`);
  for (const o of r.stateOutputs) t.is(r.envOff.locations[o], 'cpu', `ONNX_TRAIN_DEVICE_STATE=0 returns ${o} in CPU memory`);
  t.deepEqual(r.host.heldOnDevice, []);
});

T(`runtime › webgpu device state › mnist › checkpoint, getContiguousParameters, getParameter, getOptimizerState equal the host-state run's${why}`, async (t) => {
  const r = await run();
  t.is(r.device.size, 397_510);
  t.is(r.device.contiguous.length, r.host.contiguous.length);
  const d = maxAbsDiff(r.device.contiguous, r.host.contiguous);
  t.log(`getContiguousParameters max |device - host| = ${d}; checkpoints byte-identical: ${r.device.checkpoint === r.host.checkpoint}`);
  t.true(d <= 1e-6, `contiguous parameters differ by ${d}`);
  t.true(maxAbsDiff(r.device.fc1Bias, r.host.fc1Bias) <= 1e-6, 'getParameter (a synchronous read of a GPU tensor)');
  t.is(r.device.readbacksAfterGetParameter, 1, 'getParameter read exactly one tensor back');
  t.true(maxAbsDiff(r.device.fc2ExpAvgSq, r.host.fc2ExpAvgSq) <= 1e-6, 'getOptimizerState');
  // saveCheckpoint syncs the device state first: with bit-identical training, the files are identical.
  t.is(r.device.checkpoint, r.host.checkpoint, 'saveCheckpoint writes the same bytes');
});

T(`runtime › webgpu device state › mnist › no leak: ${LEAK_STEPS} steps keep at most two generations on the device, ORT reports every older tensor disposed${why}`, async (t) => {
  const r = await run();
  const gen = r.stateOutputs.length;
  const L = r.leak;
  t.log(`device tensors alive per step: max ${Math.max(...L.live)}; produced ${L.produced}; RSS ${L.rssMiB[0]} -> ${L.rssMiB[L.rssMiB.length - 1]} MiB`);
  t.is(L.produced, LEAK_STEPS * gen, 'every step produced a generation');
  t.true(L.live.every((n) => n <= 2 * gen), `alive after each step: ${L.live.join(',')}`);
  t.true(L.ortAlive <= 2 * gen, `ORT still holds ${L.ortAlive} of the ${L.produced} tensors`);
  t.is(L.liveBeforeRelease, L.ortAlive, 'the pool and ORT agree on what is alive');
  t.is(L.liveAfterRelease, 0, 'release() releases everything');
  t.is(L.ortAliveAfterRelease, 0, 'ORT reports every tensor disposed after release()');
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}
