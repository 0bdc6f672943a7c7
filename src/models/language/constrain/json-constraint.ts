/**
 * Constrained decoding of JSON: at each step only the tokens whose bytes keep the output a valid
 * prefix of the schema's language are allowed (frames.ts recognises it byte by byte).
 *
 * Cost of a step: the allowed tokens of a state are found by one walk of the vocabulary's byte
 * trie from that state, pruned at the first byte that fails, and cached by the state's key. A
 * long string value, where most steps happen, is one state: its first step walks the trie, the
 * rest are cache hits and cost one pass over the allowed list (bench/constrain/mask.ts measures it).
 * The cache belongs to the (schema, vocabulary) pair and is shared by every request using them.
 *
 * Ending in time: each allowed token carries the fewest further tokens that complete the JSON
 * after it (bytes, an upper bound on tokens when every byte is a token, as in byte-level BPE; plus
 * an end token where the top value cannot end by itself, e.g. a number). With `remaining` tokens
 * left, only tokens that still fit are allowed, so the value closes before max_tokens whenever the
 * budget allows it at the start; otherwise the tokens that get closest are allowed and the
 * generation ends with finish_reason "length".
 */
import { fail } from '../../../common/errors';
import type { TokenConstraint } from '../../common/constraint';
import { type Frame, isDone, mayEnd, RootFrame } from './frames';
import type { ValueNode } from './schema';
import type { TokenVocabulary, TrieNode } from './vocabulary';

interface Allowed {
  tokens: Int32Array;
  /** Tokens still needed to finish after each allowed token. */
  after: Int32Array;
}

interface Walk {
  tokens: Int32Array;
  after: Int32Array;
  n: number;
}

function add(w: Walk, token: number, after: number): void {
  w.tokens[w.n] = token;
  w.after[w.n++] = after;
}

/** Bytes of cached masks per (schema, vocabulary) before the oldest are dropped. */
const MASK_CACHE_BYTES = 16 * 1024 * 1024;
/** Schemas whose caches are kept per vocabulary. */
const SCHEMAS_PER_VOCABULARY = 8;

/** True when a value of `node` ends by itself (a closing quote or bracket): no end token needed. */
function endsItself(node: ValueNode): boolean {
  switch (node.kind) {
    case 'number':
      return false;
    case 'literal':
      return !node.texts.some((a) => node.texts.some((b) => b !== a && b.startsWith(a)));
    case 'union':
      return node.branches.every(endsItself);
    default:
      return true;
  }
}

/** A compiled schema bound to one vocabulary, with its cache of allowed tokens per state. */
export class BoundGrammar {
  private readonly cache = new Map<string, Allowed>();
  private cachedBytes = 0;
  private scratch: Walk | undefined;
  private readonly needsEnd: boolean;
  /** Trie walks and cache hits so far (for the benchmark and tests). */
  readonly stats = { walks: 0, hits: 0 };

  constructor(
    readonly root: ValueNode,
    readonly vocabulary: TokenVocabulary,
  ) {
    this.needsEnd = !endsItself(root) && vocabulary.endTokens.length > 0;
  }

  start(): Frame {
    return new RootFrame(this.root, false);
  }

  private tokensToFinish(s: Frame): number {
    return s.cost() + (this.needsEnd && !isDone(s) ? 1 : 0);
  }

  allowed(state: Frame): Allowed {
    const key = state.key();
    const hit = this.cache.get(key);
    if (hit) {
      this.stats.hits++;
      return hit;
    }
    this.stats.walks++;
    // A token is reached at most once per walk, so the vocabulary size bounds the lists.
    const size = this.vocabulary.bytes.length;
    this.scratch ??= { tokens: new Int32Array(size), after: new Int32Array(size), n: 0 };
    const out = this.scratch;
    out.n = 0;
    this.walk(this.vocabulary.trie, state, out);
    if (mayEnd(state)) for (const t of this.vocabulary.endTokens) add(out, t, 0);
    const entry = { tokens: out.tokens.slice(0, out.n), after: out.after.slice(0, out.n) };
    this.remember(key, entry);
    return entry;
  }

