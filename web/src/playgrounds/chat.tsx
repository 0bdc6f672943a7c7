/**
 * Chat: system prompt, parameters, the answer streamed token by token, token counts and tokens/s,
 * and the same request as curl and as `openai` code.
 */
import { type FormEvent, useRef, useState } from 'react';
import type { ChatRequest, ChatUsage } from '../../../src/sdk/console';
import { useSession } from '../context';
import { CopyButton, ErrorNote } from '../ui';
import { chatCurl, chatOpenAI } from './code';
import type { PlaygroundProps } from './registry';

interface Params {
  system: string;
  prompt: string;
  temperature: number;
  top_p: number;
  max_tokens: number;
  seed: string;
  stop: string;
}

export function buildChatRequest(model: string, p: Params): ChatRequest {
  const messages: ChatRequest['messages'] = [];
  if (p.system.trim()) messages.push({ role: 'system', content: p.system });
  messages.push({ role: 'user', content: p.prompt });
  const req: ChatRequest = {
    model,
    messages,
    temperature: p.temperature,
    top_p: p.top_p,
    max_tokens: p.max_tokens,
  };
  if (p.seed.trim() !== '') req.seed = Number(p.seed);
  const stops = p.stop.split(',').filter((s) => s !== '');
  if (stops.length) req.stop = stops;
  return req;
}

export function ChatPlayground({ model }: PlaygroundProps) {
  const { client } = useSession().session;
  const [p, setP] = useState<Params>({
    system: 'You are a helpful assistant.',
    prompt: 'Hello!',
    temperature: 0.7,
    top_p: 1,
    max_tokens: 64,
    seed: '1',
    stop: '',
  });
  const [answer, setAnswer] = useState('');
  const [usage, setUsage] = useState<ChatUsage | null>(null);
  const [rate, setRate] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [code, setCode] = useState<'curl' | 'openai'>('curl');
  const abort = useRef<AbortController | null>(null);
  const set = <K extends keyof Params>(k: K, v: Params[K]) => setP((old) => ({ ...old, [k]: v }));
  const req = buildChatRequest(model, p);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    abort.current = new AbortController();
    setBusy(true);
    setAnswer('');
    setUsage(null);
    setRate(null);
    setError(undefined);
    const started = performance.now();
    let pieces = 0;
    try {
      const u = await client.chatStream(
        req,
        (text) => {
          pieces++;
          setAnswer((a) => a + text);
          setRate(pieces / ((performance.now() - started) / 1000));
        },
        abort.current.signal,
      );
      setUsage(u);
      if (u) setRate(u.completion_tokens / ((performance.now() - started) / 1000));
    } catch (err) {
      if (!abort.current.signal.aborted) setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="grid2">
      <form onSubmit={send} aria-label="Chat">
        <label>
          System prompt
          <textarea rows={2} value={p.system} onChange={(e) => set('system', e.target.value)} />
        </label>
        <label>
          Message
          <textarea rows={3} value={p.prompt} onChange={(e) => set('prompt', e.target.value)} required />
        </label>
        <div className="row">
          <NumberField
            label="Temperature"
            value={p.temperature}
            min={0}
            max={2}
            step={0.1}
            onChange={(v) => set('temperature', v)}
          />
          <NumberField
            label="Top-p"
            value={p.top_p}
            min={0}
            max={1}
            step={0.05}
            onChange={(v) => set('top_p', v)}
          />
          <NumberField
            label="Max tokens"
            value={p.max_tokens}
            min={1}
            max={4096}
            step={1}
            onChange={(v) => set('max_tokens', v)}
          />
          <label>
            Seed{' '}
            <input
              value={p.seed}
              inputMode="numeric"
              onChange={(e) => set('seed', e.target.value)}
              size={6}
            />
          </label>
          <label>
            Stop (comma-separated){' '}
            <input value={p.stop} onChange={(e) => set('stop', e.target.value)} size={8} />
          </label>
        </div>
        <div className="row">
          <button type="submit" disabled={busy}>
            {busy ? 'Streaming…' : 'Send'}
          </button>
          {busy && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          )}
        </div>
        <ErrorNote error={error} />
      </form>
      <div>
        <h3>Answer</h3>
        <output className="answer" data-testid="chat-answer" aria-live="polite">
          {answer}
        </output>
        <p className="muted small" data-testid="chat-stats">
          {usage && `prompt ${usage.prompt_tokens} tokens · completion ${usage.completion_tokens} tokens · `}
          {rate !== null && `${rate.toFixed(1)} tokens/s`}
        </p>
        <div className="row">
          <button type="button" aria-pressed={code === 'curl'} onClick={() => setCode('curl')}>
            curl
          </button>
          <button type="button" aria-pressed={code === 'openai'} onClick={() => setCode('openai')}>
            openai (JS)
          </button>
          <CopyButton
            text={
              code === 'curl'
                ? chatCurl(window.location.origin, req)
                : chatOpenAI(window.location.origin, req)
            }
          />
        </div>
        <pre className="code small">
          {code === 'curl' ? chatCurl(window.location.origin, req) : chatOpenAI(window.location.origin, req)}
        </pre>
      </div>
    </div>
  );
}

export function NumberField(props: {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  onChange: (v: number) => void;
}) {
  return (
    <label>
      {props.label}
      <input
        type="number"
        value={props.value}
        min={props.min}
        max={props.max}
        step={props.step}
        onChange={(e) => props.onChange(Number(e.target.value))}
      />
    </label>
  );
}
