/**
 * Zoo rows of the classifier families trained by the training service: `spam-cnn` (a `text-cnn`
 * on the built-in SpamAssassin emails, spam vs ham, against the 97 % bar). The split is
 * fixed (seeded, 20 % held out) so the figure is reproducible; the stored `featureSpec` makes the
 * model answer `POST /api/v1/models/zoo~spam-cnn/predict` and `/classify` with raw text.
 */
import { loadForTraining } from '../../data/index';
import { families, fitFamily, validateHyperparameters } from '../families/index';
import { registerZooEntry } from './manifest';

/** Held-out share of the emails (1,209 of 6,046), seeded by the row's seed. */
const SPAM_HELD_OUT = 0.2;

export const CLASSIFIER_ZOO_SIZES = {
  // Measured (seed 1, 1,209 held out): 3 epochs of 64 tokens at 1e-3 → 97.4 %; 5 epochs of 128
  // tokens at 2e-3, cosine → 98.1 % (322 s on the shared machine, load ≈ 14).
  full: {
    spam: { epochs: 5, batch_size: 32, learning_rate: 2e-3, lr_schedule: 'cosine', max_length: 128 },
  },
  quick: {
    spam: { epochs: 1, batch_size: 64, learning_rate: 2e-3, max_length: 32, vocab_size: 2000 },
  },
} as const;

registerZooEntry({
  name: 'spam-cnn',
  family: 'text-cnn',
  task: 'classification',
  seed: 1,
  description: 'spam or ham: a text CNN (word embeddings, convolutions over time) on SpamAssassin emails',
  async train(ctx) {
    const family = families.get('text-cnn');
    const hp = validateHyperparameters(family, {
      ...CLASSIFIER_ZOO_SIZES[ctx.scale].spam,
      seed: ctx.seed,
      validation_fraction: SPAM_HELD_OUT,
    });
    const data = await loadForTraining(
      { builtin: 'spam' },
      {
        task: family.task,
        seed: ctx.seed,
        validationFraction: SPAM_HELD_OUT,
        ...family.loadOptions(hp),
      },
    );
    ctx.log(`spam-cnn: ${data.train.length} training emails, ${data.validation.length} held out`);
    const fit = await fitFamily(family, data, hp, {
      onEpoch: (e, loss) => ctx.log(`spam-cnn: epoch ${e + 1}/${hp.epochs} loss ${loss.toFixed(4)}`),
    });
    ctx.log(
      `spam-cnn: held-out accuracy ${(fit.accuracy * 100).toFixed(2)} % (${fit.trainSeconds.toFixed(0)} s)`,
    );
    return {
      onnx: fit.onnx,
      metadata: {
        family: 'text-cnn',
        task: 'classification',
        featureSpec: data.spec,
        hyperparameters: hp,
        metrics: { accuracy: fit.accuracy, validationLoss: fit.validationLoss },
      },
      quality: {
        metric: 'heldout_accuracy',
        value: fit.accuracy,
        target: 0.97,
        higherIsBetter: true,
        details: {
          heldout: fit.validationExamples,
          trainSeconds: fit.trainSeconds,
          steps: fit.steps,
          parameters: fit.paramCount,
        },
      },
    };
  },
});
