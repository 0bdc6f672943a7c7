/**
 * `image-gen`: a conditional VAE on 28×28 class-labelled images (MNIST digits, Fashion-MNIST
 * clothes), trained with the engine. The encoder sees an image and its class, the decoder draws an
 * image from a class and a latent z ~ N(0, I); only the DECODER is exported for serving. Loss per image: Σ_pixels BCE(decoded, image) + KL(q(z|x, c) ‖ N(0, I)).
 * The noise of the reparameterisation trick is a batch input drawn in JS from a seeded stream, so
 * a training run is reproducible.
 *
 *   const gen = await trainImageGen({ data, seed: 1, epochs: 30 });
 *   gen.onnx       // decoder: label int64 [batch] + z float32 [batch, latentDim] → image [batch, 1, 28, 28]
 *   gen.metadata   // family 'image-gen', latentDim, classes, prompts
 */

import { compileTrainStep, encodeModel, Graph, type Parameter, type Value } from '../../engine/index';
import type { Tensor } from '../../engine/runtime/tensor';
import * as nn from '../../nn/index';
import { DIGIT_PIXELS, DIGIT_SIDE, type DigitData, digitBatch } from './digits';
import { type ClassVocabulary, classVocabulary } from './prompt';

export interface ImageGenOptions {
  data: DigitData;
  seed?: number;
  /** Passes over the training split. Default 30. */
  epochs?: number;
  batchSize?: number;
  /** Length of z. Default 8. */
  latentDim?: number;
  /** Units of the hidden layers of encoder and decoder. Default 256. */
  hidden?: number;
  /** Peak learning rate (cosine decay). Default 2e-3. */
  lr?: number;
  /** Use only the first `limit` training examples (fast tests). */
  limit?: number;
  /**
   * Weight β of the KL term (β-VAE). Above 1 it squeezes information out of z, so the decoder
   * leans on the class label. Default 3: at 1 the zoo run drew the
   * requested digit far less often (z carried the class; docs/zoo.md).
   */
  klWeight?: number;
  /** Default sampling spread of z stored in the metadata (0.8: cleaner digits than 1). */
  temperature?: number;
  /** Called after every epoch with its mean loss (nats per image). */
  onEpoch?: (epoch: number, loss: number) => void;
}

export interface ImageGenMetadata {
  family: 'image-gen';
  task: 'image-generation';
  latentDim: number;
  /** The decoder's native output size, px. */
  imageSize: number;
  /** Class ids → names and the prompt words that select them. */
  vocabulary: ClassVocabulary;
  /** Spread of z at sampling time (< 1 trades variety for cleaner digits). */
  temperature: number;
  seed: number;
  epochs: number;
  /** Mean loss of the last epoch, nats per image. */
  loss: number;
}

export interface TrainedImageGen {
  onnx: Uint8Array;
  metadata: ImageGenMetadata;
  seconds: number;
}

/**
 * A linear layer over [features, one-hot(class)] written as x·W + E[class] + b: the class part of
 * the weight is an embedding row. Same maths as concatenating a one-hot, without a [B, K] one-hot.
 */
function conditionedLinear(rng: nn.Rng, inFeatures: number, classes: number, out: number) {
  const features = nn.linear(rng, inFeatures, out);
  const classRows = nn.embedding(rng, classes, out, nn.lecunUniform);
  nn.named('features', features);
  nn.named('class', classRows);
  return {
    params: [...features.params, ...classRows.params],
    apply: (x: Value, label: Value): Value => x.graph.op('Add', [features(x), classRows(label)]),
  };
}

function cvae(seed: number, latentDim: number, hidden: number, classes: number) {
  const rng = new nn.Rng(seed);
  const encoderIn = conditionedLinear(rng, DIGIT_PIXELS, classes, hidden);
  const encoderOut = nn.linear(rng, hidden, 2 * latentDim, { init: nn.xavierUniform });
  const decoderIn = conditionedLinear(rng, latentDim, classes, hidden);
  // The class enters the second hidden layer too: the decoder should read the class from the
  // label, not from z (a z that also encodes the class draws the wrong digit when sampled).
  const decoderMid = conditionedLinear(rng, hidden, classes, hidden);
  const decoderOut = nn.linear(rng, hidden, DIGIT_PIXELS, { init: nn.xavierUniform });
  const prefix = (name: string, params: readonly Parameter[]) => {
    for (const p of params) p.name = `${name}.${p.name}`;
    return params;
  };
  const params = [
    ...prefix('encoder.0', encoderIn.params),
    ...prefix('encoder.2', encoderOut.params),
    ...prefix('decoder.0', decoderIn.params),
    ...prefix('decoder.2', decoderMid.params),
    ...prefix('decoder.4', decoderOut.params),
  ];
  const relu = (v: Value) => v.graph.op('Relu', [v]);
  return {
    params,
    /** x [B, 784], label [B] → [B, 2L] (μ and log σ²). */
    encode: (x: Value, label: Value): Value => encoderOut(relu(encoderIn.apply(x, label))),
    /** z [B, L], label [B] → pixel logits [B, 784]. */
    decode: (z: Value, label: Value): Value =>
      decoderOut(relu(decoderMid.apply(relu(decoderIn.apply(z, label)), label))),
  };
}

