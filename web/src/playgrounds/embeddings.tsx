/**
 * Embeddings: a word list → one vector each (`/api/v1/models/NAME/embed`), each word's nearest
 * neighbours by cosine similarity, and the words on a 2-D PCA projection (computed here).
 */
import { type FormEvent, useMemo, useState } from 'react';
import type { Embeddings } from '../../../src/sdk/console';
import { useSession } from '../context';
import { ScatterChart } from '../scatter';
import { ErrorNote } from '../ui';
import type { PlaygroundProps } from './registry';
import { type Neighbour, nearestNeighbours, parseWords, pca2 } from './vectors';

const NEIGHBOURS = 3;

export function EmbeddingsPlayground({ model }: PlaygroundProps) {
  const { client } = useSession().session;
  const [text, setText] = useState('king, queen, man, woman, apple, banana, cherry, car, truck, bicycle');
  const [result, setResult] = useState<{ words: string[]; out: Embeddings } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const words = parseWords(text);
    setBusy(true);
    setError(undefined);
    try {
      setResult({ words, out: await client.embed(model, words) });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <form onSubmit={submit} aria-label="Embeddings">
        <label>
          Words (comma or line separated)
          <textarea rows={3} value={text} onChange={(e) => setText(e.target.value)} required />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Embedding…' : 'Embed'}
        </button>
        <ErrorNote error={error} />
      </form>
      {result && <EmbeddingView words={result.words} vectors={result.out.embeddings} />}
    </div>
  );
}

export function NeighbourTable({ words, near }: { words: string[]; near: Neighbour[][] }) {
  return (
    <>
      <h3>Nearest neighbours</h3>
      <table className="list" data-testid="neighbours">
        <thead>
          <tr>
            <th>Word</th>
            <th>Closest (cosine similarity)</th>
          </tr>
        </thead>
        <tbody>
          {words.map((w, i) => (
            <tr key={w}>
              <td>{w}</td>
              <td>{near[i].map((n) => `${words[n.index]} ${n.similarity.toFixed(2)}`).join(' · ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function EmbeddingView({ words, vectors }: { words: string[]; vectors: number[][] }) {
  const near = useMemo(() => nearestNeighbours(vectors, NEIGHBOURS), [vectors]);
  const projection = useMemo(() => pca2(vectors), [vectors]);
  const points = useMemo(
    () => projection.points.map(([x, y], i) => ({ x, y, label: words[i] })),
    [projection, words],
  );
  const share = (f: number) => `${Math.round(f * 100)}%`;
  return (
    <div className="grid2">
      <div>
        <h3>Nearest neighbours</h3>
        <table className="list" data-testid="neighbours">
          <thead>
            <tr>
              <th>Word</th>
              <th>Closest (cosine similarity)</th>
            </tr>
          </thead>
          <tbody>
            {words.map((w, i) => (
              <tr key={w}>
                <td>{w}</td>
                <td>{near[i].map((n) => `${words[n.index]} ${n.similarity.toFixed(2)}`).join(' · ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted small">{vectors[0]?.length ?? 0} dimensions per word.</p>
      </div>
      <div>
        <ScatterChart title="2-D projection (PCA)" points={points} />
        <p className="muted small">
          The two principal components explain {share(projection.explained[0])} and{' '}
          {share(projection.explained[1])} of the variance.
        </p>
      </div>
    </div>
  );
}
