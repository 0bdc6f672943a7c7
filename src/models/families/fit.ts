/**
 * Train a family in-process on a loaded dataset and score it on its held-out split: what the zoo
 * uses for its classifier rows (`spam-cnn`). The training service (src/platform/training) runs the
 * same families in a child process with checkpoints and events; this is the plain loop without
 * them, for seeded, one-shot runs.
 *
 *   const data = await loadForTraining({ builtin: 'spam' }, { task: 'text-classification', seed: 1, ... });
 *   const fit = await fitFamily(families.get('text-cnn'), data, hp);   // fit.accuracy ≈ 0.98
 */
import type { ClassTarget, FeatureSpec, TrainingData } from '../../data/index';
import { batches } from '../../data/index';
import { compileTrainStep } from '../../engine/index';
import * as nn from '../../nn/index';
import type { Hyperparameters, Recipe } from './family';

/** Examples per evaluation run: bounds memory, any size gives the same figure. */
const EVAL_BATCH = 512;

export interface FitResult {
  /** Inference ONNX: `x` → `logits` [N, classes] (or `value` [N, 1] for regression). */
  onnx: Uint8Array;
  /** Held-out accuracy, 0..1 (NaN for regression targets). */
  accuracy: number;
  validationLoss: number;
  validationExamples: number;
  steps: number;
  paramCount: number;
  /** Wall time of the training steps (s), evaluation excluded. */
  trainSeconds: number;
}

export interface FitOptions {
  /** Called once per epoch with the epoch's mean training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
}

function classTargetOf(spec: FeatureSpec): ClassTarget | null {
  return spec.kind !== 'language-model' && spec.target?.kind === 'class' ? spec.target : null;
}

/** Adam over `hp.epochs` passes of `hp.batch_size`, constant or cosine learning rate (`hp.lr_schedule`). */
export async function fitFamily(
  family: Recipe,
  data: TrainingData,
  hp: Hyperparameters,
  o: FitOptions = {},
): Promise<FitResult> {
  const cls = classTargetOf(data.spec);
  const batchSize = Math.min(Number(hp.batch_size), data.train.length);
  const shape = { spec: data.spec, inputDims: data.inputs.dims.slice(1), classes: cls?.classes.length ?? 0 };
  const trainer = await compileTrainStep({
    model: family.build(shape, hp, batchSize),
    optimizer: nn.adam(),
  });
  try {
    const stream = batches(data, 'train', { batchSize, seed: Number(hp.seed), dropLast: true });
    const epochs = Number(hp.epochs);
    const total = stream.batchesPerEpoch * epochs;
    const base = Number(hp.learning_rate);
    const lr = hp.lr_schedule === 'cosine' ? nn.cosine({ base, total, min: base / 20 }) : nn.constantLr(base);
    const t0 = performance.now();
    for (let e = 0; e < epochs; e++) {
      let sum = 0;
      for (let s = 0; s < stream.batchesPerEpoch; s++) {
        const b = stream.next();
        sum += (await trainer.step({ x: b.inputs, y: b.targets }, lr(trainer.steps))).loss;
      }
      o.onEpoch?.(e, sum / stream.batchesPerEpoch);
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    const held = batches(data, 'validation', { batchSize: EVAL_BATCH, shuffle: false });
    let loss = 0;
    let correct = 0;
    let n = 0;
    for (let i = 0; i < held.batchesPerEpoch; i++) {
      const b = held.next();
      const r = await trainer.evaluate({ x: b.inputs, y: b.targets });
      const rows = b.targets.dims[0];
      loss += r.loss * rows;
      correct += (r.metrics.accuracy ?? Number.NaN) * rows;
      n += rows;
    }
    return {
      onnx: trainer.exportInference(),
      accuracy: cls ? correct / n : Number.NaN,
      validationLoss: loss / n,
      validationExamples: n,
      steps: trainer.steps,
      paramCount: trainer.paramCount,
      trainSeconds,
    };
  } finally {
    await trainer.release();
  }
}
