/** Plumbing shared by the TF.js peers: backend selection, the seeded synthetic batch, the train step
 * and the "cannot train this" detection for the wasm backend. */

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { ContenderOutput, ShapeArgs } from '../lib/contender';
import { measureSteps, num, timingOptions, trainResult } from '../lib/measure';

export { tf };

/** `backend` arg: `cpu` (pure JS kernels) or `wasm` (XNNPACK/SIMD, single thread in Node). */
export async function useBackend(args: ShapeArgs): Promise<string> {
  const backend = String(args.backend ?? 'cpu');
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not start`);
  await tf.ready();
  return backend;
}

/** Kernels missing from a backend surface as these messages; anything else is a real failure. */
const MISSING_KERNEL = /not (yet )?(registered|implemented|supported)|kernel .* (not|no)/i;

export interface TrainSetup {
  args: ShapeArgs;
  backend: string;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  x: tf.Tensor;
  /** One-hot labels [batch, classes]. */
  y: tf.Tensor;
  batch: number;
  flopsPerStep: number;
  extra: Record<string, unknown>;
}

/** Times the train step (forward, softmax cross-entropy, backward, optimizer update; the loss is read
 * back each step, which also waits for the backend). A backend lacking a gradient kernel is reported
 * as unsupported, not as a crash. */
export async function trainAndReport(setup: TrainSetup): Promise<ContenderOutput> {
  const version = `tfjs ${tf.version.tfjs} ${setup.backend}`;
  const { model, optimizer, x, y } = setup;
  const step = (): number => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      true,
    );
    if (!loss) throw new Error('optimizer.minimize returned no loss');
    const value = loss.dataSync()[0];
    loss.dispose();
    return value;
  };
  try {
    const timing = await measureSteps(step, timingOptions(setup.args));
    return trainResult(timing, setup.batch, setup.flopsPerStep, { threads: 1, version, ...setup.extra });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (MISSING_KERNEL.test(message))
      return { unsupported: `${setup.backend}: ${message.slice(0, 200)}`, version };
    throw error;
  }
}

/** A fixed synthetic batch: uniform inputs in [0, 1) and random labels, seeded; the same batch every
 * step, so a working train step must drive the loss down. */
export function syntheticBatch(inputShape: number[], classes: number, args: ShapeArgs) {
  const seed = num(args, 'seed', 0);
  const x = tf.randomUniform(inputShape, 0, 1, 'float32', seed);
  const labels = tf.randomUniform([inputShape[0]], 0, classes, 'int32', seed + 1);
  const y = tf.oneHot(labels, classes).toFloat();
  labels.dispose();
  return { x, y };
}

/** The benchmarks' shared init scheme: Glorot-uniform weights, zero biases (TF.js's default too). */
export function glorot(args: ShapeArgs, layer: number) {
  return tf.initializers.glorotUniform({ seed: num(args, 'seed', 0) + 100 * layer });
}
