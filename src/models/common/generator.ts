/**
 * Per-request generation state for a decoder model, shaped for a streaming endpoint: feed it the
 * logits of each step, get back the chosen token and the text that is now safe to send.
 *
 *   const gen = new Generator({ maxTokens: 64, stop: ['\n\n'], temperature: 0.8, seed: 7 }, tok.decode);
 *   while (!gen.done) { const s = gen.step(await model.next(lastToken)); send(s.delta); lastToken = s.token; }
 *
 * Text is decoded incrementally and held back while (a) the pending tokens end in an incomplete
 * UTF-8 sequence (byte-level BPE splits characters across tokens) or (b) the tail of the text could
 * be the start of a stop sequence. A stop sequence is found even when it spans several tokens, and
 * neither it nor anything after it is ever sent.
 */
import { fail } from '../../common/errors';
import type { TokenConstraint } from './constraint';
import { Rng, randomSeed, type Seed } from './prng';
import {
  lazyLogprob,
  type SamplingOptions,
  sampleToken,
  type TokenChoice,
  tokenLogprobs,
  validateSampling,
} from './sampling';

export type FinishReason = 'stop' | 'length';

/** Token ids → text. Must be pure; it is called on short runs of consecutive tokens. */
export type TokenDecode = (ids: readonly number[]) => string;

export interface GeneratorOptions extends SamplingOptions {
  /** Most tokens to generate (≥ 1); see `resolveMaxTokens` for the context-window arithmetic. */
  maxTokens: number;
  /** Up to 4 strings (OpenAI's limit); generation ends before the first one found. */
  stop?: readonly string[];
  /** Same seed + same logits → same tokens. Absent: a random seed, reported as `seed`. */
  seed?: Seed;
  /** Tokens that end the text (end-of-sequence); they are counted but produce no text. */
  endTokens?: readonly number[];
  /**
   * vLLM's `min_tokens`: `endTokens` cannot be sampled before this many tokens (their logits are
   * hidden); stop strings still end the text. At most `maxTokens`.
   */
  minTokens?: number;
  /**
   * vLLM's `ignore_eos`: `endTokens` do not end the text (they are decoded like any token), so it
   * runs to `maxTokens` or a stop string; a constraint's end tokens still end it.
   */
  ignoreEos?: boolean;
  /** Hides the tokens that may not come next (e.g. JSON of a schema); its end tokens end the text too. */
  constraint?: TokenConstraint;
  /** Report this many most likely alternatives (0..20) with each token's log probability. */
  topLogprobs?: number;
}

export interface GenerationStep {
  token: number;
  logprob: number;
  /** The most likely tokens of this step, when `topLogprobs` was asked for. */
  top?: TokenChoice[];
  /** Text that became final with this token ('' while held back). */
  delta: string;
  done: boolean;
  finishReason: FinishReason | null;
}

/** A replacement character at the end of a decode means "more bytes of this character to come". */
const INCOMPLETE = '\uFFFD';
/** After this many tokens, give up waiting for a character to complete: the bytes are invalid. */
const MAX_PENDING_TOKENS = 8;
/**
 * New tokens are decoded after this many already-final ones and the shared prefix is cut off:
 * SentencePiece-style decoders drop the leading space of the first token ('▁world' alone decodes
 * as 'world', after '▁Hello' as ' world'), so decoding tokens alone would glue words together.
 */
const CONTEXT_TOKENS = 4;
export const MAX_STOP_SEQUENCES = 4;

/** min_tokens: a whole number ≤ max_tokens, and not with a constraint (whose end may be all it allows). */
function checkMinTokens(options: GeneratorOptions): void {
  const min = options.minTokens;
  if (min === undefined) return;
  if (!Number.isInteger(min) || min < 0 || min > options.maxTokens)
    fail(
      'invalid_request',
      `min_tokens must be an integer from 0 to max_tokens (${options.maxTokens}), got ${min}`,
      {
        pointer: 'min_tokens',
      },
    );
  if (min > 0 && options.constraint)
    fail('invalid_request', 'min_tokens cannot be combined with response_format', { pointer: 'min_tokens' });
}

