/**
 * The `lstm-lm` family: the recurrent baseline on the same tokenizers (characters or BPE), data split and
 * training loop as `gpt`; exported for step-wise generation (one token per run, state in/out).
 */
import { exportLstmLm, lstmLm } from '../../nn/index';
import type { RuntimeContext, TextGenerationRuntime } from '../task';
import { type ProseSplit, proseTokenizer } from './corpus';
import { recurrentDecoder } from './decoders';
import { textGenerationRuntime } from './generate';
import type { TrainedLanguageModel } from './gpt';
import { type LmTrainOptions, trainLanguageModel } from './lm-train';
import { metaInt, metaString, metaTokenizer } from './metadata';

export interface LstmFamilyConfig {
  embed: number;
  hidden: number;
  layers: number;
  /** Training window in tokens (truncated backpropagation through time). */
  seq: number;
  /** Byte-level BPE vocabulary size (≥ 259); absent: characters (the zoo row). */
  bpeVocab?: number;
}

/**
 * No position table bounds a recurrent model; this bounds the prompt it is fed (tokens), since
 * the prompt is fed one run per token.
 */
export const LSTM_CONTEXT = 1024;

export async function trainLstmLm(
  split: ProseSplit,
  config: LstmFamilyConfig,
  train: Omit<LmTrainOptions, 'seq'>,
): Promise<TrainedLanguageModel> {
  const tokenizer = proseTokenizer(split.train, config.bpeVocab);
  const model = lstmLm({
    vocab: tokenizer.vocabSize,
    embed: config.embed,
    hidden: config.hidden,
    layers: config.layers,
    cell: 'lstm',
    seed: train.seed,
  });
  const result = await trainLanguageModel(model, tokenizer, split, { ...train, seq: config.seq });
  return {
    onnx: exportLstmLm(model, { seq: 1 }),
    metadata: {
      family: 'lstm-lm',
      task: 'text-generation',
      tokenizer: tokenizer.spec,
      cell: 'lstm',
      layers: config.layers,
      hidden: config.hidden,
      embed: config.embed,
      context: LSTM_CONTEXT,
      startText: '\n',
    },
    result,
    unigramBitsPerChar: result.unigramBitsPerChar,
  };
}

export function lstmLmRuntime(ctx: RuntimeContext): TextGenerationRuntime {
  const meta = ctx.metadata;
  const cell = metaString(meta, 'cell', 'lstm') === 'gru' ? 'gru' : 'lstm';
  const shape = { layers: metaInt(meta, 'layers'), hidden: metaInt(meta, 'hidden'), cell } as const;
  return textGenerationRuntime({
    tokenizer: metaTokenizer(meta),
    context: metaInt(meta, 'context', 2),
    startText: metaString(meta, 'startText', '\n'),
    makeDecoder: () => recurrentDecoder(ctx.run, shape),
  });
}
