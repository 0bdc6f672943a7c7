/** maas recipe for train-mlp: the model of bench/peers/torch_mlp.py (784-256-256-10, ReLU, mean
 * softmax cross-entropy, plain SGD, batch 64) built with src/nn and compiled by compileTrainStep. */

import { compileTrainStep } from '../../src/engine/train/compile';
import * as nn from '../../src/nn/index';
import type { ShapeArgs } from '../lib/contender';
import { mlpTrainFlops } from '../lib/flops';
import { num } from '../lib/measure';
import { glorotZeroBias, sessionOptions, syntheticBatch, timeTrainer } from './common';
import type { MaasRecipe } from './recipe';

async function run(args: ShapeArgs) {
  const shape = {
    batch: num(args, 'batch', 64),
    inputs: num(args, 'inputs', 784),
    hidden: num(args, 'hidden', 256),
    classes: num(args, 'classes', 10),
  };
  const lr = num(args, 'lr', 0.05);
  const rng = new nn.Rng(num(args, 'seed', 0) + 1);
  const model = nn.sequential(
    nn.linear(rng, shape.inputs, shape.hidden),
    nn.relu(),
    nn.linear(rng, shape.hidden, shape.hidden),
    nn.relu(),
    nn.linear(rng, shape.hidden, shape.classes),
  );
  glorotZeroBias(model.params, rng);
  const trainer = await compileTrainStep({
    model: {
      params: model.params,
      batch: {
        x: { dtype: 'float32', shape: [shape.batch, shape.inputs] },
        y: { dtype: 'int64', shape: [shape.batch] },
      },
      forward: (b) => ({ logits: model(b.x) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
    },
    optimizer: nn.sgd(),
    session: sessionOptions(args),
  });
  const batch = syntheticBatch(rng, [shape.batch, shape.inputs], shape.classes);
  return timeTrainer(trainer, batch, args, {
    batchSize: shape.batch,
    lr,
    flops: mlpTrainFlops(shape),
    extra: { model: 'mlp', optimizer: 'sgd' },
  });
}

export const mlpRecipe: MaasRecipe = { name: 'mlp', run };
