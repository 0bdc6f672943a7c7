/** Trainings: the list, and a form to start one from a family and a dataset (fields from the API). */
import { type FormEvent, useState } from 'react';
import type { Family, HyperparameterRule } from '../../../src/sdk/console';
import { useSession } from '../context';
import { useLoad } from '../hooks';
import { go, href } from '../router';
import { allows } from '../session';
import { ErrorNote, Loading } from '../ui';

/** `dataset`: chosen in the form already (from a dataset's page, `#/training/dataset/NAME`). */
export function Training({ dataset }: { dataset?: string }) {
  const { client, me } = useSession().session;
  const jobs = useLoad(() => client.listTrainings(), [client]);
  return (
    <section>
      <h1>Training</h1>
      {allows(me, 'manage') && <NewTraining preset={dataset} />}
      <h2>Jobs</h2>
      <ErrorNote error={jobs.error} />
      {jobs.loading && !jobs.data && <Loading what="trainings" />}
      {jobs.data && (
        <table className="list">
          <thead>
            <tr>
              <th>Job</th>
              <th>Model</th>
              <th>Family</th>
              <th>Dataset</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data.map((j) => (
              <tr key={j.id}>
                <td>
                  <a href={href('trainings', j.id)}>{j.id.slice(0, 12)}</a>
                </td>
                <td>{j.model}</td>
                <td>{j.family}</td>
                <td>{j.dataset}</td>
                <td>{j.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const shown = (v: unknown) => (Array.isArray(v) ? v.join(', ') : String(v));

export function parseHyperparameter(rule: HyperparameterRule, text: string): unknown {
  if (rule.kind === 'choice') return text;
  if (rule.kind === 'ints')
    return text
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
  return Number(text);
}

function NewTraining({ preset }: { preset?: string }) {
  const { client } = useSession().session;
  const families = useLoad(() => client.families(), [client]);
  const datasets = useLoad(() => client.listDatasets(), [client]);
  const [family, setFamily] = useState('');
  const [dataset, setDataset] = useState(preset ?? '');
  const [model, setModel] = useState('my-model');
  const [target, setTarget] = useState('');
  const [hp, setHp] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>();
  if (families.error || datasets.error) return <ErrorNote error={families.error ?? datasets.error} />;
  if (!families.data || !datasets.data) return <Loading what="families and datasets" />;
  // A dataset chosen first picks the first family that can train on its kind.
  const presetKind = datasets.data.find((d) => d.name === preset)?.kind;
  const f: Family | undefined =
    families.data.find((x) => x.name === family) ??
    families.data.find((x) => presetKind !== undefined && x.dataset_kinds.includes(presetKind)) ??
    families.data[0];
  const usable = datasets.data.filter((d) => !f || f.dataset_kinds.includes(d.kind));
  const ds = usable.find((d) => d.name === dataset) ?? usable[0];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!f || !ds) return;
    setError(undefined);
    try {
      const hyperparameters: Record<string, unknown> = {};
      for (const [k, text] of Object.entries(hp))
        if (text.trim() !== '') hyperparameters[k] = parseHyperparameter(f.hyperparameters[k], text);
      const job = await client.createTraining({
        family: f.name,
        dataset: ds.name,
        model,
        ...(target ? { target } : {}),
        hyperparameters,
      });
      go('trainings', job.id);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Start a training">
      <h2>Start a training</h2>
      <div className="row">
        <label>
          Family
          <select value={f?.name ?? ''} onChange={(e) => setFamily(e.target.value)}>
            {families.data.map((x) => (
              <option key={x.name} value={x.name}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Dataset
          <select value={ds?.name ?? ''} onChange={(e) => setDataset(e.target.value)}>
            {usable.map((d) => (
              <option key={d.name} value={d.name}>
                {d.name} ({d.kind}
                {d.rows ? `, ${d.rows} rows` : ''})
              </option>
            ))}
          </select>
          {ds && (
            <a className="small" href={href('datasets', ds.name)}>
              schema and class balance of {ds.name}
            </a>
          )}
        </label>
        <label>
          Model name <input value={model} onChange={(e) => setModel(e.target.value)} required />
        </label>
        <label>
          Target column{' '}
          <input value={target} onChange={(e) => setTarget(e.target.value)} placeholder="label" />
        </label>
      </div>
      {f && <p className="muted small">{f.description}</p>}
      {ds?.description && <p className="muted small">{String(ds.description)}</p>}
      <details>
        <summary>Hyperparameters</summary>
        <div className="hp-grid">
          {f &&
            Object.entries(f.hyperparameters).map(([k, rule]) => (
              <div key={k} className="hp-field" title={rule.doc}>
                <label htmlFor={`hp-${k}`}>{k}</label>
                {rule.kind === 'choice' ? (
                  <select
                    id={`hp-${k}`}
                    value={hp[k] ?? rule.default}
                    onChange={(e) => setHp({ ...hp, [k]: e.target.value })}
                  >
                    {rule.choices.map((c) => (
                      <option key={c}>{c}</option>
                    ))}
                  </select>
                ) : (
                  <input
                    id={`hp-${k}`}
                    name={k}
                    value={hp[k] ?? ''}
                    placeholder={shown(rule.default)}
                    onChange={(e) => setHp({ ...hp, [k]: e.target.value })}
                  />
                )}
                <span className="muted small">
                  {rule.doc}
                  {'min' in rule ? ` (${rule.min}–${rule.max})` : ''}
                </span>
              </div>
            ))}
        </div>
      </details>
      <button type="submit" disabled={!f || !ds}>
        Start training
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
