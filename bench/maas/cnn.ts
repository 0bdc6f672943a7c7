/** maas recipe for train-cnn: the model of bench/peers/torch_cnn.py (conv 1→16 3×3 pad 1, ReLU,
 * max-pool 2, conv 16→32, ReLU, max-pool 2, dense 64, ReLU, dense 10; batch 32, Adam) built with
 * src/nn and compiled by compileTrainStep. */

import { compileTrainStep } from '../../src/engine/train/compile';
import * as nn from '../../src/nn/index';
import type { ShapeArgs } from '../lib/contender';
import { cnnTrainFlops } from '../lib/flops';
import { num } from '../lib/measure';
import { glorotZeroBias, sessionOptions, syntheticBatch, timeTrainer } from './common';
import type { MaasRecipe } from './recipe';

async function run(args: ShapeArgs) {
  const shape = {
    batch: num(args, 'batch', 32),
    size: num(args, 'size', 28),
    c1: num(args, 'c1', 16),
    c2: num(args, 'c2', 32),
    dense: num(args, 'dense', 64),
    classes: num(args, 'classes', 10),
  };
  const lr = num(args, 'lr', 0.001);
  const rng = new nn.Rng(num(args, 'seed', 0) + 1);
  const quarter = Math.floor(shape.size / 4);
  const model = nn.sequential(
    nn.conv2d(rng, 1, shape.c1, 3, { padding: 1 }),
    nn.relu(),
    nn.maxPool2d(2),
    nn.conv2d(rng, shape.c1, shape.c2, 3, { padding: 1 }),
    nn.relu(),
    nn.maxPool2d(2),
    nn.flatten(),
    nn.linear(rng, shape.c2 * quarter * quarter, shape.dense),
    nn.relu(),
    nn.linear(rng, shape.dense, shape.classes),
  );
  glorotZeroBias(model.params, rng);
  const xDims = [shape.batch, 1, shape.size, shape.size];
  const trainer = await compileTrainStep({
    model: {
      params: model.params,
      batch: { x: { dtype: 'float32', shape: xDims }, y: { dtype: 'int64', shape: [shape.batch] } },
      forward: (b) => ({ logits: model(b.x) }),
      loss: (p, b) => nn.crossEntropy(p.logits, b.y),
    },
    optimizer: nn.adam(),
    session: sessionOptions(args),
  });
  const batch = syntheticBatch(rng, xDims, shape.classes);
  return timeTrainer(trainer, batch, args, {
    batchSize: shape.batch,
    lr,
    flops: cnnTrainFlops(shape),
    extra: { model: 'cnn', optimizer: 'adam' },
  });
}

export const cnnRecipe: MaasRecipe = { name: 'cnn', run };
