import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ELEMENTWISE_RULES, OPTIONAL_ELEMENTWISE_RULES } from '../../../../src/ops/lowering/elementwise/index.js';

const kebab = (op: string) => op.split('::')[1].replace('MatMul', 'Matmul').replace(/_13$/, '-13').replace(/_dX$/, '-dx').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

test('elementwise rules › table › keys are the rules\' own domain::OpType', (t) => {
  for (const [k, r] of Object.entries({ ...ELEMENTWISE_RULES, ...OPTIONAL_ELEMENTWISE_RULES })) t.is(k, r.op);
  t.true(Object.keys(ELEMENTWISE_RULES).every((k) => k.startsWith('com.microsoft::')), 'the main table lowers only com.microsoft ops');
  t.deepEqual(Object.keys(OPTIONAL_ELEMENTWISE_RULES), ['ai.onnx::Dropout']);
});

test('elementwise rules › table › every rule has its own source file and numeric test file', (t) => {
  const srcDir = path.resolve('src/ops/lowering/elementwise');
  const testDir = path.resolve('test/ops/lowering/elementwise');
  for (const r of Object.values({ ...ELEMENTWISE_RULES, ...OPTIONAL_ELEMENTWISE_RULES })) {
    const base = r.op === 'ai.onnx::Dropout' ? 'dropout' : kebab(r.op);
    t.true(fs.existsSync(path.join(srcDir, `${base}.ts`)), `${base}.ts`);
    t.true(fs.existsSync(path.join(testDir, `${base}.test.ts`)), `${base}.test.ts`);
  }
});

test('elementwise rules › check() › names the missing required inputs instead of throwing', async (t) => {
  const { checkOnly } = await import('../../../helpers/lowering.js');
  const { DataType } = await import('../../../../src/onnx/dtypes.js');
  for (const r of Object.values({ ...ELEMENTWISE_RULES, ...OPTIONAL_ELEMENTWISE_RULES })) {
    const [domain, opType] = r.op.split('::');
    const reason = checkOnly(r, { opType, domain: domain === 'ai.onnx' ? '' : domain, attrs: { axis: 0 }, inputs: [], outputs: [['y', DataType.FLOAT]] });
    t.regex(reason ?? '', /missing|needs at least one input/, r.op);
  }
});
