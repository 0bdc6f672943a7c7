/**
 * Log probabilities of generated tokens as the OpenAI APIs report them: each token's text, its
 * UTF-8 bytes (a byte-level token may end inside a character), its natural-log probability under
 * the model, and the most likely alternatives at that step.
 */
import type { GenerationStep } from './generator';

export interface TokenText {
  /** The token's text; a token that is not whole UTF-8 is written `bytes:\xe2\x80` as OpenAI does. */
  token: string;
  bytes: number[];
}

export interface TokenLogprob extends TokenText {
  logprob: number;
  top: (TokenText & { logprob: number })[];
}

/** Bytes of a token id (null: a special token with no text). */
export type TokenBytes = (id: number) => Uint8Array | null;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function tokenText(id: number, bytesOf: TokenBytes): TokenText {
  const bytes = bytesOf(id);
  if (!bytes) return { token: '', bytes: [] };
  try {
    return { token: strictUtf8.decode(bytes), bytes: Array.from(bytes) };
  } catch {
    const hex = Array.from(bytes, (b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
    return { token: `bytes:${hex}`, bytes: Array.from(bytes) };
  }
}

/** The entry of one generation step (the Generator was asked for `topLogprobs`). */
export function stepLogprob(step: GenerationStep, bytesOf: TokenBytes): TokenLogprob {
  return {
    ...tokenText(step.token, bytesOf),
    logprob: step.logprob,
    top: (step.top ?? []).map((t) => ({ ...tokenText(t.token, bytesOf), logprob: t.logprob })),
  };
}

/**
 * A generation's text as it streams, with the log probabilities of its tokens when they were
 * asked for: each entry goes out with the text it belongs to; end tokens have none.
 */
export class LogprobStream {
  readonly entries: TokenLogprob[] = [];
  private unsent = 0;

  constructor(
    private readonly wanted: boolean,
    private readonly ends: ReadonlySet<number>,
    private readonly bytesOf: TokenBytes,
    private readonly onDelta?: (delta: string, logprobs?: TokenLogprob[]) => void,
  ) {}

  step(step: GenerationStep): void {
    if (this.wanted && !this.ends.has(step.token)) this.entries.push(stepLogprob(step, this.bytesOf));
    this.send(step.delta, step.done);
  }

  /** Text that became final (with the entries not sent yet); `done`: flush even without text. */
  send(delta: string, done: boolean): void {
    if (!this.onDelta || !(delta || (done && this.unsent < this.entries.length))) return;
    this.onDelta(delta, this.wanted ? this.entries.slice(this.unsent) : undefined);
    this.unsent = this.entries.length;
  }
}
