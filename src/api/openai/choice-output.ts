/**
 * One choice of a (chat) completion in OpenAI's shapes, whole or as stream chunks: tool calls
 * parsed out of the text (`message.tool_calls`, streamed as `delta.tool_calls`: index, id and name
 * first, then argument fragments), and log probabilities:
 *
 *   chat:        logprobs: {content: [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}], refusal: null}
 *   completions: logprobs: {tokens: [...], token_logprobs: [...], top_logprobs: [{token: logprob}], text_offset: [...]}
 *
 * `text_offset` counts UTF-16 code units from the start of the prompt (OpenAI counts from the
 * prompt, echoed or not); a completion's first token is at the prompt's length.
 */
import { randomUUID } from 'node:crypto';
import type { TokenLogprob } from '../../models/common/logprobs';
import { parseToolCalls } from '../../models/language/tools/parse';
import { ToolCallStream } from '../../models/language/tools/stream';
import type { GenerateResult } from '../../models/task';
import type { OpenAIFeatures } from './features';

type Kind = 'chat' | 'text';

const callId = () => `call_${randomUUID().replace(/-/g, '').slice(0, 24)}`;

function chatLogprobs(entries: readonly TokenLogprob[]) {
  return {
    content: entries.map((e) => ({
      token: e.token,
      logprob: e.logprob,
      bytes: e.bytes,
      top_logprobs: e.top.map((t) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes })),
    })),
    refusal: null,
  };
}

/**
 * Completions' text offsets: where each token starts in prompt + text, the tokens before it decoded
 * as a whole (so invalid bytes count as the replacement characters the text shows).
 */
class TextOffsets {
  private readonly decoder = new TextDecoder('utf-8');
  private bytes: number[] = [];
  constructor(private readonly promptChars: number) {}
  next(bytes: readonly number[]): number {
    const here = this.promptChars + this.decoder.decode(Uint8Array.from(this.bytes)).length;
    this.bytes = this.bytes.concat(bytes);
    return here;
  }
}

function textLogprobs(entries: readonly TokenLogprob[], offsets: TextOffsets) {
  return {
    tokens: entries.map((e) => e.token),
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) => Object.fromEntries(e.top.map((t) => [t.token, t.logprob]))),
    text_offset: entries.map((e) => offsets.next(e.bytes)),
  };
}

/** A whole choice (non-streamed answer). `promptChars`: the prompt's length, for text_offset. */
export function wholeChoice(
  kind: Kind,
  index: number,
  c: GenerateResult,
  f: OpenAIFeatures,
  promptChars: number,
) {
  const logprobs =
    f.logprobs === undefined || !c.logprobs
      ? null
      : kind === 'chat'
        ? chatLogprobs(c.logprobs)
        : textLogprobs(c.logprobs, new TextOffsets(promptChars));
  if (kind === 'text') return { index, text: c.text, logprobs, finish_reason: c.finishReason };
  const names = new Set(f.tools.map((t) => t.name));
  const parsed = f.parseTools ? parseToolCalls(c.text, names) : { content: c.text, toolCalls: [] };
  if (parsed.toolCalls.length === 0)
    return {
      index,
      message: { role: 'assistant', content: c.text },
      logprobs,
      finish_reason: c.finishReason,
    };
  const tool_calls = parsed.toolCalls.map((t) => ({
    id: callId(),
    type: 'function',
    function: { name: t.name, arguments: t.arguments },
  }));
  return {
    index,
    message: { role: 'assistant', content: parsed.content, tool_calls },
    logprobs,
    finish_reason: c.finishReason === 'stop' ? 'tool_calls' : c.finishReason,
  };
}

/** One choice's stream: turns deltas into chunk payloads (`choices[]` entries). */
export class ChoiceStream {
  private readonly tools: ToolCallStream | null;
  private calls = 0;
  private readonly offsets: TextOffsets;

  constructor(
    private readonly kind: Kind,
    private readonly index: number,
    private readonly f: OpenAIFeatures,
    promptChars: number,
  ) {
    this.tools =
      kind === 'chat' && f.parseTools ? new ToolCallStream(new Set(f.tools.map((t) => t.name))) : null;
    this.offsets = new TextOffsets(promptChars);
  }

  private payload(delta: Record<string, unknown> | string, logprobs: unknown, finish: string | null = null) {
    if (this.kind === 'text') return { index: this.index, text: delta, logprobs, finish_reason: finish };
    return { index: this.index, delta, logprobs, finish_reason: finish };
  }

  private logprobsOf(entries: readonly TokenLogprob[] | undefined): unknown {
    if (this.f.logprobs === undefined || !entries || entries.length === 0) return null;
    if (this.kind === 'chat') return chatLogprobs(entries);
    return textLogprobs(entries, this.offsets);
  }

  /** Payloads for a delta and the log probabilities of its tokens. */
  delta(text: string, entries?: readonly TokenLogprob[]): unknown[] {
    let logprobs = this.logprobsOf(entries);
    if (this.kind === 'text') return text || logprobs ? [this.payload(text, logprobs)] : [];
    const deltas = this.tools ? this.toolDeltas(this.tools.push(text)) : text ? [{ content: text }] : [];
    if (deltas.length === 0) return logprobs ? [this.payload({}, logprobs)] : [];
    return deltas.map((d) => {
      const p = this.payload(d, logprobs);
      logprobs = null;
      return p;
    });
  }

  /** The last payloads: what the tool parser held back, then the finish reason. */
  finish(reason: string): unknown[] {
    const rest = this.tools ? this.toolDeltas(this.tools.end()) : [];
    const finish = reason === 'stop' && this.calls > 0 ? 'tool_calls' : reason;
    const end = this.payload(this.kind === 'chat' ? {} : '', null, finish);
    return [...rest.map((d) => this.payload(d, null)), end];
  }

  private toolDeltas(events: ReturnType<ToolCallStream['push']>): Record<string, unknown>[] {
    return events.map((e) => {
      if (e.type === 'content') return { content: e.text };
      if (e.type === 'call') {
        this.calls++;
        const call = {
          index: e.index,
          id: callId(),
          type: 'function',
          function: { name: e.name, arguments: '' },
        };
        return { tool_calls: [call] };
      }
      return { tool_calls: [{ index: e.index, function: { arguments: e.text } }] };
    });
  }
}
