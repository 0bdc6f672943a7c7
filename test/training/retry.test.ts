/**
 * The trainer child dies while the server stays up (a real SIGKILL of only the child, as the
 * kernel's OOM killer would): the job is retried from its last checkpoint, with a `retrying`
 * event, up to `trainMaxRetries` times, then fails with the reason. One version at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config';
import { auth, type TestServer, testServer } from '../helpers/server';
import { lineCsv, pollUntil, startTraining, uploadDataset, waitFor } from './helpers';

type Event = { seq: number; type: string; data: Record<string, unknown> };

describe('trainer crash while the server stays up', () => {
  let s: TestServer;
  beforeAll(async () => {
    // A tiny backoff keeps the test fast; retry-backoff.test.ts checks the waits themselves.
    s = await testServer({
      trainLeaseMs: 2000,
      trainMaxRetries: 1,
      trainThreads: 1,
      trainRetryBackoffMs: 40,
    });
    expect((await uploadDataset(s.app, 'line', lineCsv(2000))).statusCode).toBe(201);
  });
  afterAll(async () => {
    await s.close();
  });

  const events = async (id: string): Promise<Event[]> =>
    (await s.app.inject({ url: `/api/v1/trainings/${id}/events`, headers: auth })).json().events;

  /** Kill the job's current trainer (not `previous`) and return its pid. */
  async function killTrainer(id: string, previous: number | null = null): Promise<number> {
    const pid = await pollUntil(() => {
      const p = s.platform.trainings.trainerPid(id);
      return p !== previous ? p : null;
    });
    process.kill(pid, 'SIGKILL');
    return pid;
  }

  it('retries 2 times by default', () => {
    expect(loadConfig({}).trainMaxRetries).toBe(2);
    expect(loadConfig({ MAAS_TRAIN_MAX_RETRIES: '0' }).trainMaxRetries).toBe(0);
  });

  it('SIGKILL of the trainer mid-job: retried from the checkpoint, succeeds with one version', async () => {
    const { id } = (
      await startTraining(s.app, {
        family: 'mlp',
        dataset: 'line',
        model: 'crashy',
        hyperparameters: { epochs: 4, batch_size: 8, checkpoint_every: 40, hidden: [32] },
      })
    ).json();
    const checkpoint = await pollUntil(async () =>
      (await events(id)).find((e) => e.type === 'checkpoint' && Number(e.data.step) >= 80),
    );
    const pid = await killTrainer(id);
    const job = await waitFor(s.app, id);
    expect(job.status, job.error ?? '').toBe('succeeded');
    // The status is recorded before the trainer exits: its slot is released at exit, shortly after.
    await pollUntil(() => (s.platform.trainings.trainerPid(id) === null ? true : null));

    const all = await events(id);
    const retrying = all.filter((e) => e.type === 'retrying');
    expect(retrying).toHaveLength(1);
    expect(retrying[0].data).toMatchObject({ attempt: 1, maxRetries: 1 });
    expect(Number(retrying[0].data.delayMs)).toBeGreaterThanOrEqual(20);
    expect(Number(retrying[0].data.delayMs)).toBeLessThanOrEqual(40);
    expect(String(retrying[0].data.reason)).toMatch(/SIGKILL/);
    expect(Number(retrying[0].data.fromStep)).toBeGreaterThanOrEqual(Number(checkpoint.data.step));
    // The second trainer is another process and starts from the checkpoint, not from step 0.
    const resumed = all.find((e) => e.type === 'resumed' && e.seq > retrying[0].seq);
    expect(Number(resumed?.data.step)).toBeGreaterThanOrEqual(Number(checkpoint.data.step));
    expect(all.filter((e) => e.type === 'status').map((e) => e.data.status)).toEqual([
      'queued',
      'running',
      'running',
      'succeeded',
    ]);
    expect(pid).toBeGreaterThan(0);

    const versions = (await s.app.inject({ url: '/api/v1/models/crashy/versions', headers: auth })).json()
      .versions as { metadata: { lineage: { job: string; resumedFrom: number } } }[];
    expect(versions).toHaveLength(1);
    expect(versions[0].metadata.lineage.job).toBe(id);
    expect(versions[0].metadata.lineage.resumedFrom).toBeGreaterThan(0);
    expect((await s.app.inject({ url: `/api/v1/trainings/${id}`, headers: auth })).json()).toMatchObject({
      attempts: 2,
    });
  }, 90_000);

  it('fails with the reason once the retries run out, and registers nothing', async () => {
    const { id } = (
      await startTraining(s.app, {
        family: 'mlp',
        dataset: 'line',
        model: 'doomed',
        hyperparameters: { epochs: 50, batch_size: 8 },
      })
    ).json();
    const first = await killTrainer(id);
    await killTrainer(id, first);
    const job = await waitFor(s.app, id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/trainer process exited unexpectedly \(SIGKILL\); gave up after 2 attempts/);
    const all = await events(id);
    expect(all.filter((e) => e.type === 'retrying')).toHaveLength(1);
    expect(all.at(-1)).toMatchObject({ type: 'status', data: { status: 'failed' } });
    expect((await s.app.inject({ url: '/api/v1/models/doomed', headers: auth })).statusCode).toBe(404);
  }, 60_000);
});
