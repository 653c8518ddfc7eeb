/**
 * Checkpoint writes are atomic: a process killed at a random moment while saving leaves the previous checkpoint
 * intact (and readable) — tried many times with SIGKILL on a child that saves in a loop.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCheckpoint, writeCheckpoint } from '../../src/checkpoint/io.js';
import type { CheckpointState } from '../../src/checkpoint/types.js';
import { rmTemp, tempDir } from '../helpers/artifact-sets.js';

const CHILD = `
import { writeCheckpoint } from './src/checkpoint/io.js';
const file = process.argv[2];
const n = 1 << 20;
for (let k = 1; ; k++) {
  const data = new Float32Array(n).fill(k);
  await writeCheckpoint(file, { format: 'odtc', trainable: [{ name: 'w', dataType: 1, dims: [n], data: new Uint8Array(data.buffer) }], frozen: [], properties: { k: BigInt(k) } });
  process.stdout.write('saved ' + k + '\\n');
}
`;

function state(k: number, n: number): CheckpointState {
  const data = new Float32Array(n).fill(k);
  return { format: 'odtc', trainable: [{ name: 'w', dataType: 1, dims: [n], data: new Uint8Array(data.buffer) }], frozen: [], properties: { k: BigInt(k) } };
}

test('checkpoint › SIGKILL during saves, 25 times › the file on disk is always a complete earlier checkpoint', async (t) => {
  const dir = tempDir('ot-kill-');
  const script = path.resolve('.tmp', `kill-child-${process.pid}.ts`);
  fs.mkdirSync(path.dirname(script), { recursive: true });
  fs.writeFileSync(script, CHILD.replace("'./src/", `'${path.resolve('src')}/`));
  const file = path.join(dir, 'ckpt');
  await writeCheckpoint(file, state(0, 1 << 20));
  try {
    let lastSeen = 0;
    for (let round = 0; round < 25; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      let saved = 0;
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          saved += (d.toString().match(/saved/g) ?? []).length;
          // Kill at a varying point: after 1..3 completed saves, mid-way through the next one.
          if (saved >= 1 + (round % 3)) setTimeout(() => child.kill('SIGKILL'), (round * 7) % 23);
        });
        child.on('exit', () => resolve());
      });
      const back = await readCheckpoint(file); // must parse: never a torn file
      const k = Number(back.properties.k);
      const w = new Float32Array(back.trainable[0].data.buffer.slice(back.trainable[0].data.byteOffset, back.trainable[0].data.byteOffset + back.trainable[0].data.byteLength));
      t.true(w.every((x) => x === k), `round ${round}: tensor and property disagree`);
      t.true(k >= 1, `round ${round}: at least one save completed`);
      lastSeen = k;
    }
    t.true(lastSeen > 0);
  } finally {
    fs.rmSync(script, { force: true });
    rmTemp(dir);
  }
});
