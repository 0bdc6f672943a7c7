/** Your models and the public ones, then the zoo with its training progress, then the speech models. */
import type { ZooModel } from '../../../src/sdk/client';
import { useSession } from '../context';
import { useLoad, useReloadWhile } from '../hooks';
import { href } from '../router';
import { ErrorNote, Loading, Progress } from '../ui';
import { SpeechModels } from './speech';

export function Catalog() {
  const { client, me } = useSession().session;
  const models = useLoad(() => client.listModels('all'), [client]);
  const zoo = useLoad(() => client.zoo(), [client]);
  const speech = useLoad(() => client.speechVoices(), [client]);
  // On first start the zoo trains in the background: its rows move without a reload.
  useReloadWhile(zooBusy(zoo.data?.models), zoo.reload, ZOO_REFRESH_MS);
  return (
    <section>
      <h1>Models</h1>
      <ErrorNote error={models.error} />
      {models.loading && !models.data && <Loading what="models" />}
      {models.data && models.data.length === 0 && (
        <p className="muted">No models yet. Upload one, or train one.</p>
      )}
      {models.data && models.data.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th>Model</th>
              <th>Kind</th>
              <th>Owner</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {models.data.map((m) => (
              <tr key={m.id}>
                <td>
                  <a href={href('models', m.id)}>{m.id}</a>
                  {m.public && <span className="tag">public</span>}
                </td>
                <td>{m.task ?? '—'}</td>
                <td>{m.owner === me.tenant ? 'you' : m.owner}</td>
                <td>{new Date(m.updatedAt).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Zoo</h2>
      <ErrorNote error={zoo.error} />
      {zoo.data && <ZooTable rows={zoo.data.models} />}
      <h2>Speech</h2>
      <ErrorNote error={speech.error} />
      {speech.data && <SpeechModels catalog={speech.data} />}
    </section>
  );
}

const ZOO_REFRESH_MS = 2000;

/** Some zoo model is still queued or training (its row will change). */
export function zooBusy(rows: readonly Pick<ZooModel, 'state'>[] | undefined): boolean {
  return (rows ?? []).some((z) => z.state === 'training' || z.state === 'queued');
}

function ZooTable({ rows }: { rows: ZooModel[] }) {
  return (
    <table className="list">
      <thead>
        <tr>
          <th>Model</th>
          <th>Kind</th>
          <th>State</th>
          <th>Quality</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((z) => (
          <tr key={z.name}>
            <td>
              {z.state === 'ready' ? <a href={href('models', z.model)}>{z.model}</a> : z.model}
              <div className="muted small">{z.description}</div>
            </td>
            <td>{z.task}</td>
            <td>
              {z.state}
              {z.state === 'training' && z.progress?.steps ? (
                <Progress value={(z.progress.step ?? 0) / z.progress.steps} label={`${z.name} training`} />
              ) : null}
              {z.unavailable && <div className="muted small">{z.unavailable}</div>}
            </td>
            <td>
              {z.quality ? `${z.quality.metric} ${z.quality.value.toFixed(3)}` : '—'}
              {z.meetsTarget === false && <span className="tag warn">below target</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
