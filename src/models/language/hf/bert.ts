/**
 * A BERT-style text encoder written as a Hugging Face folder, the layout sentence-embedding
 * models are published in (optimum / transformers.js, sentence-transformers):
 *
 *   config.json               model_type `bert`, sizes
 *   tokenizer.json            WordPiece (BertNormalizer, BertPreTokenizer, [CLS] … [SEP])
 *   tokenizer_config.json     special tokens, model_max_length
 *   special_tokens_map.json
 *   onnx/model.onnx           input_ids, attention_mask, token_type_ids → last_hidden_state
 *   modules.json              sentence-transformers modules (Transformer, Pooling, [Normalize])
 *   1_Pooling/config.json     the pooling mode (mean, cls or max)
 *
 * The graph is BERT's: word + position + token-type embeddings, LayerNorm, post-LayerNorm
 * blocks (multi-head attention hiding padded keys, GELU MLP). Weights are random (seeded): a
 * fixture for the serving path, not a trained model.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { encodeModel, Graph, type Value } from '../../../engine/index';
import { groupedAttention } from '../../../nn/decoder';
import { normal } from '../../../nn/init';
import { embedding, layerNorm, linear, named } from '../../../nn/layers';
import { Rng } from '../../../nn/rng';
import { TOKENIZER_TEXT } from './random';

export interface RandomBertOptions {
  hidden?: number;
  layers?: number;
  heads?: number;
  intermediate?: number;
  /** max_position_embeddings: the longest input, in tokens. */
  context?: number;
  seed?: number;
  /** sentence-transformers pooling (`1_Pooling/config.json`); absent: no modules.json at all. */
  pooling?: 'mean' | 'cls' | 'max';
  /** A Normalize module in modules.json (vectors of length 1). */
  normalize?: boolean;
}

