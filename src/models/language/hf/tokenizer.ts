/**
 * maas's byte-level BPE (`src/data/text/bpe.ts`) written as a Hugging Face `tokenizer.json`
 * (the `tokenizers` library's format, read by `@huggingface/tokenizers` and transformers.js),
 * keeping maas's ids so that a maas-trained model's embedding rows still match:
 *
 *   0 `<pad>`, 1 `<unk>`, 2 `<|endoftext|>`, 3 … 258 the bytes 0 … 255, then one id per merge
 *   in rank order, then any extra special tokens (e.g. `<|im_start|>`, `<|im_end|>`).
 *
 * Tokens are spelled with GPT-2's byte-to-character map (a space is `Ġ`). Pre-tokenisation is
 * maas's own chunk regex (a `Split` pre-tokenizer), then `ByteLevel` without its regex, so text
 * splits into exactly the chunks maas's encoder merges within.
 */
import { BPE_FIRST_MERGE_ID, BYTE_OFFSET, CHUNK_PATTERN, EOS_ID } from '../../../data/text/bpe';
import type { BpeTokenizerSpec, CharTokenizerSpec } from '../../../data/text/tokenizer';
import { PAD_ID, UNK_ID } from '../../../data/text/tokenizer';

/** GPT-2's map from a byte to a printable character (`bytes_to_unicode`). */
export function byteToChar(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable(b) ? b : 256 + next++));
  return out;
}

export interface HfTokenizer {
  /** The `tokenizer.json` object. */
  json: Record<string, unknown>;
  /** Every id the tokenizer can produce is below this. */
  vocabSize: number;
  /** Id of each special token (`<pad>`, `<unk>`, `<|endoftext|>` and the extras). */
  specialIds: Record<string, number>;
}

const addedToken = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/**
 * Give every id below `size` that has no token a `~<id>` one (the ids past the learned ones, and
 * a merge whose spelling an earlier id already has), so that every id decodes to text.
 */
function padVocabulary(vocab: Record<string, number>, size: number): void {
  const taken = new Set(Object.values(vocab));
  for (let id = 0; id < size; id++) {
    if (taken.has(id)) continue;
    if (`~${id}` in vocab) throw new Error(`the padding token ~${id} is already a learned token`);
    vocab[`~${id}`] = id;
  }
}

/**
 * `tokenizer.json` for a maas BPE spec, with `extraSpecials` appended after the merges. With
 * `padTo`, the vocabulary goes on up to that size with tokens no merge produces, each spelling
 * `~<id>` in ASCII: a random model with a real-sized vocabulary (32 k for a benchmark) then
 * samples only ids that decode to text, as a trained one's do.
 */
export function hfTokenizerJson(
  spec: BpeTokenizerSpec,
  extraSpecials: readonly string[] = [],
  padTo = 0,
): HfTokenizer {
  const chars = byteToChar();
  const spelling: string[] = ['<pad>', '<unk>', '<|endoftext|>'];
  for (let b = 0; b < 256; b++) spelling[BYTE_OFFSET + b] = chars[b];
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[chars[b]] = BYTE_OFFSET + b;
  const merges = spec.merges.map(([a, b], rank) => {
    const id = BPE_FIRST_MERGE_ID + rank;
    spelling[id] = spelling[a] + spelling[b];
    // Two merges may spell the same bytes; the spelling keeps the first id. Hugging Face's BPE looks
    // merged tokens up by spelling, so it never emits the later id (same text, rarely other ids).
    if (!(spelling[id] in vocab)) vocab[spelling[id]] = id;
    return `${spelling[a]} ${spelling[b]}`;
  });
  const base = BPE_FIRST_MERGE_ID + spec.merges.length;
  const specials: [string, number][] = [
    ['<pad>', PAD_ID],
    ['<unk>', UNK_ID],
    ['<|endoftext|>', EOS_ID],
    ...extraSpecials.map((s, i): [string, number] => [s, base + i]),
  ];
  for (const [content, id] of specials) vocab[content] = id;
  if (padTo > 0) padVocabulary(vocab, padTo);
  const size = Math.max(base + extraSpecials.length, padTo);
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map(([content, id]) => addedToken(id, content)),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CHUNK_PATTERN }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  return { json, vocabSize: size, specialIds: Object.fromEntries(specials) };
}

/**
 * `tokenizer.json` for a maas character vocabulary (`chars[id]`, 0 `<pad>`, 1 `<unk>`): a BPE
 * model without merges, so every character (code point) is its own token and one the vocabulary
 * lacks is `<unk>`; no pre-tokenizer (spaces and newlines are characters like any other) and the
 * `Fuse` decoder, which joins the characters back without separators.
 */
export function charTokenizerJson(spec: CharTokenizerSpec): HfTokenizer {
  const vocab: Record<string, number> = {};
  spec.chars.forEach((c, id) => {
    if (id > UNK_ID && !(c in vocab)) vocab[c] = id;
  });
  vocab['<pad>'] = PAD_ID;
  vocab['<unk>'] = UNK_ID;
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [addedToken(PAD_ID, '<pad>'), addedToken(UNK_ID, '<unk>')],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  return { json, vocabSize: spec.chars.length, specialIds: { '<pad>': PAD_ID, '<unk>': UNK_ID } };
}
