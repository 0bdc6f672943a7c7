/**
 * CPPN explorer: sliders for every request-time parameter of a `cppn` model (seed, palette, zoom,
 * latent scale, size); each move redraws the art. One request at a time, the latest settings
 * win: a drag that outpaces the server skips the positions in between instead of queueing them.
 */
import { useEffect, useRef, useState } from 'react';
import { useSession } from '../context';
import { ErrorNote } from '../ui';
import {
  CPPN_PALETTES,
  type CppnParams,
  cppnRequest,
  DEFAULT_CPPN,
  LATENT_SCALE,
  ZOOM,
  zoomOf,
} from './cppn-params';
import type { PlaygroundProps } from './registry';

export function CppnExplorer({ model }: PlaygroundProps) {
  const { client } = useSession().session;
  const [p, setP] = useState<CppnParams>(DEFAULT_CPPN);
  const [image, setImage] = useState<{ png: string; drawn: CppnParams } | null>(null);
  const [renders, setRenders] = useState(0);
  const [error, setError] = useState<unknown>();
  const wanted = useRef(p);
  const running = useRef(false);

  useEffect(() => {
    wanted.current = p;
    if (running.current) return;
    running.current = true;
    (async () => {
      try {
        for (let drawing = wanted.current; ; drawing = wanted.current) {
          const [png] = await client.imagine(model, cppnRequest(drawing));
          setImage({ png, drawn: drawing });
          setRenders((r) => r + 1);
          setError(undefined);
          if (wanted.current === drawing) break;
        }
      } catch (err) {
        setError(err);
      } finally {
        running.current = false;
      }
    })();
  }, [p, client, model]);

  const set = <K extends keyof CppnParams>(k: K, v: CppnParams[K]) => setP((old) => ({ ...old, [k]: v }));
  const zoomLog = { min: Math.log10(ZOOM.min), max: Math.log10(ZOOM.max) };
  return (
    <div className="grid2">
      <form aria-label="CPPN parameters" onSubmit={(e) => e.preventDefault()}>
        <Slider
          label="Seed"
          value={p.seed}
          min={0}
          max={1000}
          step={1}
          shown={String(p.seed)}
          onChange={(v) => set('seed', v)}
        />
        <Slider
          label="Zoom"
          value={p.zoomLog}
          min={zoomLog.min}
          max={zoomLog.max}
          step={0.01}
          shown={`${zoomOf(p.zoomLog)}×`}
          onChange={(v) => set('zoomLog', v)}
        />
        <Slider
          label="Latent scale"
          value={p.latentScale}
          min={LATENT_SCALE.min}
          max={LATENT_SCALE.max}
          step={0.05}
          shown={p.latentScale.toFixed(2)}
          onChange={(v) => set('latentScale', v)}
        />
        <Slider
          label="Size (px)"
          value={p.size}
          min={32}
          max={384}
          step={16}
          shown={`${p.size}`}
          onChange={(v) => set('size', v)}
        />
        <label>
          Palette
          <select value={p.palette} onChange={(e) => set('palette', e.target.value)}>
            {CPPN_PALETTES.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setP(DEFAULT_CPPN)}>
          Reset
        </button>
        <ErrorNote error={error} />
      </form>
      <figure className="cppn-art" data-testid="cppn-art" data-renders={renders}>
        {image && (
          <>
            <img
              src={`data:image/png;base64,${image.png}`}
              alt={`CPPN art, seed ${image.drawn.seed}, zoom ${zoomOf(image.drawn.zoomLog)}, ${image.drawn.palette}`}
              width={image.drawn.size}
              height={image.drawn.size}
            />
            <figcaption>
              <a href={`data:image/png;base64,${image.png}`} download={`${model}-${image.drawn.seed}.png`}>
                Download
              </a>
            </figcaption>
          </>
        )}
      </figure>
    </div>
  );
}

function Slider(props: {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  shown: string;
  onChange: (v: number) => void;
}) {
  return (
    <label>
      <span>
        {props.label} <output className="mono">{props.shown}</output>
      </span>
      <input
        type="range"
        aria-label={props.label}
        value={props.value}
        min={props.min}
        max={props.max}
        step={props.step}
        onChange={(e) => props.onChange(Number(e.target.value))}
      />
    </label>
  );
}