export interface RandomBertFolder {
  dir: string;
  files: string[];
  vocabSize: number;
  hidden: number;
  context: number;
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
const EPS = 1e-12;

/** WordPiece vocabulary: the specials, every character alone and as `##c`, then frequent words. */
function wordPieceVocab(): string[] {
  const text = TOKENIZER_TEXT.toLowerCase()
    .normalize('NFD')
    .replace(/\p{Mn}/gu, '');
  const words = text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
  const counts = new Map<string, number>();
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const chars = [...new Set([...text.replace(/\s/g, '')])].sort();
  const frequent = [...counts].filter(([w, n]) => n >= 6 && [...w].length > 1).map(([w]) => w);
  return [...SPECIALS, ...chars, ...chars.map((c) => `##${c}`), ...frequent.sort()];
}

const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** `tokenizer.json` as `tokenizers` writes BERT's (bert-base-uncased), over `vocab`. */
function wordPieceTokenizer(vocab: readonly string[]): Record<string, unknown> {
  const id = (t: string) => vocab.indexOf(t);
  const piece = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });
  const sequence = (s: 'A' | 'B', typeId: number) => ({ Sequence: { id: s, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((t) => special(id(t), t)),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [piece('[CLS]'), sequence('A', 0), piece('[SEP]')],
      pair: [
        piece('[CLS]'),
        sequence('A', 0),
        piece('[SEP]'),
        sequence('B', 1),
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(
        ['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  };
}

/** The encoder graph: input_ids, attention_mask, token_type_ids [batch, seq] → last_hidden_state. */
function bertGraph(o: Required<Omit<RandomBertOptions, 'pooling' | 'normalize'>>, vocab: number): Graph {
  const rng = new Rng(o.seed);
  const init = normal(0.2);
  const headDim = o.hidden / o.heads;
  const g = new Graph();
  const dims = ['batch_size', 'sequence_length'];
  const ids = g.input('input_ids', 'int64', dims);
  const mask = g.input('attention_mask', 'int64', dims);
  const types = g.input('token_type_ids', 'int64', dims);
  const words = named('embeddings.word_embeddings', embedding(rng, vocab, o.hidden, init));
  const positionTable = named('embeddings.position_embeddings', embedding(rng, o.context, o.hidden, init));
  const typeTable = named('embeddings.token_type_embeddings', embedding(rng, 2, o.hidden, init));
  const length = g.op('Squeeze', [g.op('Shape', [ids], { start: 1, end: 2 })], { axes: [0] });
  const positions = g.op('Range', [g.scalar(0, 'int64'), length], { dim: 'sequence_length' });
  const summed = g.op('Add', [g.op('Add', [words(ids), positionTable(positions)]), typeTable(types)]);
  const norm = (name: string) => named(name, layerNorm(o.hidden, EPS));
  let x = norm('embeddings.LayerNorm')(summed);
  // bool [B, 1, 1, S]: padded keys are hidden from every query.
  const hidden = g.op('Unsqueeze', [g.op('Equal', [mask, g.scalar(0, 'int64')])], { axes: [1, 2] });
  const proj = (name: string, inF: number, outF: number) => named(name, linear(rng, inF, outF, { init }));
  const split = (t: Value) =>
    g.op('Transpose', [g.op('Reshape', [t], { shape: [0, 0, o.heads, headDim] })], { perm: [0, 2, 1, 3] });
  for (let i = 0; i < o.layers; i++) {
    const at = `encoder.layer.${i}`;
    const [q, k, v] = ['query', 'key', 'value'].map((n) =>
      proj(`${at}.attention.self.${n}`, o.hidden, o.hidden),
    );
    const out = proj(`${at}.attention.output.dense`, o.hidden, o.hidden);
    const attended = out(groupedAttention(split(q(x)), split(k(x)), split(v(x)), hidden));
    x = norm(`${at}.attention.output.LayerNorm`)(g.op('Add', [x, attended]));
    const up = proj(`${at}.intermediate.dense`, o.hidden, o.intermediate);
    const down = proj(`${at}.output.dense`, o.intermediate, o.hidden);
    x = norm(`${at}.output.LayerNorm`)(g.op('Add', [x, down(g.op('Gelu', [up(x)]))]));
  }
  g.output('last_hidden_state', x);
  return g;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** sentence-transformers' module list and pooling config for `pooling` (and Normalize). */
function sentenceTransformerFiles(hidden: number, pooling: 'mean' | 'cls' | 'max', normalize: boolean) {
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    ...(normalize
      ? [{ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' }]
      : []),
  ];
  const poolingConfig = {
    word_embedding_dimension: hidden,
    pooling_mode_cls_token: pooling === 'cls',
    pooling_mode_mean_tokens: pooling === 'mean',
    pooling_mode_max_tokens: pooling === 'max',
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: false,
    include_prompt: true,
  };
  return [
    ['modules.json', json(modules)],
    ['1_Pooling/config.json', json(poolingConfig)],
  ] as [string, string][];
}

/** Write a random BERT-style encoder folder under `dir`. */
export async function writeRandomBertFolder(
  dir: string,
  options: RandomBertOptions = {},
): Promise<RandomBertFolder> {
  const o = { hidden: 32, layers: 2, heads: 4, intermediate: 64, context: 64, seed: 1, ...options };
  const vocab = wordPieceVocab();
  const graph = bertGraph(o, vocab.length);
  const config = {
    architectures: ['BertModel'],
    model_type: 'bert',
    vocab_size: vocab.length,
    hidden_size: o.hidden,
    num_hidden_layers: o.layers,
    num_attention_heads: o.heads,
    intermediate_size: o.intermediate,
    hidden_act: 'gelu',
    max_position_embeddings: o.context,
    type_vocab_size: 2,
    layer_norm_eps: EPS,
    pad_token_id: 0,
    torch_dtype: 'float32',
  };
  const files: [string, string | Uint8Array][] = [
    ['config.json', json(config)],
    ['tokenizer.json', json(wordPieceTokenizer(vocab))],
    [
      'tokenizer_config.json',
      json({
        cls_token: '[CLS]',
        sep_token: '[SEP]',
        pad_token: '[PAD]',
        unk_token: '[UNK]',
        mask_token: '[MASK]',
        do_lower_case: true,
        model_max_length: o.context,
        tokenizer_class: 'BertTokenizer',
      }),
    ],
    [
      'special_tokens_map.json',
      json({
        cls_token: '[CLS]',
        sep_token: '[SEP]',
        pad_token: '[PAD]',
        unk_token: '[UNK]',
        mask_token: '[MASK]',
      }),
    ],
    ['onnx/model.onnx', encodeModel(graph, { name: 'maas-bert' })],
    ...(o.pooling ? sentenceTransformerFiles(o.hidden, o.pooling, o.normalize ?? false) : []),
  ];
  for (const [path, data] of files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), data);
  }
  return { dir, files: files.map(([p]) => p), vocabSize: vocab.length, hidden: o.hidden, context: o.context };
}
