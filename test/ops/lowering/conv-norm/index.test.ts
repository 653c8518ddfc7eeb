import test from 'ava';
import { CONV_NORM_RULES } from '../../../../src/ops/lowering/conv-norm/index.js';

test('CONV_NORM_RULES › keys › are each rule\'s domain::OpType and cover the conv/pool/norm training ops', (t) => {
  for (const [key, rule] of Object.entries(CONV_NORM_RULES)) t.is(rule.op, key);
  t.deepEqual(Object.keys(CONV_NORM_RULES).sort(), [
    'ai.onnx::AveragePoolGrad', 'ai.onnx::LayerNormalization', 'ai.onnx::MaxPoolGrad', 'ai.onnx::SimplifiedLayerNormalization',
    'com.microsoft::AveragePoolGrad', 'com.microsoft::BatchNormInternal', 'com.microsoft::BatchNormalizationGrad',
    'com.microsoft::ConvGrad', 'com.microsoft::LayerNormalization', 'com.microsoft::LayerNormalizationGrad',
    'com.microsoft::MaxPoolGrad', 'com.microsoft::SimplifiedLayerNormalization', 'com.microsoft::SimplifiedLayerNormalizationGrad',
  ]);
});
