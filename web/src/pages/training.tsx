/** Trainings: the list, and a form to start one from a family and a dataset (fields from the API). */
import { type FormEvent, useState } from 'react';
import type { Family } from '../../../src/sdk/console';
import { useSession } from '../context';
import { useLoad } from '../hooks';
import {
  defaultText,
  HyperparameterField,
  hyperparameterProblem,
  parseHyperparameter,
} from '../hyperparameter-field';
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
  // Fields the user has not touched show (and send) the family's default.
  const hpText = (k: string): string => hp[k] ?? (f ? defaultText(f.hyperparameters[k]) : '');
  const problems = f
    ? Object.entries(f.hyperparameters).flatMap(
        ([k, rule]) => hyperparameterProblem(k, rule, hpText(k)) ?? [],
      )
    : [];
  const usable = datasets.data.filter((d) => !f || f.dataset_kinds.includes(d.kind));
  const ds = usable.find((d) => d.name === dataset) ?? usable[0];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!f || !ds || problems.length) return;
    setError(undefined);
    try {
      const hyperparameters: Record<string, unknown> = {};
      for (const [k, rule] of Object.entries(f.hyperparameters))
        if (hpText(k).trim() !== '') hyperparameters[k] = parseHyperparameter(rule, hpText(k).trim());
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
              <HyperparameterField
                key={`${f.name}-${k}`}
                name={k}
                rule={rule}
                text={hpText(k)}
                onChange={(text) => setHp({ ...hp, [k]: text })}
              />
            ))}
        </div>
      </details>
      {problems.length > 0 && (
        <p className="field-error" role="alert">
          Fix {problems.length === 1 ? 'this hyperparameter' : `these ${problems.length} hyperparameters`}{' '}
          first: {problems.join('; ')}.
        </p>
      )}
      <button type="submit" disabled={!f || !ds || problems.length > 0}>
        Start training
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
