/**
 * Train-step speed of the sequence models (the shapes of the engine issue's benchmark):
 * an LSTM LM (vocab 65, embed 64, hidden 256, seq 64, batch 32, Adam) and a GPT (4 layers, d 128,
 * 4 heads, context 64, vocab 65, batch 16, AdamW). Median of 5 timed runs after a warm-up, with
 * the compile (graph build + ORT session) time. Side-by-side ratios against PyTorch belong in bench/.
 */
import { tensorFrom } from '../src/engine/runtime/tensor';
import { compileTrainStep } from '../src/engine/train/compile';
import type { Optimizer } from '../src/engine/train/optimizer';
import * as nn from '../src/nn/index';

export interface SpeedResult {
  name: string;
  params: number;
  compileMs: number;
  stepsPerSecond: { median: number; min: number; max: number };
}

async function measure(
  name: string,
  model: nn.TokenModel,
  shape: { batch: number; seq: number },
  optimizer: Optimizer,
  stepsPerRun: number,
): Promise<SpeedResult> {
  const t0 = performance.now();
  const trainer = await compileTrainStep({ model: nn.languageModelSpec(model, shape), optimizer });
  const compileMs = performance.now() - t0;
  const rng = new nn.Rng(1);
  const n = shape.batch * shape.seq;
  const ids = () =>
    tensorFrom(
      'int64',
      [shape.batch, shape.seq],
      Array.from({ length: n }, () => rng.int(model.vocab)),
    );
  const batch = { x: ids(), y: ids() };
  for (let i = 0; i < 3; i++) await trainer.step(batch, 1e-3);
  const rates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < stepsPerRun; i++) await trainer.step(batch, 1e-3);
    rates.push(stepsPerRun / ((performance.now() - t) / 1000));
  }
  rates.sort((a, b) => a - b);
  const params = trainer.paramCount;
  await trainer.release();
  return { name, params, compileMs, stepsPerSecond: { median: rates[2], min: rates[0], max: rates[4] } };
}

export async function measureSequenceModels(stepsPerRun = 10): Promise<SpeedResult[]> {
  const lstm = nn.lstmLm({ vocab: 65, embed: 64, hidden: 256 });
  const gpt = nn.gptModel({ vocab: 65, context: 64, layers: 4, dim: 128, heads: 4 });
  return [
    await measure(
      'LSTM LM 65-64-256, seq 64, batch 32, Adam',
      lstm,
      { batch: 32, seq: 64 },
      nn.adam(),
      stepsPerRun,
    ),
    await measure(
      'GPT 4×128 (4 heads), ctx 64, batch 16, AdamW',
      gpt,
      { batch: 16, seq: 64 },
      nn.adamW(),
      stepsPerRun,
    ),
  ];
}

export async function main(): Promise<void> {
  for (const r of await measureSequenceModels()) {
    const s = r.stepsPerSecond;
    console.log(
      `${r.name}: ${r.params} params, compile ${(r.compileMs / 1000).toFixed(1)} s, ` +
        `steps/s median ${s.median.toFixed(1)} (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)})`,
    );
  }
}
