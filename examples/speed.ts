/**
 * Train-step speed of an MLP 784-256-256-10, batch 64, plain SGD (the figure in the engine
 * report). Prints the median of 5 timed runs of 300 steps after a 50-step warm-up.
 * For side-by-side comparisons with PyTorch use bench/ (docs/benchmarks.md).
 */
import type { Value } from '../src/engine/ir/types';
import { tensorFrom } from '../src/engine/runtime/tensor';
import { compileTrainStep } from '../src/engine/train/compile';
import * as nn from '../src/nn/index';

export async function main(): Promise<void> {
  const rng = new nn.Rng(1);
  const mlp = nn.sequential(
    nn.linear(rng, 784, 256),
    nn.relu(),
    nn.linear(rng, 256, 256),
    nn.relu(),
    nn.linear(rng, 256, 10),
  );
  const batchSize = 64;
  const trainer = await compileTrainStep({
    model: {
      params: mlp.params,
      batch: { x: { dtype: 'float32', shape: [batchSize, 784] }, y: { dtype: 'int64', shape: [batchSize] } },
      forward: (b) => ({ logits: mlp(b.x) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
      metrics: (p, b): Record<string, Value> => ({ accuracy: nn.accuracy(p.logits, b.y) }),
    },
    optimizer: nn.sgd(),
  });
  const batch = {
    x: tensorFrom(
      'float32',
      [batchSize, 784],
      Array.from({ length: batchSize * 784 }, () => rng.next()),
    ),
    y: tensorFrom(
      'int64',
      [batchSize],
      Array.from({ length: batchSize }, () => rng.int(10)),
    ),
  };
  for (let i = 0; i < 50; i++) await trainer.step(batch, 0.01);
  const rates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) await trainer.step(batch, 0.01);
    rates.push(300 / ((performance.now() - t0) / 1000));
  }
  rates.sort((a, b) => a - b);
  const flops = 6 * batchSize * (784 * 256 + 256 * 256 + 256 * 10);
  console.log(
    `MLP 784-256-256-10, batch ${batchSize}, SGD, ${trainer.paramCount} params, 2 intra-op threads`,
  );
  console.log(
    `steps/s median ${rates[2].toFixed(0)} (min ${rates[0].toFixed(0)}, max ${rates[4].toFixed(0)}), ` +
      `≈ ${((rates[2] * flops) / 1e9).toFixed(1)} GFLOP/s`,
  );
  await trainer.release();
}