  private walk(node: TrieNode, s: Frame, out: Walk): void {
    for (let i = 0; i < node.bytes.length; i++) {
      const next = s.step(node.bytes[i]);
      if (next === null) continue;
      const child = node.children[i];
      if (next === s && child.plain) {
        // Plain characters inside a string leave the state as it was: take the subtree at once.
        const need = this.tokensToFinish(s);
        const all = this.vocabulary.subtreeTokens;
        for (let k = child.start; k < child.end; k++) add(out, all[k], need);
        continue;
      }
      if (child.tokens.length > 0) {
        const need = this.tokensToFinish(next);
        for (const t of child.tokens) add(out, t, need);
      }
      if (child.children.length > 0) this.walk(child, next, out);
    }
  }

  private remember(key: string, entry: Allowed): void {
    const size = entry.tokens.byteLength * 2 + key.length * 2;
    this.cache.set(key, entry);
    this.cachedBytes += size;
    for (const [k, v] of this.cache) {
      if (this.cachedBytes <= MASK_CACHE_BYTES || k === key) break;
      this.cache.delete(k);
      this.cachedBytes -= v.tokens.byteLength * 2 + k.length * 2;
    }
  }
}

const bound = new WeakMap<TokenVocabulary, Map<string, BoundGrammar>>();

/** The grammar of `root` over `vocabulary`, shared by requests with the same `schemaKey`. */
export function bindGrammar(root: ValueNode, schemaKey: string, vocabulary: TokenVocabulary): BoundGrammar {
  let byKey = bound.get(vocabulary);
  if (!byKey) {
    byKey = new Map();
    bound.set(vocabulary, byKey);
  }
  let g = byKey.get(schemaKey);
  if (g) {
    byKey.delete(schemaKey); // most recently used last
  } else {
    g = new BoundGrammar(root, vocabulary);
    if (byKey.size >= SCHEMAS_PER_VOCABULARY) byKey.delete(byKey.keys().next().value as string);
  }
  byKey.set(schemaKey, g);
  return g;
}

/** One generation's constraint: the recogniser's state, advanced by every accepted token. */
export class JsonConstraint implements TokenConstraint {
  private state: Frame;
  private ended = false;

  constructor(private readonly grammar: BoundGrammar) {
    this.state = grammar.start();
  }

  get endTokens(): readonly number[] {
    return this.grammar.vocabulary.endTokens;
  }

  /** Complete, and nothing may follow (or the vocabulary has no end token to say so). */
  get finished(): boolean {
    if (this.ended || isDone(this.state)) return true;
    return this.grammar.vocabulary.endTokens.length === 0 && mayEnd(this.state);
  }

  mask(logits: Float32Array, remaining: number): Float32Array {
    const { tokens, after } = this.grammar.allowed(this.state);
    if (tokens.length === 0)
      fail(
        'invalid_request',
        "this model's vocabulary has no token that continues the JSON the schema asks for",
      );
    let limit = remaining - 1;
    let fits = false;
    let least = Number.POSITIVE_INFINITY;
    for (let i = 0; i < after.length; i++) {
      if (after[i] <= limit) fits = true;
      if (after[i] < least) least = after[i];
    }
    if (!fits) limit = least; // cannot finish in time: head for the end anyway
    const out = new Float32Array(logits.length).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < tokens.length; i++) {
      if (after[i] <= limit) out[tokens[i]] = logits[tokens[i]];
    }
    return out;
  }

  accept(token: number): void {
    if (this.grammar.vocabulary.endTokens.includes(token)) {
      this.ended = true;
      return;
    }
    const bytes = this.grammar.vocabulary.bytes[token];
    let s: Frame | null = this.state;
    for (const b of bytes ?? []) {
      s = s.step(b);
      if (s === null) break;
    }
    if (s === null || !bytes) fail('internal', `token ${token} does not continue the constrained JSON`);
    this.state = s;
  }
}
