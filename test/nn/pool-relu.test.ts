import { expect, it } from 'vitest';
import { Graph } from '../../src/engine/ir/graph';
import type { Value } from '../../src/engine/ir/types';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import * as nn from '../../src/nn/index';

const POOL = { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] };

/** conv → ReLU → 2×2 max-pool → dense, the pool built by `pool` from the conv's output. */
function net(pool: (convOut: Value) => Value) {
  const rng = new nn.Rng(3);
  const conv = nn.conv2d(rng, 1, 4, 3, { padding: 1 });
  const dense = nn.linear(rng, 4 * 4 * 4, 3);
  return {
    params: [...conv.params, ...dense.params],
    batch: {
      x: { dtype: 'float32' as const, shape: [4, 1, 8, 8] },
      y: { dtype: 'int64' as const, shape: [4] },
    },
    forward: (b: Record<string, Value>) => {
      const pooled = pool(conv(b.x));
      return { logits: dense(b.x.graph.op('Reshape', [pooled], { shape: [4, 64] })) };
    },
    loss: (p: Record<string, Value>, b: Record<string, Value>) => nn.crossEntropy(p.logits, b.y),
  };
}

async function trained(pool: Parameters<typeof net>[0]): Promise<number[]> {
  const t = await compileTrainStep({ model: net(pool), optimizer: nn.sgd() });
  // Half the image is zero, so the conv's output there is its bias alone: windows of exact ties.
  const x = Array.from({ length: 4 * 64 }, (_, i) => (i % 64 < 32 ? 0 : Math.sin(i)));
  const batch = { x: tensorFrom('float32', [4, 1, 8, 8], x), y: tensorFrom('int64', [4], [0, 1, 2, 1]) };
  for (let i = 0; i < 3; i++) await t.step(batch, 0.5);
  const params = Array.from(t.state().params);
  await t.release();
  return params;
}

it('maxPool2d of a ReLU pools first: the same values and gradients, the ReLU on the pooled tensor', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [1, 2, 4, 4]);
  const y = nn.maxPool2d(2)(g.op('Relu', [x]));
  expect(y.producer?.op).toBe('Relu');
  expect(y.producer?.inputs[0].producer?.op).toBe('MaxPool');
  expect(y.producer?.inputs[0].producer?.inputs[0]).toBe(x);

  const reordered = await trained((h) => nn.maxPool2d(2)(h.graph.op('Relu', [h])));
  const literal = await trained((h) => h.graph.op('MaxPool', [h.graph.op('Relu', [h])], POOL));
  expect(reordered.length).toBe(literal.length);
  expect(Math.max(...reordered.map((v, i) => Math.abs(v - literal[i])))).toBeLessThan(1e-6);
  // Overlapping, padded windows (3×3, stride 2, pad 1): the backward accumulates, the same either way.
  const overlapping = { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
  const reordered3 = await trained((h) => nn.maxPool2d(3, 2, 1)(h.graph.op('Relu', [h])));
  const literal3 = await trained((h) => h.graph.op('MaxPool', [h.graph.op('Relu', [h])], overlapping));
  expect(Math.max(...reordered3.map((v, i) => Math.abs(v - literal3[i])))).toBeLessThan(1e-6);
  const start = net((h) => h).params.flatMap((p) => Array.from(p.value.data as Float32Array));
  expect(Math.max(...literal.map((v, i) => Math.abs(v - start[i])))).toBeGreaterThan(1e-3);
});
