/** maas recipes for train-lstm and train-gpt: the models of bench/peers/torch_lstm.py and
 * torch_gpt.py built with src/nn (`lstmLm`, `gptModel`, `languageModelSpec`) and compiled by
 * compileTrainStep, trained on one fixed batch of random tokens (target = input shifted by one). */

import type { Parameter } from '../../src/engine/ir/types';
import { type Tensor, tensorFrom } from '../../src/engine/runtime/tensor';
import { compileTrainStep } from '../../src/engine/train/compile';
import type { ModelSpec } from '../../src/engine/train/graphs';
import * as nn from '../../src/nn/index';
import type { ShapeArgs } from '../lib/contender';
import { gptTrainFlops, lstmTrainFlops } from '../lib/flops';
import { num } from '../lib/measure';
import { glorotZeroBias, sessionOptions, timeTrainer } from './common';
import type { MaasRecipe } from './recipe';

/** Tokens uniform over the vocabulary, [batch, seq + 1] → x = [:, :-1], y = [:, 1:] (as the peers). */
export function tokenBatch(rng: nn.Rng, batch: number, seq: number, vocab: number): Record<string, Tensor> {
  const rows = Array.from({ length: batch }, () => Array.from({ length: seq + 1 }, () => rng.int(vocab)));
  return {
    x: tensorFrom(
      'int64',
      [batch, seq],
      rows.flatMap((r) => r.slice(0, seq)),
    ),
    y: tensorFrom(
      'int64',
      [batch, seq],
      rows.flatMap((r) => r.slice(1)),
    ),
  };
}

/** The peers compute the loss only: the spec's accuracy metric (an ArgMax per step) is dropped. */
function lossOnly(spec: ModelSpec): ModelSpec {
  return { ...spec, metrics: undefined };
}

async function runLstm(args: ShapeArgs) {
  const shape = {
    batch: num(args, 'batch', 32),
    seq: num(args, 'seq', 64),
    vocab: num(args, 'vocab', 65),
    embed: num(args, 'embed', 64),
    hidden: num(args, 'hidden', 256),
  };
  const seed = num(args, 'seed', 0) + 1;
  const rng = new nn.Rng(seed);
  const model = nn.lstmLm({ vocab: shape.vocab, embed: shape.embed, hidden: shape.hidden, seed });
  glorotZeroBias(model.params, rng);
  const trainer = await compileTrainStep({
    model: lossOnly(nn.languageModelSpec(model, shape)),
    optimizer: nn.adam(),
    session: sessionOptions(args),
  });
  const batch = tokenBatch(rng, shape.batch, shape.seq, shape.vocab);
  return timeTrainer(trainer, batch, args, {
    batchSize: shape.batch,
    lr: num(args, 'lr', 0.002),
    flops: lstmTrainFlops(shape),
    tokensPerSample: shape.seq,
    extra: { model: 'lstm-lm', optimizer: 'adam' },
  });
}

/** GPT-2's init as bench/peers/_torch_gpt.py: N(0, 0.02) for every matrix and embedding (no
 * 1/√(2·layers) scaling of the residual projections there), LayerNorm weights 1, biases 0. */
export function gpt2Init(params: readonly Parameter[], rng: nn.Rng): void {
  const std = nn.normal(0.02);
  for (const p of params) {
    const dims = p.value.dims;
    const data =
      dims.length >= 2
        ? std(rng, dims, 0, 0)
        : new Float32Array(dims[0] ?? 1).fill(p.name.endsWith('weight') ? 1 : 0);
    p.value = { dtype: 'float32', dims, data };
  }
}

export function gptShape(args: ShapeArgs) {
  return {
    vocab: num(args, 'vocab', 65),
    d: num(args, 'd', 128),
    heads: num(args, 'heads', 4),
    layers: num(args, 'layers', 4),
    context: num(args, 'context', 64),
  };
}

export function buildGpt(args: ShapeArgs, rng: nn.Rng): nn.Gpt {
  const s = gptShape(args);
  const model = nn.gptModel({
    vocab: s.vocab,
    context: s.context,
    layers: s.layers,
    dim: s.d,
    heads: s.heads,
  });
  gpt2Init(model.params, rng);
  return model;
}

async function runGpt(args: ShapeArgs) {
  const shape = { ...gptShape(args), batch: num(args, 'batch', 16) };
  const rng = new nn.Rng(num(args, 'seed', 0) + 1);
  const model = buildGpt(args, rng);
  const trainer = await compileTrainStep({
    model: lossOnly(nn.languageModelSpec(model, { batch: shape.batch, seq: shape.context })),
    optimizer: nn.adamW({ weightDecay: num(args, 'weight_decay', 0.01) }),
    session: sessionOptions(args),
  });
  const batch = tokenBatch(rng, shape.batch, shape.context, shape.vocab);
  return timeTrainer(trainer, batch, args, {
    batchSize: shape.batch,
    lr: num(args, 'lr', 0.001),
    flops: gptTrainFlops(shape),
    tokensPerSample: shape.context,
    extra: { model: 'gpt', optimizer: 'adamw' },
  });
}

export const lstmRecipe: MaasRecipe = { name: 'lstm-lm', run: runLstm };
export const gptRecipe: MaasRecipe = { name: 'gpt', run: runGpt };
