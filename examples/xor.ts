/** XOR with a 2-8-2 MLP: the smallest problem a linear model cannot learn. */
import type { Value } from '../src/engine/ir/types';
import { tensorFrom } from '../src/engine/runtime/tensor';
import { compileTrainStep } from '../src/engine/train/compile';
import * as nn from '../src/nn/index';

export interface XorResult {
  accuracy: number;
  loss: number;
  steps: number;
  /** Rows [a, b, predicted class, P(class 1)]. */
  table: [number, number, number, number][];
}

export async function trainXor(seed = 1, steps = 300): Promise<XorResult> {
  const rng = new nn.Rng(seed);
  const mlp = nn.sequential(nn.linear(rng, 2, 8), nn.tanh(), nn.linear(rng, 8, 2));
  const trainer = await compileTrainStep({
    model: {
      params: mlp.params,
      batch: { x: { dtype: 'float32', shape: [4, 2] }, y: { dtype: 'int64', shape: [4] } },
      forward: (b) => ({ logits: mlp(b.x) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
      metrics: (p, b): Record<string, Value> => ({ accuracy: nn.accuracy(p.logits, b.y) }),
    },
    optimizer: nn.adam(),
  });
  const inputs = [0, 0, 0, 1, 1, 0, 1, 1];
  const batch = { x: tensorFrom('float32', [4, 2], inputs), y: tensorFrom('int64', [4], [0, 1, 1, 0]) };
  for (let i = 0; i < steps; i++) await trainer.step(batch, 0.05);
  const { loss, metrics, predictions } = await trainer.evaluate(batch);
  const logits = predictions.logits.data as Float32Array;
  const table: XorResult['table'] = [0, 1, 2, 3].map((r) => {
    const [l0, l1] = [logits[2 * r], logits[2 * r + 1]];
    return [inputs[2 * r], inputs[2 * r + 1], l1 > l0 ? 1 : 0, 1 / (1 + Math.exp(l0 - l1))];
  });
  await trainer.release();
  return { accuracy: metrics.accuracy, loss, steps, table };
}

export async function main(): Promise<void> {
  const r = await trainXor();
  console.log(
    `XOR after ${r.steps} Adam steps: loss ${r.loss.toFixed(4)}, accuracy ${(r.accuracy * 100).toFixed(0)}%`,
  );
  console.log(' a b | xor | P(1)');
  for (const [a, b, y, p] of r.table) console.log(` ${a} ${b} |  ${y}  | ${p.toFixed(3)}`);
}
