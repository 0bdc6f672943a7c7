/**
 * Zoo rows of the language families: `gpt` (byte-level BPE 512), `lstm-lm` (characters), both on
 * Moby Dick with the last 10% held out, and `word2vec` (skip-gram on the same book). `quick` sizes
 * train in seconds for smoke tests. Full gpt and lstm-lm train with equal windows, steps, batch and
 * optimiser settings (a test holds them equal): gpt 2.158 vs lstm-lm 2.244 bits/char over seeds
 * 1–3 (bench/results/lm-compare.md); 92 s and 81 s on an idle 2-core machine.
 */
import {
  type GptFamilyConfig,
  type LstmFamilyConfig,
  loadProse,
  type SkipGramOptions,
  splitProse,
  type TrainedLanguageModel,
  trainGpt,
  trainLstmLm,
  trainWord2vec,
} from '../language/index';
import { nearestWords } from '../language/word2vec';
import { registerZooEntry, type ZooArtifact, type ZooTrainContext } from './manifest';

type LmTrain = { steps: number; batch: number; lr: number; warmup: number };

export const LANGUAGE_ZOO_SIZES = {
  full: {
    gpt: {
      model: { context: 64, layers: 2, dim: 128, heads: 4, bpeVocab: 512 },
      train: { steps: 1500, batch: 32, lr: 4e-3, warmup: 60 },
    },
    lstm: {
      model: { embed: 64, hidden: 256, layers: 1, seq: 64 },
      train: { steps: 1500, batch: 32, lr: 4e-3, warmup: 60 },
    },
    word2vec: { dim: 64, vocab: 3000, steps: 1500, batch: 2048 },
  },
  quick: {
    gpt: {
      // 64 tokens, like the full model: the documented chat demo (a 19-token prompt and
      // max_tokens 40) must run on a quick zoo too.
      model: { context: 64, layers: 1, dim: 32, heads: 2, bpeVocab: 512 },
      train: { steps: 60, batch: 8, lr: 3e-3, warmup: 10 },
    },
    lstm: {
      model: { embed: 16, hidden: 32, layers: 1, seq: 32 },
      train: { steps: 60, batch: 8, lr: 3e-3, warmup: 10 },
    },
    word2vec: { dim: 16, vocab: 500, steps: 60, batch: 512 },
  },
} satisfies Record<
  'full' | 'quick',
  {
    gpt: { model: GptFamilyConfig; train: LmTrain };
    lstm: { model: LstmFamilyConfig; train: LmTrain };
    word2vec: Omit<SkipGramOptions, 'seed'>;
  }
>;

/** The words whose neighbours the zoo prints (and docs/zoo.md shows). */
export const NEIGHBOUR_WORDS = ['whale', 'ship', 'sea', 'captain', 'boat', 'man', 'three'] as const;

/** Quick runs score a slice of the held-out text (64 windows) so they stay fast. */
const QUICK_VALIDATION_WINDOWS = 64;

function progress(ctx: ZooTrainContext, name: string) {
  return (p: { step: number; steps: number; loss: number; elapsedMs: number }) =>
    ctx.log(
      `${name}: step ${p.step}/${p.steps} loss ${p.loss.toFixed(3)} ` +
        `(${((p.step / p.elapsedMs) * 1000).toFixed(2)} steps/s, ${(p.elapsedMs / 1000).toFixed(0)} s)`,
    );
}

function lmArtifact(t: TrainedLanguageModel): ZooArtifact {
  return {
    onnx: t.onnx,
    metadata: { ...t.metadata, validationBitsPerChar: t.result.validationBitsPerChar },
    quality: {
      metric: 'validation_bits_per_char',
      value: t.result.validationBitsPerChar,
      // Any language model must beat the unigram baseline on the same held-out characters.
      target: t.unigramBitsPerChar,
      higherIsBetter: false,
      details: {
        unigramBitsPerChar: t.unigramBitsPerChar,
        validationTokens: t.result.validationTokens,
        trainSeconds: t.result.trainMs / 1000,
        steps: t.result.steps,
      },
    },
  };
}

registerZooEntry({
  name: 'gpt',
  family: 'gpt',
  task: 'text-generation',
  seed: 1,
  description: 'GPT (decoder-only transformer, KV cache, byte-level BPE) trained on Moby Dick',
  mustBeat: ['lstm-lm'],
  expectedSeconds: { full: 95, quick: 4 },
  // First in the queue: chat and completions wait for it.
  queueRank: 0,
  async train(ctx) {
    const size = LANGUAGE_ZOO_SIZES[ctx.scale].gpt;
    const split = splitProse(await loadProse());
    const t = await trainGpt(split, size.model, {
      ...size.train,
      seed: ctx.seed,
      onProgress: progress(ctx, 'gpt'),
      maxValidationWindows: ctx.scale === 'quick' ? QUICK_VALIDATION_WINDOWS : undefined,
    });
    return lmArtifact(t);
  },
});

registerZooEntry({
  name: 'lstm-lm',
  family: 'lstm-lm',
  task: 'text-generation',
  seed: 1,
  description: 'character-level LSTM language model (the sequence baseline) trained on Moby Dick',
  expectedSeconds: { full: 85, quick: 4 },
  async train(ctx) {
    const size = LANGUAGE_ZOO_SIZES[ctx.scale].lstm;
    const split = splitProse(await loadProse());
    const t = await trainLstmLm(split, size.model, {
      ...size.train,
      seed: ctx.seed,
      onProgress: progress(ctx, 'lstm-lm'),
      // Same held-out windows as gpt: windows of gpt's context length.
      maxValidationWindows: ctx.scale === 'quick' ? QUICK_VALIDATION_WINDOWS : undefined,
    });
    return lmArtifact(t);
  },
});

registerZooEntry({
  name: 'word2vec',
  family: 'word2vec',
  task: 'embeddings',
  seed: 1,
  description: 'skip-gram word vectors (negative sampling) trained on Moby Dick',
  expectedSeconds: { full: 138, quick: 3 },
  async train(ctx) {
    const size = LANGUAGE_ZOO_SIZES[ctx.scale].word2vec;
    const t = await trainWord2vec(await loadProse(), {
      ...size,
      seed: ctx.seed,
      onProgress: progress(ctx, 'word2vec'),
      progressEvery: 250,
    });
    const neighbours = Object.fromEntries(
      NEIGHBOUR_WORDS.map((w) => [
        w,
        nearestWords(t.vectors, w, 5).map((n) => `${n.item} ${n.score.toFixed(2)}`),
      ]),
    );
    return {
      onnx: t.onnx,
      metadata: t.metadata,
      quality: {
        metric: 'skipgram_loss',
        value: t.vectors.loss,
        higherIsBetter: false,
        details: {
          neighbours,
          words: t.vectors.words.length,
          pairs: t.vectors.pairs,
          trainSeconds: t.vectors.trainMs / 1000,
        },
      },
    };
  },
});
