/**
 * Random-weight decoders written as complete Hugging Face folders (graph, configs, a byte-level
 * BPE tokenizer with ChatML specials): fixtures for the serving path and its benchmarks. The
 * tokenizer's merges are learned by maas's BPE trainer on a short multilingual text, so common
 * words are single tokens and non-ASCII text splits into byte tokens as in real models.
 */
import { fail } from '../../../common/errors';
import { trainBpe } from '../../../data/text/bpe';
import type { BpeTokenizerSpec } from '../../../data/text/tokenizer';
import type { Graph } from '../../../engine/index';
import { encodeModelParts } from '../../../engine/index';
import { CHATML_TEMPLATE, type HfFolder, writeHfFolder } from './folder';
import { type GenaiDecoder, genaiConfig } from './genai';
import { GPT2_GRAPH_NAME, gpt2HfConfig, gpt2LayoutGraph, randomGpt } from './gpt2';
import type { LogitBias } from './layout';
import { LLAMA_GRAPH_NAME, llamaGraph, llamaHfConfig, llamaModel } from './llama';
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
   * The model's vocabulary is `modelVocab` when given (e.g. 32 k for a benchmark; the tokenizer is
   * then padded to it, every id decoding to text), else the tokenizer's size.
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
  /**
   * Weights in `onnx/model.onnx_data` beside the graph (ONNX external data; config.json then says
   * `"transformers.js_config": {"use_external_data_format": true}`, as published folders do).
   */
  externalData?: boolean;
  /** Also write this template as `chat_template.jinja` (it overrides the config's ChatML one). */
  chatTemplateFile?: string;
  /** onnxruntime-genai's layout: the graph at `model.onnx` and a `genai_config.json`. */
  genai?: boolean;
  /**
   * Also an int8 sibling `model_quantized.onnx` (projections and LM head with int8 weights, the
   * dynamic-quantisation pattern optimum publishes; transformers.js loads it as `dtype: 'q8'`).
   * Llama only.
   */
  quantized?: boolean;
  /**
   * Added to the logits of these token ids at every position, e.g. `{ [ids.endOfText]: 4 }` makes
   * the random model emit `<|endoftext|>` (the eos only generation_config.json lists) early.
   */
  logitBias?: LogitBias;
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
  /** The graph's bytes (also at `onnx/model.onnx`, or `model.onnx` with `genai`). */
  onnx: Uint8Array;
  /** The external weights (`…/model.onnx_data`) when `externalData` was asked for, else null. */
  onnxData: Uint8Array | null;
}

/** A ChatML BPE tokenizer of about `vocab` tokens, padded to the model's vocabulary when larger. */
function chatTokenizer(
  vocab: number,
  modelVocab = 0,
): Pick<RandomDecoderFolder, 'tokenizer' | 'bpe' | 'ids'> {
  const spec = trainBpe(TOKENIZER_TEXT, { vocabSize: vocab - CHAT_SPECIALS.length });
  const tokenizer = hfTokenizerJson(spec, CHAT_SPECIALS, modelVocab);
  const s = tokenizer.specialIds;
  return {
    tokenizer,
    bpe: spec,
    ids: { endOfText: s['<|endoftext|>'], imStart: s['<|im_start|>'], imEnd: s['<|im_end|>'] },
  };
}

interface Built {
  graph: Graph;
  /** The int8 graph, when the architecture has one. */
  int8Graph?: () => Graph;
  graphName: string;
  config: Record<string, unknown>;
  shape: Omit<GenaiDecoder, 'filename' | 'bos' | 'eos' | 'pad'>;
}

function genaiFile(
  built: Built,
  ids: { bos: number; eos: number[]; pad: number },
  graphPath: string,
): [string, string] {
  const config = genaiConfig({ ...built.shape, ...ids, filename: graphPath });
  return ['genai_config.json', `${JSON.stringify(config, null, 2)}\n`];
}

async function write(
  dir: string,
  o: RandomDecoderOptions,
  tok: ReturnType<typeof chatTokenizer>,
  built: Built,
): Promise<RandomDecoderFolder> {
  const eos = [tok.ids.imEnd, tok.ids.endOfText];
  const generationConfig = {
    bos_token_id: tok.ids.endOfText,
    eos_token_id: eos,
    pad_token_id: tok.ids.endOfText,
    ...o.generation,
  };
  const graphPath = o.genai ? 'model.onnx' : 'onnx/model.onnx';
  const dataFile = `${graphPath.split('/').at(-1)}_data`;
  const encoded = encodeModelParts(built.graph, {
    name: built.graphName,
    externalData: o.externalData ? { location: dataFile, minBytes: 0 } : undefined,
  });
  const siblings: [string, Uint8Array][] = [];
  if (o.quantized) {
    if (!built.int8Graph) fail('invalid_request', 'an int8 sibling is built for Llama-style folders only');
    const path = graphPath.replace(/model\.onnx$/, 'model_quantized.onnx');
    siblings.push([path, encodeModelParts(built.int8Graph(), { name: `${built.graphName}-int8` }).model]);
  }
  const config = o.externalData
    ? { ...built.config, 'transformers.js_config': { use_external_data_format: true } }
    : built.config;
  const ids = { bos: tok.ids.endOfText, eos, pad: tok.ids.endOfText };
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
    chatTemplateFile: o.chatTemplateFile,
    maxLength: built.shape.context,
    onnx: encoded.model,
    graphPath,
    onnxData: encoded.externalData ?? undefined,
    extraFiles: [...siblings, ...(o.genai ? [genaiFile(built, ids, graphPath)] : [])],
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
    onnx: encoded.model,
    onnxData: encoded.externalData,
  };
}

/** A random Llama-style decoder (GQA 4 query / 2 key-value heads by default) as a folder. */
export async function writeRandomLlamaFolder(
  dir: string,
  o: RandomDecoderOptions = {},
): Promise<RandomDecoderFolder> {
  const tok = chatTokenizer(o.tokenizerVocab ?? 384, o.modelVocab);
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
  const c = model.config;
  return write(dir, o, tok, {
    graph: llamaGraph(model, { logitBias: o.logitBias }),
    int8Graph: () => llamaGraph(model, { int8: true, logitBias: o.logitBias }),
    graphName: LLAMA_GRAPH_NAME,
    config: llamaHfConfig(model, { bos: tok.ids.endOfText, eos: tok.ids.imEnd, pad: tok.ids.endOfText }),
    shape: {
      type: 'llama',
      layers: c.layers,
      heads: c.heads,
      kvHeads: c.kvHeads,
      headDim: model.headDim,
      hidden: c.hidden,
      vocab: c.vocab,
      context: c.context,
      positionIds: true,
    },
  });
}

/** A random GPT-2-style decoder (maas's own gpt, no `position_ids` input) as a folder. */
export async function writeRandomGpt2Folder(
  dir: string,
  o: RandomDecoderOptions = {},
): Promise<RandomDecoderFolder> {
  const tok = chatTokenizer(o.tokenizerVocab ?? 384, o.modelVocab);
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
  const c = model.config;
  return write(dir, o, tok, {
    graph: gpt2LayoutGraph(model, { logitBias: o.logitBias }),
    graphName: GPT2_GRAPH_NAME,
    config: gpt2HfConfig(model, { bos: tok.ids.endOfText, eos: tok.ids.imEnd, pad: tok.ids.endOfText }),
    shape: {
      type: 'gpt2',
      layers: c.layers,
      heads: c.heads,
      kvHeads: c.heads,
      headDim: c.dim / c.heads,
      hidden: c.dim,
      vocab: c.vocab,
      context: c.context,
      positionIds: false,
    },
  });
}
