/** TF.js peer: MLP 784-256-256-10 (ReLU), softmax cross-entropy, SGD, batch 64 — the model of
 * bench/peers/torch_mlp.py. Run by the harness as a contender module (exports run). */

import type { ContenderOutput, ShapeArgs } from '../lib/contender';
import { mlpTrainFlops } from '../lib/flops';
import { num } from '../lib/measure';
import { glorot, syntheticBatch, tf, trainAndReport, useBackend } from './tfjs-common';

export async function run(args: ShapeArgs): Promise<ContenderOutput> {
  const backend = await useBackend(args);
  const shape = {
    batch: num(args, 'batch', 64),
    inputs: num(args, 'inputs', 784),
    hidden: num(args, 'hidden', 256),
    classes: num(args, 'classes', 10),
  };
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [shape.inputs],
        units: shape.hidden,
        activation: 'relu',
        kernelInitializer: glorot(args, 1),
      }),
      tf.layers.dense({ units: shape.hidden, activation: 'relu', kernelInitializer: glorot(args, 2) }),
      tf.layers.dense({ units: shape.classes, kernelInitializer: glorot(args, 3) }),
    ],
  });
  const { x, y } = syntheticBatch([shape.batch, shape.inputs], shape.classes, args);
  return trainAndReport({
    args,
    backend,
    model,
    optimizer: tf.train.sgd(num(args, 'lr', 0.05)),
    x,
    y,
    batch: shape.batch,
    flopsPerStep: mlpTrainFlops(shape),
    extra: { model: 'mlp', optimizer: 'sgd' },
  });
}
