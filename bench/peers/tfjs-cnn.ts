/** TF.js peer: the benchmark CNN (conv 1->16 3x3 same, relu, maxpool 2, conv 16->32, relu, maxpool 2,
 * dense 64 relu, dense 10), softmax cross-entropy, Adam, batch 32, 28x28x1 (TF.js is NHWC; same
 * FLOPs as torch's NCHW). The wasm backend lacks convolution gradient kernels: reported unsupported. */

import type { ContenderOutput, ShapeArgs } from '../lib/contender';
import { cnnTrainFlops } from '../lib/flops';
import { num } from '../lib/measure';
import { glorot, syntheticBatch, tf, trainAndReport, useBackend } from './tfjs-common';

export async function run(args: ShapeArgs): Promise<ContenderOutput> {
  const backend = await useBackend(args);
  const shape = {
    batch: num(args, 'batch', 32),
    size: num(args, 'size', 28),
    c1: num(args, 'c1', 16),
    c2: num(args, 'c2', 32),
    dense: num(args, 'dense', 64),
    classes: num(args, 'classes', 10),
  };
  const conv = (filters: number, layer: number, inputShape?: number[]) =>
    tf.layers.conv2d({
      ...(inputShape ? { inputShape } : {}),
      filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: glorot(args, layer),
    });
  const model = tf.sequential({
    layers: [
      conv(shape.c1, 1, [shape.size, shape.size, 1]),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(shape.c2, 2),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: shape.dense, activation: 'relu', kernelInitializer: glorot(args, 3) }),
      tf.layers.dense({ units: shape.classes, kernelInitializer: glorot(args, 4) }),
    ],
  });
  const { x, y } = syntheticBatch([shape.batch, shape.size, shape.size, 1], shape.classes, args);
  return trainAndReport({
    args,
    backend,
    model,
    optimizer: tf.train.adam(num(args, 'lr', 0.001)),
    x,
    y,
    batch: shape.batch,
    flopsPerStep: cnnTrainFlops(shape),
    extra: { model: 'cnn', optimizer: 'adam' },
  });
}