/** OpenAI's `stop`: a string, a list of up to 4 non-empty strings, or nothing. */
export function normalizeStop(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.length > MAX_STOP_SEQUENCES) {
    fail('invalid_request', `stop must be a string or a list of at most ${MAX_STOP_SEQUENCES} strings`);
  }
  for (const s of list) {
    if (typeof s !== 'string' || s.length === 0 || s.length > 256) {
      fail('invalid_request', 'each stop sequence must be a non-empty string of at most 256 characters');
    }
  }
  return [...new Set(list as string[])];
}

/**
 * OpenAI's answer to a request past the context window, with the numbers (clients match on
 * `context_length_exceeded`): "This model's maximum context length is 256 tokens. However, you
 * requested 300 tokens (290 in the messages, 10 in the completion). Please reduce the length of
 * the messages or completion."
 */
export function failContext(context: number, promptTokens: number, completionTokens?: number): never {
  const asked =
    completionTokens === undefined
      ? `your messages resulted in ${promptTokens} tokens. Please reduce the length of the messages.`
      : `you requested ${promptTokens + completionTokens} tokens (${promptTokens} in the messages, ${completionTokens} in the completion). Please reduce the length of the messages or completion.`;
  return fail(
    'context_length_exceeded',
    `This model's maximum context length is ${context} tokens. However, ${asked}`,
    {
      pointer: 'messages',
    },
  );
}

/**
 * How many tokens a request may generate: the requested count, or the default, limited by what is
 * left of the context window. A prompt that fills the window, or a request for more than is left,
 * is the client's error (`invalid_request`), as OpenAI answers it.
 */
export function resolveMaxTokens(args: {
  requested?: number | null;
  promptTokens: number;
  contextLength: number;
  defaultMaxTokens: number;
}): number {
  const left = args.contextLength - args.promptTokens;
  if (left <= 0) {
    failContext(args.contextLength, args.promptTokens);
  }
  const requested = args.requested ?? undefined;
  if (requested === undefined) return Math.max(1, Math.min(args.defaultMaxTokens, left));
  if (!Number.isInteger(requested) || requested < 1) {
    fail('invalid_request', `max_tokens must be a positive integer, got ${String(requested)}`);
  }
  if (requested > left) {
    failContext(args.contextLength, args.promptTokens, requested);
  }
  return requested;
}

/** Length of the longest suffix of `text` (shorter than a whole stop) that begins some stop sequence. */
function partialStopLength(text: string, stops: readonly string[]): number {
  let best = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > best; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best;
}

export class Generator {
  readonly seed: Seed;
  readonly tokens: number[] = [];
  private readonly rng: Rng;
  private readonly counts = new Map<number, number>();
  private readonly stops: string[];
  private readonly maxStop: number;
  private readonly endTokens: ReadonlySet<number>;
  private pending: number[] = [];
  private context: number[] = [];
  private decoded = '';
  private emitted = 0;
  private reason: FinishReason | null = null;