/** The decoder as a serving graph: label + z → image in [0, 1] (parameters baked in). */
function exportDecoder(decode: (z: Value, label: Value) => Value, latentDim: number): Uint8Array {
  const g = new Graph();
  const label = g.input('label', 'int64', ['batch']);
  const z = g.input('z', 'float32', ['batch', latentDim]);
  const pixels = g.op('Sigmoid', [decode(z, label)]);
  g.output('image', g.op('Reshape', [pixels], { shape: [-1, 1, DIGIT_SIDE, DIGIT_SIDE] }));
  return encodeModel(g, { name: 'maas-image-gen-decoder' });
}

function noise(rng: nn.Rng, rows: number, cols: number): Tensor {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { dtype: 'float32', dims: [rows, cols], data };
}

/** Train the conditional VAE and export its decoder with the metadata the runtime reads. */
export async function trainImageGen(o: ImageGenOptions): Promise<TrainedImageGen> {
  const seed = o.seed ?? 1;
  const epochs = o.epochs ?? 30;
  const batchSize = o.batchSize ?? 64;
  const latentDim = o.latentDim ?? 8;
  const classes = o.data.classes.length;
  const model = cvae(seed, latentDim, o.hidden ?? 256, classes);
  const trainer = await compileTrainStep({
    model: {
      params: model.params,
      batch: {
        x: { dtype: 'float32', shape: [batchSize, 1, DIGIT_SIDE, DIGIT_SIDE] },
        y: { dtype: 'int64', shape: [batchSize] },
        eps: { dtype: 'float32', shape: [batchSize, latentDim] },
      },
      forward: (b) => {
        const g = b.x.graph;
        const flat = g.op('Reshape', [b.x], { shape: [0, -1] });
        const stats = model.encode(flat, b.y);
        const [mu, logVar] = g.ops('Split', [stats], { axis: 1, split: [latentDim, latentDim] });
        const std = g.op('Exp', [g.op('Mul', [logVar, g.scalar(0.5, logVar.dtype)])]);
        const z = g.op('Add', [mu, g.op('Mul', [std, b.eps])]);
        return { logits: model.decode(z, b.y), flat, mu, logVar };
      },
      loss: (p) => {
        const g = p.logits.graph;
        const t = p.logits.dtype;
        // bceWithLogits is a mean over B·784 elements: × 784 gives nats per image.
        const recon = g.op('Mul', [nn.bceWithLogits(p.logits, p.flat), g.scalar(DIGIT_PIXELS, t)]);
        // KL(N(μ, σ²) ‖ N(0, 1)) = −½ Σ (1 + log σ² − μ² − σ²), summed over z, mean over the batch.
        const inner = g.op('Sub', [
          g.op('Add', [g.scalar(1, t), p.logVar]),
          g.op('Add', [g.op('Mul', [p.mu, p.mu]), g.op('Exp', [p.logVar])]),
        ]);
        const kl = g.op('Mul', [
          g.op('ReduceSum', [inner], { keepdims: false }),
          g.scalar((-0.5 * (o.klWeight ?? 3)) / batchSize, t),
        ]);
        return g.op('Add', [recon, kl]);
      },
    },
    optimizer: nn.adam(),
  });
  const t0 = performance.now();
  const order = Array.from(o.data.train.subarray(0, o.limit ?? o.data.train.length));
  const perEpoch = Math.floor(order.length / batchSize);
  const schedule = nn.cosine({ base: o.lr ?? 2e-3, total: perEpoch * epochs, min: 5e-5 });
  const rng = new nn.Rng(seed + 1);
  let loss = Number.NaN;
  try {
    for (let e = 0; e < epochs; e++) {
      rng.shuffle(order);
      let sum = 0;
      for (let s = 0; s < perEpoch; s++) {
        const b = digitBatch(o.data, order.slice(s * batchSize, (s + 1) * batchSize));
        const r = await trainer.step(
          { ...b, eps: noise(rng, batchSize, latentDim) },
          schedule(trainer.steps),
        );
        sum += r.loss;
      }
      loss = sum / perEpoch;
      o.onEpoch?.(e, loss);
    }
    trainer.syncParameters();
  } finally {
    await trainer.release();
  }
  return {
    onnx: exportDecoder(model.decode, latentDim),
    metadata: {
      family: 'image-gen',
      task: 'image-generation',
      latentDim,
      imageSize: DIGIT_SIDE,
      vocabulary: classVocabulary(o.data.classes),
      temperature: o.temperature ?? 0.8,
      seed,
      epochs,
      loss,
    },
    seconds: (performance.now() - t0) / 1000,
  };
}
