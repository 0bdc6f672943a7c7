/** Image generation: prompt, count, size and seed → a grid of PNGs, each downloadable. */
import { type FormEvent, useState } from 'react';
import { useSession } from '../context';
import { ErrorNote } from '../ui';
import { NumberField } from './chat';
import type { PlaygroundProps } from './registry';

export function ImagePlayground({ model }: PlaygroundProps) {
  const { client } = useSession().session;
  const [prompt, setPrompt] = useState('a neon spiral');
  const [n, setN] = useState(4);
  const [size, setSize] = useState(96);
  const [seed, setSeed] = useState(1);
  const [images, setImages] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const generate = async (e?: FormEvent) => {
    e?.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setImages(await client.imagine(model, { prompt, n, width: size, height: size, seed }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <form onSubmit={generate} aria-label="Generate images">
        <label>
          Prompt <input value={prompt} onChange={(e) => setPrompt(e.target.value)} />
        </label>
        <div className="row">
          <NumberField label="Images" value={n} min={1} max={8} step={1} onChange={setN} />
          <NumberField label="Size (px)" value={size} min={16} max={512} step={16} onChange={setSize} />
          <label>
            Seed (slide to explore)
            <input
              type="range"
              min={0}
              max={100}
              value={seed}
              onChange={(e) => setSeed(Number(e.target.value))}
              onMouseUp={() => generate()}
              onKeyUp={() => generate()}
            />
            <span className="mono">{seed}</span>
          </label>
          <button type="submit" disabled={busy}>
            {busy ? 'Generating…' : 'Generate'}
          </button>
        </div>
      </form>
      <ErrorNote error={error} />
      <div className="image-grid" data-testid="image-grid">
        {images
          .map((b64, i) => ({ b64, n: i + 1 }))
          .map(({ b64, n: i }) => (
            <figure key={`${seed}-${i}`}>
              <img
                src={`data:image/png;base64,${b64}`}
                alt={`generated ${i}: ${prompt}`}
                width={size}
                height={size}
              />
              <figcaption>
                <a href={`data:image/png;base64,${b64}`} download={`${model}-${seed}-${i}.png`}>
                  Download
                </a>
              </figcaption>
            </figure>
          ))}
      </div>
    </div>
  );
}
