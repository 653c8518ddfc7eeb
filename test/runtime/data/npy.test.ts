/**
 * The .npy reader against files written by python3 + numpy (the reference writer), and the writer against
 * numpy.load. Without python3/numpy the numpy-backed tests skip with the reason logged.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OnnxTrainError } from '../../../src/errors.js';
import { NpyError, decodeNpy, encodeNpy, readNpyHeader, type NpyProblem } from '../../../src/runtime/data/npy.js';
import type { TensorType } from '../../../src/runtime/engine.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'npy-test-'));
test.after.always(() => fs.rmSync(dir, { recursive: true, force: true }));

function python(script: string): { ok: boolean; out: string } {
  const r = spawnSync('python3', ['-c', script], { encoding: 'utf8', cwd: dir });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

const probe = python('import numpy; print(numpy.__version__)');
const numpyTest = probe.ok ? test : test.skip;
if (!probe.ok) console.log(`npy tests that need numpy are skipped: python3 with numpy is not available (${probe.out.trim().split('\n').pop()})`);

/** Writes the arrays with numpy in this test's temp dir. */
function writeWithNumpy(body: string): void {
  const r = python(`import numpy as np\nfrom numpy.lib import format as F\n${body}`);
  if (!r.ok) throw new Error(`python failed:\n${r.out}`);
}

const read = (f: string) => decodeNpy(new Uint8Array(fs.readFileSync(path.join(dir, f))), f);
const values = (t: { data: ArrayLike<number | bigint> }) => Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));

numpyTest('decodeNpy › every supported dtype written by np.save › type, shape and values', (t) => {
  writeWithNumpy(`
a = np.arange(12).reshape(3, 4)
np.save('f4.npy', (a / 8).astype('<f4'))
np.save('f8.npy', (a / 3).astype('<f8'))
np.save('i8.npy', (a - 6).astype('<i8') * 1000000000000)
np.save('i4.npy', (a - 6).astype('<i4'))
np.save('u1.npy', (a * 20).astype('u1'))
np.save('b1.npy', (a % 3 == 0))
np.save('scalar.npy', np.float32(2.5))
np.save('empty.npy', np.zeros((0, 3), dtype='<f4'))
`);
  const range = Array.from({ length: 12 }, (_, i) => i);
  const cases: [string, TensorType, number[]][] = [
    ['f4', 'float32', range.map((i) => i / 8)],
    ['f8', 'float64', range.map((i) => i / 3)],
    ['i8', 'int64', range.map((i) => (i - 6) * 1e12)],
    ['i4', 'int32', range.map((i) => i - 6)],
    ['u1', 'uint8', range.map((i) => i * 20)],
    ['b1', 'bool', range.map((i) => (i % 3 === 0 ? 1 : 0))],
  ];
  for (const [f, type, want] of cases) {
    const a = read(`${f}.npy`);
    t.is(a.type, type, f);
    t.deepEqual(a.dims, [3, 4], f);
    t.deepEqual(values(a), want, f);
  }
  const s = read('scalar.npy');
  t.deepEqual([s.type, s.dims, values(s)], ['float32', [], [2.5]]);
  const e = read('empty.npy');
  t.deepEqual([e.dims, e.data.length], [[0, 3], 0]);
});

numpyTest('decodeNpy › format versions 1.0, 2.0, 3.0 › same array', (t) => {
  writeWithNumpy(`
a = np.linspace(-1, 1, 10, dtype='<f4').reshape(2, 5)
for v in [(1, 0), (2, 0), (3, 0)]:
    with open('v%d.npy' % v[0], 'wb') as f:
        F.write_array(f, a, version=v)
`);
  const want = values(read('v1.npy'));
  for (const v of [1, 2, 3]) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(dir, `v${v}.npy`)));
    t.is(readNpyHeader(bytes).version[0], v);
    const a = decodeNpy(bytes);
    t.deepEqual(a.dims, [2, 5]);
    t.deepEqual(values(a), want);
  }
  t.is(want[0], -1);
  t.is(want[9], 1);
});

numpyTest('decodeNpy › big-endian data › byte-swapped to the same values', (t) => {
  writeWithNumpy(`
np.save('be4.npy', np.array([1.5, -2.25, 3e-3], dtype='>f4'))
np.save('be8.npy', np.array([-7, 2**40], dtype='>i8'))
np.save('bei4.npy', np.array([[1, -2], [3, -4]], dtype='>i4'))
`);
  t.deepEqual(values(read('be4.npy')), [1.5, -2.25, Math.fround(3e-3)]);
  t.deepEqual(values(read('be8.npy')), [-7, 2 ** 40]);
  t.deepEqual(values(read('bei4.npy')), [1, -2, 3, -4]);
});

