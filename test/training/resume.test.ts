/**
 * The real thing: `maas serve` as a child process on a real socket, a trainer child under it,
 * SIGKILL of the server mid-job, a restart on the same data folder → the job resumes from its
 * checkpoint and finishes once, with one model version. The SSE stream, reconnected with
 * Last-Event-ID across the crash, loses no event and repeats none.
 */
import { afterAll, expect, it } from 'vitest';
import { spawnServe } from '../helpers/serve';
import { readEvents } from '../helpers/sse';
import { tempDir } from '../helpers/tmp';
import { lineCsv } from './helpers';

const KEY = 'resume-admin-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };

const startServer = (dataDir: string) =>
  spawnServe({
    dataDir,
    adminKey: KEY,
    env: { MAAS_TRAIN_LEASE_MS: '1500', MAAS_TRAIN_THREADS: '1' },
  });

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

it('kill -9 mid-job, restart: resumes from the checkpoint, one version, SSE loses no event', async () => {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  let server = await startServer(tmp.dir);
  cleanups.push(async () => {
    server.child.kill('SIGKILL');
  });
  const up = await fetch(`${server.url}/api/v1/datasets?name=line`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body: lineCsv(2000),
  });
  expect(up.status).toBe(201);
  const created = await fetch(`${server.url}/api/v1/trainings`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      family: 'mlp',
      dataset: 'line',
      model: 'line',
      hyperparameters: { epochs: 6, batch_size: 8, checkpoint_every: 40, hidden: [32] },
    }),
  });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const eventsUrl = (u: string) => `${u}/api/v1/trainings/${id}/events`;

  // Follow the stream until a checkpoint past step 100, then crash the whole server.
  const before = await readEvents(
    eventsUrl(server.url),
    auth,
    null,
    (e) => e.event === 'checkpoint' && Number(e.data.step) >= 100,
  );
  const seen = before.at(-1)!;
  server.child.kill('SIGKILL');
  await new Promise((r) => server.child.once('exit', r));

  server = await startServer(tmp.dir);
  const after = await readEvents(eventsUrl(server.url), auth, seen.id, () => false);
  const all = [...before, ...after];
  // Every event exactly once, in order: ids 1..N without a gap or a repeat.
  expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
  const resumed = after.find((e) => e.event === 'resumed');
  expect(resumed, JSON.stringify(after.map((e) => e.event))).toBeDefined();
  expect(Number(resumed!.data.step)).toBeGreaterThanOrEqual(Number(seen.data.step));
  expect(all.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded' } });

  const job = (await (await fetch(`${server.url}/api/v1/trainings/${id}`, { headers: auth })).json()) as {
    status: string;
    attempts: number;
    result: { version: number; metrics: { accuracy: number } };
  };
  expect(job).toMatchObject({ status: 'succeeded', attempts: 2 });
  expect(job.result.metrics.accuracy).toBeGreaterThan(0.9);
  const versions = (await (
    await fetch(`${server.url}/api/v1/models/line/versions`, { headers: auth })
  ).json()) as {
    versions: { version: number; metadata: { lineage: { job: string; resumedFrom: number } } }[];
  };
  expect(versions.versions).toHaveLength(1);
  expect(versions.versions[0].metadata.lineage).toMatchObject({ job: id });
  expect(versions.versions[0].metadata.lineage.resumedFrom).toBeGreaterThan(0);
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
}, 120_000);
