import test from 'ava';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectCheckpointFormat, readCheckpoint, writeCheckpoint } from '../../src/checkpoint/io.js';
import { prepareFileAtomic, writeFileAtomic } from '../../src/checkpoint/atomic.js';
import { encodeOdtc } from '../../src/checkpoint/odtc.js';
import { ARTIFACTS, artifact, content, f32, FIXTURES, sampleState, tempDir, throwsCode } from './helpers.js';

test('io › detect › artifacts folder, ODTC file, legacy folder, safetensors file', async (t) => {
  t.deepEqual(await detectCheckpointFormat(join(ARTIFACTS, 'lora-linear-mse')), { format: 'odtc', path: artifact('lora-linear-mse') });
  t.is((await detectCheckpointFormat(artifact('mnist-mlp-web'))).format, 'odtc');
  t.deepEqual(await detectCheckpointFormat(join(FIXTURES, 'legacy-pbseq')), { format: 'pbseq', path: join(FIXTURES, 'legacy-pbseq', 'checkpoint') });
  const dir = await tempDir(t);
  await writeCheckpoint(join(dir, 'w.safetensors'), sampleState());
  t.is((await detectCheckpointFormat(join(dir, 'w.safetensors'))).format, 'safetensors');
  // Content decides, not the name: ODTC bytes under a .safetensors name are still ODTC.
  await writeCheckpoint(join(dir, 'odd.safetensors'), sampleState(), { format: 'odtc' });
  t.is((await readCheckpoint(join(dir, 'odd.safetensors'))).format, 'odtc');
});

test('io › detect › unknown content, empty folder and missing path give clear errors', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'notes.txt'), 'hello world');
  const e = await throwsCode(t, () => readCheckpoint(join(dir, 'notes.txt')), 'BAD_CHECKPOINT');
  t.regex(e.what, /unrecognised checkpoint format \(11 bytes, starting 68 65 6c/);
  t.is(e.where, join(dir, 'notes.txt'));
  await writeFile(join(dir, 'empty'), '');
  await throwsCode(t, () => readCheckpoint(join(dir, 'empty')), 'BAD_CHECKPOINT');
  await mkdir(join(dir, 'sub'));
  await throwsCode(t, () => readCheckpoint(join(dir, 'sub')), 'BAD_CHECKPOINT');
  const io = await throwsCode(t, () => readCheckpoint(join(dir, 'nope')), 'IO');
  t.regex(io.what, /ENOENT/);
});

test('io › write › ODTC v2 by default, v1 on request', async (t) => {
  const dir = await tempDir(t);
  await writeCheckpoint(join(dir, 'a'), sampleState());
  await writeCheckpoint(join(dir, 'b'), sampleState(), { odtcVersion: 1 });
  t.is((await readCheckpoint(join(dir, 'a'))).version, 2);
  t.is((await readCheckpoint(join(dir, 'b'))).version, 1);
});

test('io › atomic › a write that fails midway leaves the target unchanged and no temp file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'checkpoint');
  await writeCheckpoint(path, sampleState());
  const before = await readFile(path);
  const next = encodeOdtc({ ...sampleState(), trainable: [f32('other', [100], 7)] }).checkpoint;
  const err = await t.throwsAsync(() =>
    writeFileAtomic(path, async (sink) => {
      await sink.write(next.subarray(0, next.length >> 1));
      throw new Error('disk unplugged');
    }),
  );
  t.is(err?.message, 'disk unplugged');
  t.deepEqual(await readFile(path), before);
  t.deepEqual(await readdir(dir), ['checkpoint']);
  t.deepEqual(content(await readCheckpoint(path)), content(sampleState()));
});

test('io › atomic › an invalid state fails before the disk is touched', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'checkpoint');
  await writeCheckpoint(path, sampleState());
  const before = await readFile(path);
  const bad = sampleState();
  bad.trainable[0] = { ...bad.trainable[0]!, dims: [5, 5] };
  for (const format of ['odtc', 'safetensors', 'pbseq'] as const) {
    await throwsCode(t, () => writeCheckpoint(format === 'pbseq' ? join(dir, 'legacy') : path, bad, { format }), 'BAD_ARGUMENT');
  }
  t.deepEqual(await readFile(path), before);
  t.deepEqual(await readdir(dir), ['checkpoint']);
});