  constructor(
    private readonly options: GeneratorOptions,
    private readonly decode: TokenDecode,
  ) {
    validateSampling(options);
    if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) {
      fail('invalid_request', `max_tokens must be a positive integer, got ${String(options.maxTokens)}`);
    }
    checkMinTokens(options);
    this.stops = normalizeStop(options.stop);
    this.maxStop = Math.max(0, ...this.stops.map((s) => s.length));
    const modelEnds = options.ignoreEos ? [] : (options.endTokens ?? []);
    this.endTokens = new Set([...modelEnds, ...(options.constraint?.endTokens ?? [])]);
    this.seed = options.seed ?? randomSeed();
    this.rng = new Rng(this.seed);
  }

  get done(): boolean {
    return this.reason !== null;
  }
  get finishReason(): FinishReason | null {
    return this.reason;
  }
  /** Tokens generated so far, end token included: the completion count for usage. */
  get completionTokens(): number {
    return this.tokens.length;
  }
  /** The text sent so far plus any held-back tail (the whole answer once `done`). */
  get text(): string {
    return this.done ? this.decoded : this.decoded + this.decodePiece(this.pending);
  }

  /** Sample the next token from this step's logits and accept it. */
  step(logits: Float32Array): GenerationStep {
    if (this.done) fail('internal', 'generation already finished');
    const constraint = this.options.constraint;
    const masked = constraint ? constraint.mask(logits, this.options.maxTokens - this.tokens.length) : logits;
    const allowed = this.tokens.length < (this.options.minTokens ?? 0) ? this.withoutEnds(masked) : masked;
    const sampled = sampleToken(allowed, this.options, this.rng, this.counts);
    const token = sampled.token;
    const top = this.options.topLogprobs;
    // Log probabilities are the model's own (before the constraint and the sampling filters).
    // Read lazily: most requests never ask for them (see lazyLogprob).
    if (top === undefined && allowed === logits) return this.accept(token, () => sampled.logprob);
    const own = tokenLogprobs(logits, token, top ?? 0);
    return this.accept(token, own.logprob, top === undefined ? undefined : own.top);
  }

  /** A copy of `logits` with the model's end tokens hidden (min_tokens not reached yet). */
  private withoutEnds(logits: Float32Array): Float32Array {
    const copy = Float32Array.from(logits);
    for (const id of this.options.endTokens ?? []) if (id >= 0 && id < copy.length) copy[id] = -Infinity;
    return copy;
  }

  /** Accept a token chosen elsewhere (e.g. a forced prefix, or a reference decode in a test). */
  accept(token: number, logprob: number | (() => number) = 0, top?: TokenChoice[]): GenerationStep {
    if (this.done) fail('internal', 'generation already finished');
    this.options.constraint?.accept(token);
    this.tokens.push(token);
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
    let delta: string;
    if (this.endTokens.has(token)) {
      delta = this.finish('stop');
    } else {
      this.pending.push(token);
      delta = this.absorbPending();
      if (!this.done && this.options.constraint?.finished) delta += this.finish('stop');
      if (!this.done && this.tokens.length >= this.options.maxTokens) delta += this.finish('length');
    }
    const scored = lazyLogprob(token, typeof logprob === 'number' ? () => logprob : logprob);
    const step: GenerationStep = {
      token,
      get logprob() {
        return scored.logprob;
      },
      delta,
      done: this.done,
      finishReason: this.reason,
    };
    if (top) step.top = top;
    return step;
  }

  /**
   * End now (the model hit its context, or the caller stops) and return the held-back text. A
   * held-back partial stop sequence is real text when no stop followed, so it is sent.
   */
  finish(reason: FinishReason): string {
    if (this.done) return '';
    if (this.pending.length > 0) this.decoded += this.decodePiece(this.pending);
    this.pending = [];
    this.reason = reason;
    return this.release(this.decoded.length);
  }

  private release(upTo: number): string {
    const delta = this.decoded.slice(this.emitted, upTo);
    this.emitted = Math.max(this.emitted, upTo);
    return delta;
  }

  /** The text `ids` add after the recent final tokens (see CONTEXT_TOKENS). */
  private decodePiece(ids: readonly number[]): string {
    if (this.context.length === 0) return this.decode(ids);
    const before = this.decode(this.context);
    const joined = this.decode([...this.context, ...ids]);
    return joined.startsWith(before) ? joined.slice(before.length) : this.decode(ids);
  }

  private absorbPending(): string {
    const piece = this.decodePiece(this.pending);
    if (piece.endsWith(INCOMPLETE) && this.pending.length < MAX_PENDING_TOKENS) return '';
    this.context = [...this.context, ...this.pending].slice(-CONTEXT_TOKENS);
    this.pending = [];
    const searchFrom = Math.max(0, this.decoded.length - this.maxStop + 1);
    this.decoded += piece;
    if (this.stops.length === 0) return this.release(this.decoded.length);
    let at = -1;
    for (const stop of this.stops) {
      const i = this.decoded.indexOf(stop, searchFrom);
      if (i >= 0 && (at < 0 || i < at)) at = i;
    }
    if (at >= 0) {
      // Nothing at or after the stop was sent: partial matches were held back.
      this.decoded = this.decoded.slice(0, Math.max(at, this.emitted));
      this.reason = 'stop';
      return this.release(this.decoded.length);
    }
    return this.release(this.decoded.length - partialStopLength(this.decoded, this.stops));
  }
}
