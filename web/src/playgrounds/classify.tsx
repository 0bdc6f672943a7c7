/**
 * Classification: draw a digit (or drop an image), or paste text or a JSON row → probabilities and
 * the saliency from /explain: a heat map over the image, colours per token, scores per feature.
 */
import { type FormEvent, useState } from 'react';
import type { ModelDetail } from '../../../src/sdk/client';
import type { Explanation } from '../../../src/sdk/console';
import { useSession } from '../context';
import { ErrorNote } from '../ui';
import { DrawPad } from './draw-pad';
import { greyPixels, inputSize, outputToExplain } from './pixels';
import type { PlaygroundProps } from './registry';

type Mode = 'image' | 'text' | 'row';

/** A Map, not an object: a kind named like an Object.prototype member ('toString') is no mode. */
const MODE_OF_INPUT = new Map<string, Mode>([
  ['image', 'image'],
  ['text', 'text'],
  ['text-classification', 'text'],
  ['tabular', 'row'],
]);

/**
 * The input a classifier takes, to open its playground on: what the version was trained on
 * (`metadata.featureSpec.kind`: a spam filter takes text, a tabular model a row), else the
 * model's label; a drawing pad when neither says.
 */
export function inputModeOf(detail: Pick<ModelDetail, 'task' | 'versions'>): Mode {
  const spec = detail.versions?.[detail.versions.length - 1]?.metadata?.featureSpec as
    | { kind?: unknown }
    | undefined;
  return MODE_OF_INPUT.get(String(spec?.kind)) ?? MODE_OF_INPUT.get(detail.task ?? '') ?? 'image';
}

export function ClassifyPlayground({ model, detail }: PlaygroundProps) {
  const { client } = useSession().session;
  const [mode, setMode] = useState<Mode>(() => inputModeOf(detail));
  const [canvas, setCanvas] = useState<HTMLCanvasElement | null>(null);
  const [text, setText] = useState('');
  const [result, setResult] = useState<Explanation | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const inputOf = (): unknown => {
    if (mode === 'text') return text;
    if (mode === 'row') return JSON.parse(text);
    const { width, height } = inputSize(detail);
    return { width, height, channels: 1, pixels: canvas ? greyPixels(canvas, width, height) : [] };
  };
  const run = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const output = outputToExplain(detail);
      setResult(
        await client.explain(model, { input: inputOf(), ...(output ? { output_name: output } : {}) }),
      );
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="grid2">
      <form onSubmit={run} aria-label="Classify and explain">
        <fieldset className="row">
          <legend>Input</legend>
          {(['image', 'text', 'row'] as Mode[]).map((m) => (
            <label key={m}>
              <input type="radio" name="mode" checked={mode === m} onChange={() => setMode(m)} /> {m}
            </label>
          ))}
        </fieldset>
        {mode === 'image' ? (
          <DrawPad onCanvas={setCanvas} />
        ) : (
          <label>
            {mode === 'text' ? 'Text' : 'Row as JSON ({"column": value, …} or [numbers])'}
            <textarea rows={4} value={text} onChange={(e) => setText(e.target.value)} />
          </label>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Explaining…' : 'Classify and explain'}
        </button>
        <ErrorNote error={error} />
      </form>
      {result && <ExplanationView e={result} />}
    </div>
  );
}

export function ExplanationView({ e }: { e: Explanation }) {
  const probs = Object.entries(e.probabilities).sort((a, b) => b[1] - a[1]);
  const maxScore = Math.max(1e-9, ...(e.tokens ?? e.features ?? []).map((t) => Math.abs(t.score)));
  return (
    <div data-testid="explanation">
      <h3>
        Predicted <strong>{e.predicted ?? e.label}</strong>
      </h3>
      <ul className="bars">
        {probs.slice(0, 10).map(([label, p]) => (
          <li key={label}>
            <span className="bar-label">{label}</span>
            <meter min={0} max={1} value={p} aria-label={`probability of ${label}`} />
            <span className="mono small">{p.toFixed(3)}</span>
          </li>
        ))}
      </ul>
      {e.heatmap_png && (
        <figure>
          <img
            className="heatmap"
            src={`data:image/png;base64,${e.heatmap_png}`}
            alt={`saliency heat map for ${e.label}`}
          />
          <figcaption className="muted small">
            Where the input pushed the model towards “{e.label}”.
          </figcaption>
        </figure>
      )}
      {e.tokens && (
        <p className="tokens">
          {e.tokens
            .map((t, i) => ({ ...t, at: i }))
            .map((t) => (
              <span
                key={t.at}
                className={`heat-${Math.round((Math.abs(t.score) / maxScore) * 4)}`}
                title={t.score.toFixed(3)}
              >
                {t.token}{' '}
              </span>
            ))}
        </p>
      )}
      {e.features && (
        <ul className="bars">
          {e.features.map((f) => (
            <li key={f.feature}>
              <span className="bar-label">{f.feature}</span>
              <meter
                min={0}
                max={maxScore}
                value={Math.abs(f.score)}
                aria-label={`importance of ${f.feature}`}
              />
              <span className="mono small">{f.score.toFixed(3)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
