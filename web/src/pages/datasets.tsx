/**
 * Datasets: yours and the built-in ones; upload one (drop or pick a file, with a progress bar);
 * a dataset's page shows what the server read from it (schema, class balance, first rows) and
 * starts a training on it.
 */
import { type FormEvent, useState } from 'react';
import type { DatasetDetail } from '../../../src/sdk/training';
import { useSession } from '../context';
import { useLoad } from '../hooks';
import { go, href } from '../router';
import { allows } from '../session';
import { ErrorNote, FileDrop, Loading, Progress } from '../ui';
import { formatBytes } from './model';

export function Datasets() {
  const { client, me } = useSession().session;
  const list = useLoad(() => client.listDatasets(), [client]);
  return (
    <section>
      <h1>Datasets</h1>
      {allows(me, 'manage') && <DatasetUpload />}
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading what="datasets" />}
      {list.data && (
        <table className="list">
          <thead>
            <tr>
              <th>Dataset</th>
              <th>Kind</th>
              <th>Format</th>
              <th>Rows</th>
              <th>Size</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((d) => (
              <tr key={d.name}>
                <td>
                  <a href={href('datasets', d.name)}>{d.name}</a>
                  {d.builtin && <span className="tag">built-in</span>}
                </td>
                <td>{d.kind}</td>
                <td>{d.format}</td>
                <td>{d.rows ?? '—'}</td>
                <td>{d.sizeBytes === null ? '—' : formatBytes(d.sizeBytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** A file name → a dataset name the server accepts (`iris.csv` → `iris`). */
export function datasetNameOf(file: string): string {
  return file
    .replace(/(\.(csv|tsv|jsonl|json|txt|gz|tgz|tar|zip))+$/i, '')
    .replace(/[^a-zA-Z0-9_.-]/g, '-')
    .replace(/^[^a-zA-Z0-9]+/, '');
}

function DatasetUpload() {
  const { client } = useSession().session;
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>();
  const pick = (f: File) => {
    setFile(f);
    if (!name) setName(datasetNameOf(f.name));
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setError(undefined);
    setProgress(0);
    try {
      const d = await client.uploadDataset(name, file, setProgress);
      go('datasets', d.name);
    } catch (err) {
      setError(err);
      setProgress(null);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Upload a dataset">
      <h2>Upload a dataset</h2>
      <FileDrop
        file={file}
        onPick={pick}
        prompt="Drop a CSV, TSV, JSONL or text file, or a zip/tar.gz of one folder per label, or choose one"
        describe={(f) => `${f.name} (${formatBytes(f.size)})`}
        inputLabel="Dataset file"
      />
      <div className="row">
        <label>
          Dataset name{' '}
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
          />
        </label>
        <button type="submit" disabled={!file || progress !== null}>
          Upload dataset
        </button>
      </div>
      {progress !== null && <Progress value={progress} label="dataset upload" />}
      <ErrorNote error={error} />
    </form>
  );
}

export function DatasetPage({ name }: { name: string }) {
  const { client, me } = useSession().session;
  const d = useLoad(() => client.getDataset(name), [client, name]);
  if (d.error) return <ErrorNote error={d.error} />;
  if (!d.data) return <Loading what={name} />;
  const ds = d.data;
  return (
    <section>
      <h1>
        {ds.name} <span className="tag">{ds.kind}</span>
        {ds.builtin && <span className="tag">built-in</span>}
      </h1>
      <p className="muted">
        {typeof ds.description === 'string' ? `${ds.description} · ` : ''}
        {ds.format} · {ds.rows ?? '?'} rows
        {ds.sizeBytes !== null ? ` · ${formatBytes(ds.sizeBytes)}` : ''}
      </p>
      {allows(me, 'manage') && (
        <p>
          <a href={href('training', 'dataset', ds.name)}>Train a model on {ds.name} →</a>
        </p>
      )}
      <div className="grid2">
        <div className="card">
          <h2>Schema</h2>
          <SchemaTable d={ds} />
        </div>
        <div className="card">
          <h2>Class balance</h2>
          <ClassBalance balance={ds.classBalance} />
        </div>
      </div>
      <div className="card">
        <h2>First rows</h2>
        <Preview d={ds} />
      </div>
    </section>
  );
}

function SchemaTable({ d }: { d: DatasetDetail }) {
  if (!d.schema?.length)
    return <p className="muted">No columns (a text corpus, or a built-in read at training).</p>;
  return (
    <table className="list" data-testid="schema">
      <thead>
        <tr>
          <th>Column</th>
          <th>Kind</th>
          <th>Missing</th>
          <th>Distinct</th>
          <th>Summary</th>
        </tr>
      </thead>
      <tbody>
        {d.schema.map((c) => (
          <tr key={c.name}>
            <td>
              {c.name}
              {c.target && <span className="tag">target</span>}
            </td>
            <td>{c.kind}</td>
            <td>{c.missing}</td>
            <td>
              {c.distinct}
              {c.distinctCapped ? '+' : ''}
            </td>
            <td className="small">{columnSummary(c)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function columnSummary(c: NonNullable<DatasetDetail['schema']>[number]): string {
  if (c.numeric) {
    const n = c.numeric;
    return `${fmt(n.min)} … ${fmt(n.max)}, mean ${fmt(n.mean)} ± ${fmt(n.std)}`;
  }
  if (c.image) return `${c.image.width}×${c.image.height}×${c.image.channels}`;
  if (c.top?.length)
    return c.top
      .slice(0, 3)
      .map((t) => `${t.value} (${t.count})`)
      .join(', ');
  if (c.meanLength !== undefined) return `mean length ${Math.round(c.meanLength)} characters`;
  return '';
}

const fmt = (x: number) =>
  Math.abs(x) >= 1000 || Number.isInteger(x) ? String(Math.round(x)) : x.toPrecision(3);

function ClassBalance({ balance }: { balance: Record<string, number> | undefined }) {
  if (!balance)
    return <p className="muted">No class target (a regression target, or no column named label).</p>;
  const rows = Object.entries(balance);
  const total = rows.reduce((s, [, n]) => s + n, 0);
  const most = Math.max(...rows.map(([, n]) => n));
  return (
    <ul className="bars" data-testid="class-balance">
      {rows.map(([label, n]) => (
        <li key={label}>
          <span className="bar-label">{label}</span>
          <meter min={0} max={most} value={n} aria-label={`rows of class ${label}`} />
          <span className="mono small">
            {n} ({Math.round((n / total) * 100)}%)
          </span>
        </li>
      ))}
    </ul>
  );
}

function Preview({ d }: { d: DatasetDetail }) {
  const rows = d.preview ?? [];
  if (!rows.length) return <p className="muted">No preview.</p>;
  const columns = Object.keys(rows[0]);
  return (
    <div className="scroll-x">
      <table className="list small" data-testid="preview">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: preview rows have no id and never reorder
            <tr key={i}>
              {columns.map((c) => (
                <td key={c}>{cell(r[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function cell(v: string | number | null | { image: string } | undefined) {
  if (v === null || v === undefined) return <span className="muted">—</span>;
  if (typeof v === 'object') return <span className="muted">image {v.image}</span>;
  const s = String(v);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
