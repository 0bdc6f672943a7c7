/**
 * A tokenizer's vocabulary as constrained decoding sees it: the UTF-8 bytes every token id writes
 * (null for special tokens, which are never allowed inside constrained output), the end-of-text
 * ids, and a byte trie over all of it so one walk visits each shared prefix once.
 *
 * Byte-level BPE tokens can end inside a UTF-8 character, so the vocabulary is bytes, not decoded
 * strings: `tokenBytesOf` reads them from maas's own tokenizers; `byteLevelTokenBytes` turns the
 * GPT-2 byte-to-unicode token strings of a Hugging Face `tokenizer.json` back into bytes.
 */
import { BPE_FIRST_MERGE_ID, BYTE_OFFSET, EOS_ID } from '../../../data/text/bpe';
import type { Tokenizer } from '../../../data/text/tokenizer';

export interface TrieNode {
  /** Next bytes, parallel to `children`. */
  bytes: number[];
  children: TrieNode[];
  /** Token ids whose bytes end exactly here. */
  tokens: number[];
  /**
   * Every byte from the parent down to the leaves is printable ASCII other than `"` and `\\`, so
   * inside a JSON string the whole subtree is allowed at once: its tokens are
   * `subtreeTokens[start..end)` of the vocabulary (tokens are numbered in trie order there).
   */
  plain: boolean;
  start: number;
  end: number;
}

export interface TokenVocabulary {
  /** Bytes of each token id; null: a special token, never part of constrained text. */
  bytes: readonly (Uint8Array | null)[];
  /** Ids that end the text (allowed only once the JSON value is complete). */
  endTokens: readonly number[];
  trie: TrieNode;
  /** Longest token, in bytes. */
  maxTokenBytes: number;
  /** Token ids in depth-first trie order (see TrieNode.plain). */
  subtreeTokens: Int32Array;
}

function emptyNode(): TrieNode {
  return { bytes: [], children: [], tokens: [], plain: false, start: 0, end: 0 };
}

const isPlainStringByte = (b: number) => b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c;

/** Number the tokens depth-first and mark plain subtrees; returns the order. */
function index(root: TrieNode): Int32Array {
  const order: number[] = [];
  const visit = (node: TrieNode, byte: number): boolean => {
    node.start = order.length;
    order.push(...node.tokens);
    let plain = byte >= 0 && isPlainStringByte(byte);
    node.children.forEach((child, i) => {
      if (!visit(child, node.bytes[i])) plain = false;
    });
    node.end = order.length;
    node.plain = plain;
    return plain;
  };
  visit(root, -1);
  return Int32Array.from(order);
}

export function buildVocabulary(
  bytes: readonly (Uint8Array | null)[],
  endTokens: readonly number[],
): TokenVocabulary {
  const trie = emptyNode();
  let maxTokenBytes = 0;
  bytes.forEach((b, id) => {
    if (!b || b.length === 0 || endTokens.includes(id)) return;
    maxTokenBytes = Math.max(maxTokenBytes, b.length);
    let node = trie;
    for (const byte of b) {
      let i = node.bytes.indexOf(byte);
      if (i < 0) {
        i = node.bytes.length;
        node.bytes.push(byte);
        node.children.push(emptyNode());
      }
      node = node.children[i];
    }
    node.tokens.push(id);
  });
  return { bytes, endTokens, trie, maxTokenBytes, subtreeTokens: index(trie) };
}

const utf8 = new TextEncoder();

/** Bytes of every token of a maas tokenizer (byte-level BPE or characters); words: none. */
export function tokenBytesOf(tokenizer: Tokenizer): { bytes: (Uint8Array | null)[]; endTokens: number[] } {
  const spec = tokenizer.spec;
  if (spec.type === 'bpe') {
    const bytes: (Uint8Array | null)[] = [null, null, null]; // <pad>, <unk>, <|endoftext|>
    for (let b = 0; b < 256; b++) bytes.push(Uint8Array.of(b));
    spec.merges.forEach(([a, b], rank) => {
      const left = bytes[a]!;
      const right = bytes[b]!;
      const joined = new Uint8Array(left.length + right.length);
      joined.set(left);
      joined.set(right, left.length);
      bytes[BPE_FIRST_MERGE_ID + rank] = joined;
    });
    if (bytes.length !== tokenizer.vocabSize || BYTE_OFFSET !== 3) throw new Error('unexpected BPE layout');
    return { bytes, endTokens: [EOS_ID] };
  }
  if (spec.type === 'char')
    return { bytes: spec.chars.map((c, i) => (i < 2 ? null : utf8.encode(c))), endTokens: [] };
  return { bytes: Array.from({ length: tokenizer.vocabSize }, () => null), endTokens: [] };
}

const vocabularies = new WeakMap<Tokenizer, TokenVocabulary>();

/** The vocabulary of a maas tokenizer, built once per tokenizer object. */
export function vocabularyOf(tokenizer: Tokenizer): TokenVocabulary {
  let v = vocabularies.get(tokenizer);
  if (!v) {
    const { bytes, endTokens } = tokenBytesOf(tokenizer);
    v = buildVocabulary(bytes, endTokens);
    vocabularies.set(tokenizer, v);
  }
  return v;
}

/**
 * GPT-2's byte ↔ printable-character table, used by every byte-level BPE `tokenizer.json`
 * (GPT-2, Llama 3, Qwen, SmolLM): printable Latin-1 bytes stand for themselves, the other 68
 * bytes for U+0100 onwards. `Ġhello` is the bytes of " hello".
 */
function byteDecoder(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const ch = printable.includes(b) ? b : 256 + extra++;
    map.set(String.fromCodePoint(ch), b);
  }
  return map;
}

let table: Map<string, number> | undefined;

/** Bytes of a byte-level BPE token string (`tokenizer.json` model.vocab key); null if not byte-level. */
export function byteLevelTokenBytes(token: string): Uint8Array | null {
  table ??= byteDecoder();
  const out: number[] = [];
  for (const ch of token) {
    const b = table.get(ch);
    if (b === undefined) return null;
    out.push(b);
  }
  return Uint8Array.from(out);
}
