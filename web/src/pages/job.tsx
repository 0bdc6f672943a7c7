/**
 * One training: status, live loss and metric charts over SSE (resumed after a reconnect by the
 * SDK with Last-Event-ID: no point lost or drawn twice), the checkpoints, the other events,
 * cancel, and the resulting model version once it succeeded.
 */
import { useEffect, useMemo, useState } from 'react';
import type { Training, TrainingEvent } from '../../../src/sdk/training';
import { LineChart } from '../chart';
import { useSession } from '../context';
import { href } from '../router';
import { allows } from '../session';
import { ErrorNote, Loading, Progress } from '../ui';

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Events → chart columns: steps, training loss, validation loss at epoch ends. */
export function lossColumns(events: TrainingEvent[]): (number | null)[][] {
  const xs: number[] = [];
  const loss: (number | null)[] = [];
  const validation: (number | null)[] = [];
  for (const e of events) {
    const step = Number(e.data.step);
    if (!Number.isFinite(step)) continue;
    if (e.event === 'progress' && typeof e.data.loss === 'number') {
      xs.push(step);
      loss.push(e.data.loss);
      validation.push(null);
    } else if (e.event === 'epoch') {
      const v = (e.data.validation as { loss?: number } | undefined)?.loss;
      if (typeof v !== 'number') continue;
      xs.push(step);
      loss.push(null);
      validation.push(v);
    }
  }
  return [xs, loss, validation];
}

/** Progress fields that are bookkeeping, not a metric of the model. */
const NOT_METRICS = new Set([
  'step',
  'totalSteps',
  'epoch',
  'epochs',
  'loss',
  'stepsPerSecond',
  'samplesPerSecond',
  'etaSeconds',
]);

/**
 * Events → metric chart columns: [steps, then one column per metric], where metrics are the
 * numbers a progress event carries besides the loss (`training accuracy`, …) and those of an
 * epoch's validation besides its loss (`validation accuracy`, `validation rmse`).
 */
export function metricColumns(events: TrainingEvent[]): { names: string[]; columns: (number | null)[][] } {
  const points: { step: number; values: Record<string, number> }[] = [];
  const names: string[] = [];
  const add = (name: string) => {
    if (!names.includes(name)) names.push(name);
  };
  for (const e of events) {
    const step = Number(e.data.step);
    if (!Number.isFinite(step)) continue;
    const values: Record<string, number> = {};
    if (e.event === 'progress') {
      for (const [k, v] of Object.entries(e.data))
        if (!NOT_METRICS.has(k) && typeof v === 'number') values[`training ${k}`] = v;
    } else if (e.event === 'epoch') {
      const validation = (e.data.validation ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(validation))
        if (k !== 'loss' && typeof v === 'number') values[`validation ${k}`] = v;
    }
    if (Object.keys(values).length === 0) continue;
    for (const k of Object.keys(values)) add(k);
    points.push({ step, values });
  }
  return {
    names,
    columns: [points.map((p) => p.step), ...names.map((n) => points.map((p) => p.values[n] ?? null))],
  };
}

const COLOURS = ['#2f5bd3', '#d36b2f', '#2f9e5b', '#9b3fd3'];

export function Job({ id }: { id: string }) {
  const { client, me } = useSession().session;
  const [job, setJob] = useState<Training | null>(null);
  const [events, setEvents] = useState<TrainingEvent[]>([]);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    const abort = new AbortController();
    setEvents([]);
    client.getTraining(id).then(setJob, setError);
    (async () => {
      try {
        for await (const e of client.events(id, 0, abort.signal)) {
          setEvents((old) => [...old, e]);
          if (e.event === 'status') {
            const status = String(e.data.status);
            setJob((j) => (j ? { ...j, status: status as Training['status'] } : j));
            if (TERMINAL.includes(status)) client.getTraining(id).then(setJob, setError);
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) setError(err);
      }
    })();
    return () => abort.abort();
  }, [client, id]);

  const columns = useMemo(() => lossColumns(events), [events]);
  const metrics = useMemo(() => metricColumns(events), [events]);
  const checkpoints = events.filter((e) => e.event === 'checkpoint');
  const last = [...events].reverse().find((e) => e.event === 'progress');
  if (!job) return error ? <ErrorNote error={error} /> : <Loading what="training" />;
  return (
    <section>
      <h1>
        Training {job.model} <span className={`tag status-${job.status}`}>{job.status}</span>
      </h1>
      <p className="muted">
        {job.family} on {job.dataset} · job {job.id}
      </p>
      {last && (
        <Progress
          value={Number(last.data.step) / Number(last.data.totalSteps || 1)}
          label="training progress"
        />
      )}
      {!TERMINAL.includes(job.status) && allows(me, 'manage') && (
        <button type="button" onClick={() => client.cancelTraining(id).then(setJob, setError)}>
          Cancel training
        </button>
      )}
      {job.result && (
        <p>
          Result:{' '}
          <a href={href('models', job.result.model)}>
            {job.result.model} version {job.result.version}
          </a>
        </p>
      )}
      {job.error && <p className="error">{job.error}</p>}
      <ErrorNote error={error} />
      <div className="card">
        <LineChart
          title="Loss"
          x="step"
          series={[
            { label: 'training loss', colour: '#2f5bd3' },
            { label: 'validation loss', colour: '#d36b2f' },
          ]}
          data={columns}
        />
      </div>
      {metrics.names.length > 0 && (
        <div className="card">
          {/* Built once its series are known: a chart's series are fixed when it is made. */}
          <LineChart
            key={metrics.names.join('|')}
            title="Metrics"
            x="step"
            series={metrics.names.map((label, i) => ({ label, colour: COLOURS[i % COLOURS.length] }))}
            data={metrics.columns}
          />
        </div>
      )}
      <h2>Checkpoints</h2>
      {checkpoints.length === 0 ? (
        <p className="muted">None yet: one is written at each epoch end.</p>
      ) : (
        <table className="list small" data-testid="checkpoints">
          <thead>
            <tr>
              <th>Step</th>
              <th>Saved</th>
            </tr>
          </thead>
          <tbody>
            {checkpoints.map((e) => (
              <tr key={e.id}>
                <td>{String(e.data.step)}</td>
                <td className="mono">
                  {typeof e.data.digest === 'string' ? `${e.data.digest.slice(0, 19)}…` : 'in the job folder'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Events</h2>
      <ol className="events mono small" data-testid="events">
        {events
          .filter((e) => e.event !== 'progress' && e.event !== 'checkpoint')
          .map((e) => (
            <li key={e.id}>
              {e.event}: {JSON.stringify(e.data).slice(0, 200)}
            </li>
          ))}
      </ol>
    </section>
  );
}
