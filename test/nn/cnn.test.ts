import { expect, it } from 'vitest';
import { loadDigits, trainMnistCnn } from '../../examples/mnist';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import * as nn from '../../src/nn/index';

it('a CNN reaches ≥ 98% on held-out MNIST digits', async () => {
  const r = await trainMnistCnn({
    train: loadDigits(0, 900),
    test: loadDigits(900, 1100),
    epochs: 4,
    lr: 3e-3,
  });
  expect(r.testAccuracy).toBeGreaterThanOrEqual(0.98);
}, 600_000); // ~35 s on a quiet 2-core machine; generous so a loaded machine slows it, not fails it

it('exports a CNN whose inference graph (no pool Indices, symbolic batch) matches eval', async () => {
  const rng = new nn.Rng(5);
  const net = nn.sequential(
    nn.conv2d(rng, 1, 4, 3, { padding: 'same' }),
    nn.relu(),
    nn.maxPool2d(2),
    nn.convTranspose2d(rng, 4, 2, 2, { stride: 2 }),
    nn.avgPool2d(2),
    nn.flatten(),
    nn.linear(rng, 2 * 4 * 4, 3),
  );
  const t = await compileTrainStep({
    model: {
      params: net.params,
      batch: { x: { dtype: 'float32', shape: [4, 1, 8, 8] }, y: { dtype: 'int64', shape: [4] } },
      forward: (b) => ({ logits: net(b.x) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
    },
    optimizer: nn.adam(),
  });
  const x = (n: number) =>
    tensorFrom(
      'float32',
      [n, 1, 8, 8],
      Array.from({ length: n * 64 }, () => rng.next()),
    );
  for (let i = 0; i < 3; i++) await t.step({ x: x(4), y: tensorFrom('int64', [4], [0, 1, 2, 1]) }, 1e-2);
  const probe = x(3);
  const ev = await t.evaluate({ x: probe, y: tensorFrom('int64', [3], [0, 0, 0]) });
  const s = await EngineSession.create(t.exportInference());
  expect(s.outputNames).toEqual(['logits']);
  expect(s.inputs[0].shape).toEqual(['batch', 1, 8, 8]);
  const out = (await s.run({ x: probe })).logits.data as Float32Array;
  const want = ev.predictions.logits.data as Float32Array;
  expect(out.length).toBe(9);
  out.forEach((v, i) => {
    expect(v).toBeCloseTo(want[i], 5);
  });
  await s.release();
  await t.release();
});