numpyTest('decodeNpy › files numpy writes that are not supported › NpyError with the reason and a fix', (t) => {
  writeWithNumpy(`
np.save('fortran.npy', np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))
np.save('f2.npy', np.zeros(3, dtype='<f2'))
np.save('c8.npy', np.zeros(3, dtype='<c8'))
np.save('rec.npy', np.zeros(3, dtype=[('a', '<f4'), ('b', '<i4')]))
np.save('obj.npy', np.array([1, 'x'], dtype=object), allow_pickle=True)
np.save('fortran1d.npy', np.asfortranarray(np.arange(3, dtype='<f4')))
`);
  const cases: [string, NpyProblem, RegExp][] = [
    ['fortran.npy', 'fortran-order', /Fortran.*ascontiguousarray/s],
    ['f2.npy', 'dtype', /"<f2" is not supported.*astype/s],
    ['c8.npy', 'dtype', /"<c8" is not supported/],
    ['rec.npy', 'dtype', /structured/],
    ['obj.npy', 'dtype', /"\|O" is not supported/],
  ];
  for (const [f, reason, msg] of cases) {
    const e = t.throws(() => read(f), { instanceOf: NpyError }, f);
    t.true(e instanceof OnnxTrainError);
    t.is(e?.reason, reason, f);
    t.is(e?.code, 'IO');
    t.regex(e?.message ?? '', msg, f);
    t.regex(e?.message ?? '', new RegExp(`^${f}: `), 'names the file');
  }
  // 1-D arrays are the same in either order: accepted.
  t.deepEqual(values(read('fortran1d.npy')), [0, 1, 2]);
});

test('decodeNpy › damaged bytes › NpyError per problem', (t) => {
  const good = encodeNpy({ type: 'float32', dims: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
  const cases: [string, Uint8Array, NpyProblem, RegExp][] = [
    ['not npy', new TextEncoder().encode('hello world, not numpy'), 'magic', /does not start with/],
    ['npz (zip)', Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0), 'magic', /\.npz.*np\.load/s],
    ['version 9', (() => { const b = good.slice(); b[6] = 9; return b; })(), 'version', /version 9\.0/],
    ['truncated data', good.slice(0, good.length - 5), 'truncated', /has 19 bytes.*needs 24/],
    ['extra data', Uint8Array.from([...good, 0, 0, 0, 0]), 'size', /more than the 24/],
    ['truncated header', good.slice(0, 30), 'truncated', /header claims/],
    ['preamble only', good.slice(0, 9), 'truncated', /too short/],
    ['bad header', (() => { const b = good.slice(); b.set(new TextEncoder().encode("{'descr': <f4"), 10); return b; })(), 'header', /cannot parse the header/],
    ['negative dim', (() => { const b = good.slice(); const h = new TextDecoder('latin1').decode(b.subarray(10, 74)).replace('(2, 3)', '(2,-3)'); b.set(new TextEncoder().encode(h), 10); return b; })(), 'header', /"shape" is \[2,-3\], not a tuple/],
  ];
  for (const [name, bytes, reason, msg] of cases) {
    const e = t.throws(() => decodeNpy(bytes, 'x.npy'), { instanceOf: NpyError }, name);
    t.is(e?.reason, reason, name);
    t.regex(e?.message ?? '', msg, name);
  }
});

test('encodeNpy › round trip through decodeNpy › every type, header aligned to 64 bytes', (t) => {
  const tensors = [
    { type: 'float32', dims: [2, 2], data: Float32Array.of(1, -2, 0.5, 3) },
    { type: 'float64', dims: [3], data: Float64Array.of(1e-300, 2, Math.PI) },
    { type: 'int64', dims: [1, 2], data: BigInt64Array.of(-5n, 1n << 62n) },
    { type: 'int32', dims: [2], data: Int32Array.of(-1, 7) },
    { type: 'uint8', dims: [2], data: Uint8Array.of(0, 255) },
    { type: 'bool', dims: [3], data: Uint8Array.of(1, 0, 1) },
  ] as const;
  for (const x of tensors) {
    const b = encodeNpy(x);
    t.is(readNpyHeader(b).dataOffset % 64, 0, x.type);
    const y = decodeNpy(b);
    t.deepEqual([y.type, y.dims, Array.from(y.data as ArrayLike<unknown>)], [x.type, x.dims, Array.from(x.data as ArrayLike<unknown>)]);
  }
});

numpyTest('encodeNpy › numpy.load reads what it writes › values and dtypes', (t) => {
  fs.writeFileSync(path.join(dir, 'ours_f4.npy'), encodeNpy({ type: 'float32', dims: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6.5) }));
  fs.writeFileSync(path.join(dir, 'ours_i8.npy'), encodeNpy({ type: 'int64', dims: [4], data: BigInt64Array.of(0n, -1n, 9n, 1n << 40n) }));
  const r = python(`import numpy as np
a = np.load('ours_f4.npy'); b = np.load('ours_i8.npy')
print(a.dtype, a.shape, a.tolist()); print(b.dtype, b.shape, b.tolist())`);
  t.true(r.ok, r.out);
  t.is(r.out.trim(), 'float32 (2, 3) [[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]]\nint64 (4,) [0, -1, 9, 1099511627776]');
});
