/**
 * One training: status, live loss (and validation) chart over SSE (resumed after a reconnect by
 * the SDK with Last-Event-ID), the events, cancel, and the resulting model once it succeeded.
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
          Result: <a href={href('models', job.result.model)}>{job.result.model}</a> version{' '}
          {job.result.version}
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
      <h2>Events</h2>
      <ol className="events mono small" data-testid="events">
        {events
          .filter((e) => e.event !== 'progress')
          .map((e) => (
            <li key={e.id}>
              {e.event}: {JSON.stringify(e.data).slice(0, 200)}
            </li>
          ))}
      </ol>
    </section>
  );
}
