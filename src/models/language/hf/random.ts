/**
 * Random-weight decoders written as complete Hugging Face folders (graph, configs, a byte-level
 * BPE tokenizer with ChatML specials): fixtures for the serving path and its benchmarks. The
 * tokenizer's merges are learned by maas's BPE trainer on a short multilingual text, so common
 * words are single tokens and non-ASCII text splits into byte tokens as in real models.
 */
import { trainBpe } from '../../../data/text/bpe';
import type { BpeTokenizerSpec } from '../../../data/text/tokenizer';
import { CHATML_TEMPLATE, type HfFolder, writeHfFolder } from './folder';
import { exportGpt2Layout, gpt2HfConfig, randomGpt } from './gpt2';
import { exportLlama, llamaHfConfig, llamaModel } from './llama';
import { type HfTokenizer, hfTokenizerJson } from './tokenizer';

/** Text the fixture tokenizers learn their merges from (English, French, German, Greek, CJK, emoji). */
export const TOKENIZER_TEXT = `
The model service runs language models on small machines. A user uploads a folder, asks a
question, and the server answers one token at a time. The quick brown fox jumps over the lazy dog.
Hello, world! How are you today? I am fine, thank you. What is the weather like in the city?
It is sunny and warm; the sea is calm and the boats are out. Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 2026.
Le modèle répond en français : où est la bibliothèque ? Voilà, c'est à côté de la gare.
Die Straße ist schön, und die Bäume sind grün. Grüße aus München!
Καλημέρα κόσμε. 你好，世界。今天天气很好。 こんにちは 🙂 🚀
system user assistant: You are a helpful assistant. Please answer briefly and politely.
`.repeat(3);

export const CHAT_SPECIALS = ['<|im_start|>', '<|im_end|>'] as const;

export interface RandomDecoderOptions {
  /**
   * Tokenizer size to aim for, specials included (learned merges stop early on a short text).
   * The model's vocabulary is `modelVocab` when given (e.g. 32 k for a benchmark), else the
   * tokenizer's size.
   */
  tokenizerVocab?: number;
  modelVocab?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  /** Llama only (GPT-2 has one key/value head per query head). */
  kvHeads?: number;
  /** MLP width (Llama's intermediate_size; GPT-2 uses 4 × hidden). */
  intermediate?: number;
  context?: number;
  /** Weight std: larger than the usual 0.02 so that random logits are far apart (no near-ties). */
  initStd?: number;
  seed?: number;
  /** Merged over the defaults of `generation_config.json`. */
  generation?: Record<string, unknown>;
}

export interface RandomDecoderFolder {
  dir: string;
  files: string[];
  tokenizer: HfTokenizer;
  /** The merges in maas's form (the same tokenizer as `BpeTokenizer`). */
  bpe: BpeTokenizerSpec;
  /** `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` ids. */
  ids: { endOfText: number; imStart: number; imEnd: number };
  /** eos ids of `generation_config.json`: `<|im_end|>` (also config.json's) then `<|endoftext|>`. */
  eos: number[];
  config: Record<string, unknown>;
  generationConfig: Record<string, unknown>;
  /** The graph's bytes (also at `onnx/model.onnx`). */
  onnx: Uint8Array;
}

function chatTokenizer(vocab: number): Pick<RandomDecoderFolder, 'tokenizer' | 'bpe' | 'ids'> {
  const spec = trainBpe(TOKENIZER_TEXT, { vocabSize: vocab - CHAT_SPECIALS.length });
  const tokenizer = hfTokenizerJson(spec, CHAT_SPECIALS);
  const s = tokenizer.specialIds;
  return {
    tokenizer,
    bpe: spec,
    ids: { endOfText: s['<|endoftext|>'], imStart: s['<|im_start|>'], imEnd: s['<|im_end|>'] },
  };
}

async function write(
  dir: string,
  o: RandomDecoderOptions,
  tok: ReturnType<typeof chatTokenizer>,
  config: Record<string, unknown>,
  onnx: Uint8Array,
  context: number,
): Promise<RandomDecoderFolder> {
  const eos = [tok.ids.imEnd, tok.ids.endOfText];
  const generationConfig = {
    bos_token_id: tok.ids.endOfText,
    eos_token_id: eos,
    pad_token_id: tok.ids.endOfText,
    ...o.generation,
  };
  const folder: HfFolder = {
    config,
    generationConfig,
    tokenizer: tok.tokenizer,
    specialTokens: {
      bos: '<|endoftext|>',
      eos: '<|im_end|>',
      pad: '<|endoftext|>',
      additional: [...CHAT_SPECIALS],
    },
    chatTemplate: CHATML_TEMPLATE,
    maxLength: context,
    onnx,
  };
  const files = await writeHfFolder(dir, folder);
  return {
    dir,
    files,
    tokenizer: tok.tokenizer,
    bpe: tok.bpe,
    ids: tok.ids,
    eos,
    config,
    generationConfig,
    onnx,
  };
}

/** A random Llama-style decoder (GQA 4 query / 2 key-value heads by default) as a folder. */
export async function writeRandomLlamaFolder(
  dir: string,
  o: RandomDecoderOptions = {},
): Promise<RandomDecoderFolder> {
  const tok = chatTokenizer(o.tokenizerVocab ?? 384);
  const hidden = o.hidden ?? 64;
  const model = llamaModel({
    vocab: o.modelVocab ?? tok.tokenizer.vocabSize,
    hidden,
    layers: o.layers ?? 2,
    heads: o.heads ?? 4,
    kvHeads: o.kvHeads ?? 2,
    intermediate: o.intermediate ?? 2 * hidden,
    context: o.context ?? 256,
    initStd: o.initStd ?? 0.2,
    seed: o.seed ?? 1,
  });
  const config = llamaHfConfig(model, { bos: tok.ids.endOfText, eos: tok.ids.imEnd, pad: tok.ids.endOfText });
  return write(dir, o, tok, config, exportLlama(model), model.config.context);
}

/** A random GPT-2-style decoder (maas's own gpt, no `position_ids` input) as a folder. */
export async function writeRandomGpt2Folder(
  dir: string,
  o: RandomDecoderOptions = {},
): Promise<RandomDecoderFolder> {
  const tok = chatTokenizer(o.tokenizerVocab ?? 384);
  const hidden = o.hidden ?? 64;
  const model = randomGpt({
    vocab: o.modelVocab ?? tok.tokenizer.vocabSize,
    context: o.context ?? 256,
    layers: o.layers ?? 2,
    dim: hidden,
    heads: o.heads ?? 4,
    mlpRatio: (o.intermediate ?? 4 * hidden) / hidden,
    seed: o.seed ?? 1,
    initStd: o.initStd ?? 0.2,
  });
  const config = gpt2HfConfig(model, { bos: tok.ids.endOfText, eos: tok.ids.imEnd, pad: tok.ids.endOfText });
  return write(dir, o, tok, config, exportGpt2Layout(model), model.config.context);
}
