/** The output heads every family shares: classification (cross-entropy) or regression (MSE). */
import type { ModelSpec, Value, Values } from '../../engine/index';
import * as nn from '../../nn/index';
import type { DataShape } from './family';

/**
 * Loss and metrics for a body that maps the batch's `x` to features: classification when the
 * dataset has classes (logits [N, classes], accuracy), regression otherwise (value [N, 1], MSE).
 */
export function withHead(
  shape: DataShape,
  body: { params: ModelSpec['params']; buffers?: ModelSpec['buffers']; forward: (x: Value) => Value },
  batch: ModelSpec['batch'],
): ModelSpec {
  const regression = shape.classes === 0;
  const out = regression ? 'value' : 'logits';
  return {
    params: body.params,
    buffers: body.buffers,
    batch,
    forward: (b): Values => ({ [out]: body.forward(b.x) }),
    loss: (p, b) => (regression ? nn.mse(p.value, b.y) : nn.crossEntropy(p.logits, b.y)),
    metrics: (p, b): Values =>
      regression ? { mse: nn.mse(p.value, b.y) } : { accuracy: nn.accuracy(p.logits, b.y) },
    inferenceOutputs: [out],
  };
}

export function targetField(shape: DataShape, batchSize: number): ModelSpec['batch'][string] {
  return shape.classes === 0
    ? { dtype: 'float32', shape: [batchSize, 1] }
    : { dtype: 'int64', shape: [batchSize] };
}
