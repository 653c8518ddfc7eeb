import test from 'ava';
import { parseArgs, suggest, wantsHelp } from '../../src/cli/args.js';
import { OnnxTrainError } from '../../src/errors.js';

const FLAGS = {
  json: { type: 'boolean', description: 'json' },
  ep: { type: 'string', choices: ['cpu', 'wasm'], default: 'cpu', description: 'ep' },
  out: { type: 'string', description: 'out' },
  tag: { type: 'string[]', description: 'tags' },
} as const;
const POS = { usage: '<files>...', min: 1 };

test('args › forms › --flag value, --flag=value, booleans, repeated, --', (t) => {
  const a = parseArgs(['a', '--ep', 'wasm', '--out=x.onnx', '--json', '--tag', '1', '--tag=2', 'b', '--', '--not-a-flag'], FLAGS, POS, 'cmd');
  t.deepEqual(a.positionals, ['a', 'b', '--not-a-flag']);
  t.is(a.flags.ep, 'wasm');
  t.is(a.flags.out, 'x.onnx');
  t.true(a.flags.json);
  t.deepEqual(a.flags.tag, ['1', '2']);
});

test('args › defaults › string default, booleans false, arrays empty, unset undefined', (t) => {
  const a = parseArgs(['a'], FLAGS, POS, 'cmd');
  t.is(a.flags.ep, 'cpu');
  t.false(a.flags.json);
  t.deepEqual(a.flags.tag, []);
  t.is(a.flags.out, undefined);
});

test('args › booleans › --no-x and --x=false turn off', (t) => {
  t.false(parseArgs(['a', '--no-json'], FLAGS, POS, 'cmd').flags.json);
  t.false(parseArgs(['a', '--json=false'], FLAGS, POS, 'cmd').flags.json);
  t.true(parseArgs(['a', '--json=true'], FLAGS, POS, 'cmd').flags.json);
});

const bad: [string, string[], RegExp][] = [
  ['unknown flag', ['a', '--nope'], /unknown option "--nope"/],
  ['missing value', ['a', '--out'], /"--out" needs a value/],
  ['value that is a flag', ['a', '--out', '--json'], /"--out" needs a value/],
  ['bad choice', ['a', '--ep', 'tpu'], /must be one of cpu, wasm \(got "tpu"\)/],
  ['given twice', ['a', '--ep', 'cpu', '--ep', 'wasm'], /given more than once/],
  ['boolean with junk', ['a', '--json=yes'], /is a switch/],
  ['missing positional', [], /missing argument: <files>\.\.\./],
  ['short option', ['a', '-x'], /unknown option "-x"/],
];
for (const [name, argv, re] of bad) {
  test(`args › ${name} › BAD_ARGUMENT naming the flag, with a help hint`, (t) => {
    const e = t.throws(() => parseArgs(argv, FLAGS, POS, 'cmd'), { instanceOf: OnnxTrainError });
    t.is(e?.code, 'BAD_ARGUMENT');
    t.regex(e!.message, re);
    t.regex(e!.message, /onnx-train cmd --help/);
  });
}

test('args › too many positionals › names the first extra one', (t) => {
  const e = t.throws(() => parseArgs(['a', 'b'], FLAGS, { usage: '<file>', min: 1, max: 1 }, 'cmd'));
  t.regex(e!.message, /unexpected argument "b"/);
});

test('args › help › --help and -h before -- only', (t) => {
  t.true(wantsHelp(['x', '--help']));
  t.true(wantsHelp(['-h']));
  t.false(wantsHelp(['--', '--help']));
});

test('args › suggest › near misses only', (t) => {
  t.is(suggest('jsn', ['json', 'ep']), ' (did you mean "--json"?)');
  t.is(suggest('zzzzzz', ['json', 'ep']), '');
});

test('args › -o › is the short form of --out where the command has --out', (t) => {
  const flags = { out: { type: 'string' as const, description: 'output' } };
  const r = parseArgs(['in.onnx', '-o', 'x.onnx'], flags as never, { min: 1, usage: '<in>' }, 'lower');
  t.is((r.flags as Record<string, unknown>).out, 'x.onnx');
  t.throws(() => parseArgs(['-o', 'x'], {} as never, { min: 0, usage: '' }, 'inspect'), { message: /unknown option "-o"/ });
});
