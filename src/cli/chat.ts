/**
 * `maas chat NAME`: an interactive chat in the terminal, as `ollama run` does. Each line is a user
 * turn sent with the whole history to /v1/chat/completions (streamed); tokens print as they come,
 * then a line with the count and speed. Commands:
 *
 *   /system TEXT   set the system message (kept at the front of the history)
 *   /reset         forget the conversation (the system message stays)
 *   /exit          leave (so does end of input: `echo "Hi" | maas chat qwen` answers once)
 *
 *   $ maas chat qwen
 *   >>> Hello!
 *   Hello! How can I help you today?
 *   [9 tokens, 41.3 tokens/s]
 */
import { type CliIO, connection, only, type Parsed, UsageError } from './shared';

interface Turn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

interface Settings {
  temperature?: number;
  max_tokens?: number;
  seed?: number;
}

function numberFlag(p: Parsed, name: string): number | undefined {
  const v = p.flags[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${name} needs a number, got '${v}'`);
  return n;
}

/** The `data:` payloads of an SSE stream, as they arrive. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) if (line.startsWith('data: ')) yield line.slice(6);
      end = buffer.indexOf('\n\n');
    }
  }
}

interface Chunk {
  choices?: { delta?: { content?: string } }[];
  usage?: { completion_tokens: number } | null;
  error?: { message: string };
}

/** One streamed answer: prints deltas, returns the text and the completion token count. */
async function answer(
  url: string,
  key: string | undefined,
  body: Record<string, unknown>,
  write: (s: string) => void,
): Promise<{ text: string; tokens: number; seconds: number }> {
  const started = performance.now();
  const res = await fetch(`${url.replace(/\/+$/, '')}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  if (!res.ok || !res.body) {
    const err = (await res.json().catch(() => ({}))) as Chunk;
    throw new Error(err.error?.message ?? `HTTP ${res.status}`);
  }
  let text = '';
  let tokens = 0;
  for await (const data of sseData(res.body)) {
    if (data === '[DONE]') break;
    const chunk = JSON.parse(data) as Chunk;
    if (chunk.error) throw new Error(chunk.error.message);
    const delta = chunk.choices?.[0]?.delta?.content ?? '';
    if (delta) {
      write(delta);
      text += delta;
    }
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  return { text, tokens, seconds: (performance.now() - started) / 1000 };
}

export async function chatCommand(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, 'chat');
  const model = p.positional[1];
  if (!model) throw new UsageError('maas chat NAME [--system S] [--temperature T] [--max-tokens N]');
  if (!io.lines) throw new UsageError('maas chat needs an input to read lines from');
  const { url, key } = await connection(p.flags, io.env);
  const settings: Settings = {
    temperature: numberFlag(p, '--temperature'),
    max_tokens: numberFlag(p, '--max-tokens'),
    seed: numberFlag(p, '--seed'),
  };
  const write = io.write ?? io.out;
  let system: string | null = p.flags['--system'] ?? null;
  let history: Turn[] = [];
  io.out(`chatting with ${model} (/system TEXT, /reset, /exit)`);
  write('>>> ');
  for await (const raw of io.lines()) {
    const line = raw.trim();
    if (line === '/exit' || line === '/bye') break;
    if (line === '/reset') {
      history = [];
      io.out('(conversation cleared)');
    } else if (line === '/system' || line.startsWith('/system ')) {
      system = line.slice('/system'.length).trim() || null;
      io.out(system ? '(system message set)' : '(system message removed)');
    } else if (line.startsWith('/')) {
      io.out(`unknown command ${line.split(' ')[0]}: /system TEXT, /reset, /exit`);
    } else if (line !== '') {
      const turn: Turn = { role: 'user', content: line };
      const messages = [...(system ? [{ role: 'system', content: system }] : []), ...history, turn];
      try {
        const a = await answer(url, key, { model, messages, ...settings }, write);
        history.push(turn, { role: 'assistant', content: a.text });
        const speed = a.seconds > 0 ? a.tokens / a.seconds : 0;
        io.out(`\n[${a.tokens} tokens, ${speed.toFixed(1)} tokens/s]`);
      } catch (e) {
        io.err(`\nerror: ${(e as Error).message}`);
      }
    }
    write('>>> ');
  }
  io.out('');
}
