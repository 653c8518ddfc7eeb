import * as path from 'node:path';
import test from 'ava';
import { REPO, STACK_LINE, cli, runNode } from './helpers.js';

test('main › unknown command › exit 1 with a hint at --help, no stack', async (t) => {
  const r = await cli(['frobnicate']);
  t.is(r.code, 1);
  t.regex(r.stderr, /unknown command "frobnicate"/);
  t.regex(r.stderr, /onnx-train --help/);
  t.notRegex(r.stderr, STACK_LINE);
  t.is(r.stdout, '');
});

test('main › near-miss command › suggests the right one', async (t) => {
  const r = await cli(['inspec', 'x.onnx']);
  t.is(r.code, 1);
  t.regex(r.stderr, /did you mean "inspect"/);
});

test('main › no command › usage on stderr, exit 1', async (t) => {
  const r = await cli([]);
  t.is(r.code, 1);
  t.regex(r.stderr, /usage: onnx-train <command>/);
});

test('main › --help › lists every command, exit 0', async (t) => {
  const r = await cli(['--help']);
  t.is(r.code, 0);
  for (const c of ['inspect', 'conformance', 'demo']) t.regex(r.stdout, new RegExp(`^  ${c} `, 'm'));
});

test('main › command --help › usage and options, exit 0, nothing run', async (t) => {
  const r = await cli(['conformance', '--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /usage: onnx-train conformance <file-or-folder>\.\.\./);
  t.regex(r.stdout, /--ep <cpu\|cuda\|wasm\|webgpu>/);
  t.regex(r.stdout, /--json/);
});

test('main › unknown option › exit 1 naming the option', async (t) => {
  const r = await cli(['inspect', '--jsn', 'x.onnx']);
  t.is(r.code, 1);
  t.regex(r.stderr, /unknown option "--jsn" \(did you mean "--json"\?\)/);
  t.notRegex(r.stderr, STACK_LINE);
});

test('main › internal error › stack trace and exit 2', async (t) => {
  const r = await runNode(path.join(REPO, 'test', 'cli', 'fixtures', 'crash-cli.ts'), ['boom']);
  t.is(r.code, 2);
  t.regex(r.stderr, /TypeError: cannot read properties of undefined \(simulated bug\)/);
  t.regex(r.stderr, STACK_LINE);
  t.regex(r.stderr, /internal error: this is a bug/);
});

test('main › bin shim › runs the CLI through tsx', async (t) => {
  const r = await runNode(path.join(REPO, 'bin', 'onnx-train.js'), ['--version']);
  t.is(r.code, 0);
  t.regex(r.stdout.trim(), /^\d+\.\d+\.\d+/);
});
