/**
 * The `gpt` family: a decoder-only transformer trained on prose, exported with a KV cache, served
 * by a text-generation runtime.
 *
 * Tokenizer: characters (fitted on the training split), or a byte-level BPE learned by maas on the
 * training split (`bpeVocab`; the zoo row uses 512). BPE is what makes the transformer beat
 * lstm-lm on this budget: a 64-token window covers ≈ 130 characters instead of 64, so each step
 * trains on twice the text for ≈ 10% more CPU (bench/results/lm-compare*.md). Bits per character
 * stay comparable across tokenizers: the held-out loss is divided by the characters the scored
 * tokens decode to (lm-train.ts).
 */
import { exportGpt, gptModel } from '../../nn/index';
import { hfDecoderRuntime } from '../hf/index';
import type { RuntimeContext, TextGenerationRuntime } from '../task';
import { type ProseSplit, proseTokenizer } from './corpus';
import { gptVersionFolder } from './hf/gpt-version';
import { type LmTrainOptions, type LmTrainResult, trainLanguageModel } from './lm-train';
import { metaString } from './metadata';

export interface GptFamilyConfig {
  context: number;
  layers: number;
  dim: number;
  heads: number;
  /** Byte-level BPE vocabulary size (≥ 259: specials and bytes included); absent: characters. */
  bpeVocab?: number;
}

export interface TrainedLanguageModel {
  onnx: Uint8Array;
  /** The same weights without a cache (gpt only): the full re-run reference for tests and benchmarks. */
  plainOnnx?: Uint8Array;
  metadata: Record<string, unknown>;
  result: LmTrainResult;
  unigramBitsPerChar: number;
}

/**
 * Train a GPT on `split` and export it. Training windows are `context` tokens long, so every
 * position of the table is trained. `onnx` has the KV cache; `plainOnnx` is the same weights without.
 */
export async function trainGpt(
  split: ProseSplit,
  config: GptFamilyConfig,
  train: Omit<LmTrainOptions, 'seq'>,
): Promise<TrainedLanguageModel> {
  const { bpeVocab, ...shape } = config;
  const tokenizer = proseTokenizer(split.train, bpeVocab);
  const model = gptModel({ vocab: tokenizer.vocabSize, ...shape, seed: train.seed });
  const result = await trainLanguageModel(model, tokenizer, split, { ...train, seq: config.context });
  return {
    onnx: exportGpt(model, { kvCache: true }),
    plainOnnx: exportGpt(model, { kvCache: false }),
    metadata: {
      family: 'gpt',
      task: 'text-generation',
      tokenizer: tokenizer.spec,
      context: config.context,
      layers: config.layers,
      heads: config.heads,
      dim: config.dim,
      headDim: config.dim / config.heads,
      kvCache: true,
      startText: '\n',
    },
    result,
    unigramBitsPerChar: result.unigramBitsPerChar,
  };
}

/**
 * A gpt version is served by the one decoder runtime of Hugging Face-layout folders: its folder's
 * text files are derived from the metadata on load and its graph stepped in maas's own names
 * (hf/gpt-version.ts). A plain (no-cache) export re-runs the window every token.
 */
export function gptRuntime(ctx: RuntimeContext): Promise<TextGenerationRuntime> {
  const folder = gptVersionFolder(ctx.metadata);
  const metadata = {
    ...ctx.metadata,
    decoder: folder.plan,
    context: folder.context,
    vocabSize: folder.vocabSize,
  };
  const readFile = async (path: string) => folder.files.get(path) ?? null;
  return hfDecoderRuntime(
    { ...ctx, metadata, readFile },
    { startText: metaString(ctx.metadata, 'startText', '\n') },
  );
}