test('io › atomic › a successful write replaces the target completely', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'checkpoint');
  await writeCheckpoint(path, sampleState());
  const next = { ...sampleState(), trainable: [f32('only', [3], 1)], frozen: [], optimizer: undefined };
  delete next.optimizer;
  await writeCheckpoint(path, next);
  t.deepEqual(await readCheckpoint(path), next);
  t.deepEqual(await readdir(dir), ['checkpoint']);
});

test('io › atomic › prepared files stay invisible until commit; abort leaves the target', async (t) => {
  const dir = await tempDir(t);
  const a = join(dir, 'checkpoint');
  await writeFile(a, 'old');
  const p1 = await prepareFileAtomic(a, (sink) => sink.write(new TextEncoder().encode('new')));
  const p2 = await prepareFileAtomic(`${a}.data`, (sink) => sink.write(new Uint8Array(4)));
  t.is(await readFile(a, 'utf8'), 'old');
  t.is((await readdir(dir)).length, 3, 'two temp files beside the target');
  await p2.abort();
  await p1.commit();
  t.is(await readFile(a, 'utf8'), 'new');
  t.deepEqual(await readdir(dir), ['checkpoint']);
});

test('io › atomic › ODTC + external data: a failed write leaves checkpoint and .data as they were', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'checkpoint');
  const s = { ...sampleState(), trainable: [...sampleState().trainable, f32('big', [64], 1)] };
  await writeCheckpoint(path, s, { externalData: true });
  const [ckpt, data] = [await readFile(path), await readFile(`${path}.data`)];
  const bad = { ...s, trainable: [...s.trainable, { ...f32('broken', [4], 2), dims: [5] }] };
  await throwsCode(t, () => writeCheckpoint(path, bad, { externalData: true }), 'BAD_ARGUMENT');
  await throwsCode(t, () => writeCheckpoint(join(path, 'x'), s, { externalData: true }), 'IO'); // parent is a file
  t.deepEqual(await readFile(path), ckpt);
  t.deepEqual(await readFile(`${path}.data`), data);
  t.deepEqual((await readdir(dir)).sort(), ['checkpoint', 'checkpoint.data']);
});

test('io › atomic › writing into a missing folder is IO and leaves nothing behind', async (t) => {
  const dir = await tempDir(t);
  const e = await throwsCode(t, () => writeCheckpoint(join(dir, 'missing', 'checkpoint'), sampleState()), 'IO');
  t.regex(e.fix ?? '', /folder must exist/);
  t.deepEqual(await readdir(dir), []);
});

test('io › atomic › legacy folder replaces an old checkpoint but refuses folders with other files', async (t) => {
  const dir = await tempDir(t);
  const ckpt = join(dir, 'ckpt');
  await writeCheckpoint(ckpt, sampleState(), { format: 'pbseq' });
  const small = { ...sampleState(), frozen: [], properties: {} };
  delete (small as { optimizer?: unknown }).optimizer;
  await writeCheckpoint(ckpt, small, { format: 'pbseq' });
  t.deepEqual(await readdir(ckpt), ['paramtrain_tensors.pbseq'], 'stale optimizer/property files are gone');
  t.deepEqual(content(await readCheckpoint(ckpt)), content(small));
  t.deepEqual((await readdir(dir)).sort(), ['ckpt']);

  const artifacts = join(dir, 'artifacts');
  await mkdir(artifacts);
  await writeFile(join(artifacts, 'training_model.onnx'), 'model');
  const e = await throwsCode(t, () => writeCheckpoint(artifacts, sampleState(), { format: 'pbseq' }), 'IO');
  t.regex(e.what, /training_model\.onnx/);
  t.deepEqual(await readdir(artifacts), ['training_model.onnx']);
});
