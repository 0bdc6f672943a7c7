/**
 * A Hugging Face `tokenizer.json` (BPE, byte-level, SentencePiece/Unigram, WordPiece), read by
 * `@huggingface/tokenizers`: the ONLY module that imports it. Encoding follows transformers:
 * `addSpecialTokens` (default true) lets the tokenizer's post-processor add BOS/CLS/SEP; a prompt
 * rendered by a chat template already holds its special tokens, so chat encodes without.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { fail } from '../../common/errors';
import { byteLevelTokenBytes } from '../language/constrain/vocabulary';

export interface TextTokenizer {
  /** Entries in the vocabulary, added tokens included. */
  readonly vocabSize: number;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  /** Ids and the token strings they stand for (`Ġworld`, `<|im_start|>`). */
  tokens(text: string, options?: { addSpecialTokens?: boolean }): { ids: number[]; tokens: string[] };
  /** Special tokens (BOS, EOS, ChatML markers) are left out unless `skipSpecial` is false. */
  decode(ids: readonly number[], options?: { skipSpecial?: boolean }): string;
  /** The id of a token string, e.g. `<|im_end|>`; undefined when it is not in the vocabulary. */
  idOf(token: string): number | undefined;
  /**
   * For constrained decoding and logprobs: the UTF-8 bytes each id writes (null for special tokens),
   * built once on first use; null when the tokenizer is not byte-level (its token strings are not
   * bytes, e.g. SentencePiece).
   */
  tokenBytes(): (Uint8Array | null)[] | null;
}

/**
 * Build a tokenizer from the parsed `tokenizer.json` and `tokenizer_config.json`. A file the
 * library cannot read → `invalid_model` naming `tokenizer.json` and the cause.
 */
export function loadTokenizer(tokenizerJson: unknown, tokenizerConfig: unknown): TextTokenizer {
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerJson as object, (tokenizerConfig ?? {}) as object);
    tok.encode('maas');
  } catch (e) {
    fail('invalid_model', `tokenizer.json cannot be used: ${reason(e)}`);
  }
  const vocabSize = tok.get_vocab(true).size;
  let bytes: (Uint8Array | null)[] | null | undefined;
  return {
    vocabSize,
    encode: (text, options) =>
      tok.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true }).ids,
    tokens: (text, options) => {
      const e = tok.encode(text, { add_special_tokens: options?.addSpecialTokens ?? true });
      return { ids: e.ids, tokens: e.tokens };
    },
    decode: (ids, options) => tok.decode([...ids], { skip_special_tokens: options?.skipSpecial ?? true }),
    idOf: (token) => tok.token_to_id(token),
    tokenBytes: () => {
      bytes ??= byteLevel(tokenizerJson) ? tokenBytesOf(tok, vocabSize, specialIds(tokenizerJson)) : null;
      return bytes;
    },
  };
}

type Json = Record<string, unknown>;

/** GPT-2-style byte-level tokenizers (Llama 3, Qwen, SmolLM, GPT-2): token strings are bytes. */
function byteLevel(tokenizerJson: unknown): boolean {
  const kind = (part: unknown) => (part as Json | null | undefined)?.type;
  const json = tokenizerJson as Json;
  return kind(json.decoder) === 'ByteLevel' || kind(json.pre_tokenizer) === 'ByteLevel';
}

/** Ids of the added tokens marked `special` (`<|im_end|>`, `<s>`): never part of constrained text. */
function specialIds(tokenizerJson: unknown): Set<number> {
  const added = (tokenizerJson as Json).added_tokens;
  const list = Array.isArray(added) ? (added as Json[]) : [];
  return new Set(
    list.filter((t) => t.special === true && typeof t.id === 'number').map((t) => t.id as number),
  );
}

function tokenBytesOf(tok: Tokenizer, vocabSize: number, special: Set<number>): (Uint8Array | null)[] {
  const out: (Uint8Array | null)[] = [];
  for (let id = 0; id < vocabSize; id++) {
    const token = special.has(id) ? undefined : tok.id_to_token(id);
    out.push(token === undefined ? null : byteLevelTokenBytes(token));
  }
  return out;
}

function reason(e: unknown): string {
  return String(e instanceof Error ? e.message : e)
    .split('\n')[0]
    .slice(0, 200);
}
