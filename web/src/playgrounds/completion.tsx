/** Text completion (`/v1/completions`, streamed): a prompt and the sampling knobs; the text continues it. */
import { type FormEvent, useRef, useState } from 'react';
import type { ChatUsage, CompletionRequest } from '../../../src/sdk/console';
import { useSession } from '../context';
import { ErrorNote } from '../ui';
import { NumberField } from './chat';
import type { PlaygroundProps } from './registry';

export function CompletionPlayground({ model }: PlaygroundProps) {
  const { client } = useSession().session;
  const [prompt, setPrompt] = useState('Once upon a time');
  const [temperature, setTemperature] = useState(0.8);
  const [topP, setTopP] = useState(1);
  const [maxTokens, setMaxTokens] = useState(48);
  const [seed, setSeed] = useState('1');
  const [text, setText] = useState('');
  const [usage, setUsage] = useState<ChatUsage | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const abort = useRef<AbortController | null>(null);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    const req: CompletionRequest = { model, prompt, temperature, top_p: topP, max_tokens: maxTokens };
    if (seed.trim() !== '') req.seed = Number(seed);
    abort.current = new AbortController();
    setBusy(true);
    setText('');
    setUsage(null);
    setError(undefined);
    try {
      setUsage(await client.completeStream(req, (t) => setText((old) => old + t), abort.current.signal));
    } catch (err) {
      if (!abort.current.signal.aborted) setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="grid2">
      <form onSubmit={send} aria-label="Text completion">
        <label>
          Prompt
          <textarea rows={4} value={prompt} onChange={(e) => setPrompt(e.target.value)} required />
        </label>
        <div className="row">
          <NumberField
            label="Temperature"
            value={temperature}
            min={0}
            max={2}
            step={0.1}
            onChange={setTemperature}
          />
          <NumberField label="Top-p" value={topP} min={0} max={1} step={0.05} onChange={setTopP} />
          <NumberField
            label="Max tokens"
            value={maxTokens}
            min={1}
            max={4096}
            step={1}
            onChange={setMaxTokens}
          />
          <label>
            Seed <input value={seed} inputMode="numeric" size={6} onChange={(e) => setSeed(e.target.value)} />
          </label>
        </div>
        <div className="row">
          <button type="submit" disabled={busy}>
            {busy ? 'Completing…' : 'Complete'}
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
        <h3>Completion</h3>
        <output className="answer" data-testid="completion" aria-live="polite">
          <span className="muted">{prompt}</span>
          {text}
        </output>
        <p className="muted small" data-testid="completion-stats">
          {usage && `prompt ${usage.prompt_tokens} tokens · completion ${usage.completion_tokens} tokens`}
        </p>
      </div>
    </div>
  );
}
