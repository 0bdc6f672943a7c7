/**
 * Speech: the server's built-in speech models (`tts`, `espeak-ng`, …; they are not in the model
 * registry, so they have their own page): text, a voice of the model's engine, the speed, and the
 * WAV in an audio player.
 */
import { type FormEvent, useEffect, useState } from 'react';
import type { SpeechCatalog } from '../../../src/sdk/console';
import { useSession } from '../context';
import { useLoad } from '../hooks';
import { href } from '../router';
import { ErrorNote, Loading } from '../ui';

/** The speed range the server takes (`src/models/tts/speech.ts`). */
const SPEED = { min: 0.25, max: 4 };

export function SpeechModels({ catalog }: { catalog: SpeechCatalog }) {
  const installed = catalog.engines.filter((e) => e.available).map((e) => e.name);
  return (
    <table className="list">
      <thead>
        <tr>
          <th>Model</th>
          <th>What it does</th>
        </tr>
      </thead>
      <tbody>
        {catalog.models.map((m) => (
          <tr key={m.id}>
            <td>
              <a href={href('speech', m.id)}>{m.id}</a>
            </td>
            <td>
              {m.description}
              {m.engine && !installed.includes(m.engine) && <span className="tag warn">not installed</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Speech({ model }: { model: string }) {
  const { client } = useSession().session;
  const catalog = useLoad(() => client.speechVoices(), [client]);
  if (catalog.error) return <ErrorNote error={catalog.error} />;
  if (!catalog.data) return <Loading what="voices" />;
  return <SpeechForm model={model} catalog={catalog.data} />;
}

function SpeechForm({ model, catalog }: { model: string; catalog: SpeechCatalog }) {
  const { client } = useSession().session;
  const row = catalog.models.find((m) => m.id === model);
  const engine = row?.engine ?? catalog.engines.find((e) => e.available)?.name;
  const voices = catalog.voices.filter((v) => v.engine === engine);
  const [input, setInput] = useState('Hello from maas. This voice was made on your own server.');
  const [voice, setVoice] = useState('');
  const [speed, setSpeed] = useState(1);
  const [audio, setAudio] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  // The blob: URL holds the WAV in memory until it is revoked.
  useEffect(
    () => () => {
      if (audio) URL.revokeObjectURL(audio);
    },
    [audio],
  );
  const speak = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const wav = await client.speak(model, { input, speed, ...(voice ? { voice } : {}) });
      setAudio(URL.createObjectURL(wav));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h1>
        {model} <span className="tag">speech</span>
      </h1>
      <p className="muted">
        {row?.description ?? 'Text to speech'} · engine {engine ?? 'none installed'}
      </p>
      <div className="card grid2">
        <form onSubmit={speak} aria-label="Speak">
          <label>
            Text
            <textarea rows={4} value={input} onChange={(e) => setInput(e.target.value)} required />
          </label>
          <div className="row">
            <label>
              Voice
              <select value={voice} onChange={(e) => setVoice(e.target.value)}>
                <option value="">engine default</option>
                {voices.map((v) => (
                  <option key={v.id} value={v.id}>
                    {v.name} ({v.id})
                  </option>
                ))}
              </select>
            </label>
            <label>
              <span>
                Speed <output className="mono">{speed.toFixed(2)}×</output>
              </span>
              <input
                type="range"
                aria-label="Speed"
                min={SPEED.min}
                max={SPEED.max}
                step={0.05}
                value={speed}
                onChange={(e) => setSpeed(Number(e.target.value))}
              />
            </label>
          </div>
          <button type="submit" disabled={busy}>
            {busy ? 'Speaking…' : 'Speak'}
          </button>
          <ErrorNote error={error} />
        </form>
        <div>
          <h3>Audio</h3>
          {audio ? (
            <>
              {/* biome-ignore lint/a11y/useMediaCaption: synthesized speech of the text shown beside it */}
              <audio controls src={audio} data-testid="speech-audio" />
              <p>
                <a href={audio} download={`${model}.wav`}>
                  Download WAV
                </a>
              </p>
            </>
          ) : (
            <p className="muted">Press Speak to hear the text.</p>
          )}
        </div>
      </div>
    </section>
  );
}
