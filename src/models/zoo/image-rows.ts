/**
 * The two kinds of image zoo row, whatever the dataset (MNIST digits, Fashion-MNIST clothes): a
 * CNN classifier scored on held-out images, and a conditional VAE judged by that CNN (the share of
 * its samples the CNN recognises as the requested class). The CNN is trained once per process and
 * scale, so a generator row trained beside its classifier row reuses that run as its judge.
 */
import { EngineSession } from '../../engine/index';
import type { RunModel } from '../task';
import {
  type DigitData,
  type ImageGenOptions,
  measureRecognition,
  type TrainedClassifier,
  trainDigitClassifier,
  trainImageGen,
} from '../vision/index';
import type { ZooArtifact, ZooTrainContext } from './manifest';

type Scale = ZooTrainContext['scale'];
type CnnOptions = Omit<Parameters<typeof trainDigitClassifier>[0], 'data' | 'seed'>;
type GenOptions = Omit<ImageGenOptions, 'data' | 'seed' | 'onEpoch'>;

/** Sampling spread of the generators' quality check: the runtime's default (ImageGenMetadata). */
export const JUDGE_TEMPERATURE = 0.8;

export async function withSession<T>(onnx: Uint8Array, fn: (run: RunModel) => Promise<T>): Promise<T> {
  const session = await EngineSession.create(onnx);
  try {
    return await fn((inputs, o) => session.run(inputs, o?.outputs));
  } finally {
    await session.release();
  }
}

/** A zoo CNN: its row name, its data, and its training run per scale (shared, see the header). */
export interface ZooClassifier {
  name: string;
  load: () => Promise<DigitData>;
  trained: (ctx: ZooTrainContext) => Promise<TrainedClassifier>;
}

/** `name`'s CNN, trained on first use per scale; a failed run is not kept, so the next call retries. */
export function sharedClassifier(o: {
  name: string;
  seed: number;
  load: () => Promise<DigitData>;
  sizes: Record<Scale, CnnOptions>;
}): ZooClassifier {
  const runs = new Map<Scale, Promise<TrainedClassifier>>();
  const trained = (ctx: ZooTrainContext) => {
    let p = runs.get(ctx.scale);
    if (!p) {
      const size = o.sizes[ctx.scale];
      p = (async () => {
        const data = await o.load();
        ctx.log(`${o.name}: training on ${size.epochs ?? 6} epoch(s) of ${data.train.length} images`);
        return trainDigitClassifier({ data, seed: o.seed, ...size });
      })();
      p.catch(() => runs.delete(ctx.scale));
      runs.set(ctx.scale, p);
    }
    return p;
  };
  return { name: o.name, load: o.load, trained };
}

/** A classifier row: the shared CNN, its held-out accuracy against `target`. */
export async function classifierArtifact(
  ctx: ZooTrainContext,
  classifier: ZooClassifier,
  target: number,
): Promise<ZooArtifact> {
  const clf = await classifier.trained(ctx);
  ctx.log(
    `${classifier.name}: held-out accuracy ${(clf.accuracy * 100).toFixed(2)} % (${clf.seconds.toFixed(0)} s)`,
  );
  return {
    onnx: clf.onnx,
    metadata: clf.metadata,
    quality: {
      metric: 'heldout_accuracy',
      value: clf.accuracy,
      target,
      higherIsBetter: true,
      details: { trainSeconds: clf.seconds, heldout: (await classifier.load()).validation.length },
    },
  };
}

/** A generator row: train the conditional VAE on `data`, then let the shared CNN judge its samples. */
export async function judgedGeneratorArtifact(
  ctx: ZooTrainContext,
  o: {
    name: string;
    data: DigitData;
    gen: GenOptions & { epochs: number };
    judge: ZooClassifier;
    perClass: number;
    target: number;
  },
): Promise<ZooArtifact> {
  const gen = await trainImageGen({
    data: o.data,
    seed: ctx.seed,
    ...o.gen,
    onEpoch: (e, loss) =>
      ctx.log(`${o.name}: epoch ${e + 1}/${o.gen.epochs} loss ${loss.toFixed(2)} nats/image`),
  });
  const judge = await o.judge.trained(ctx);
  const recognition = await withSession(gen.onnx, (decode) =>
    withSession(judge.onnx, (classify) =>
      measureRecognition(decode, classify, {
        latentDim: gen.metadata.latentDim,
        classes: o.data.classes.length,
        perClass: o.perClass,
        temperature: JUDGE_TEMPERATURE,
        seed: ctx.seed,
      }),
    ),
  );
  return {
    onnx: gen.onnx,
    metadata: { ...gen.metadata },
    quality: {
      metric: 'recognised_by_zoo_cnn',
      value: recognition.overall,
      target: o.target,
      higherIsBetter: true,
      details: {
        samples: recognition.samples,
        perClass: Object.fromEntries(o.data.classes.map((c, i) => [c, recognition.perClass[i]])),
        temperature: JUDGE_TEMPERATURE,
        judgeAccuracy: judge.accuracy,
        trainSeconds: gen.seconds,
      },
    },
  };
}
