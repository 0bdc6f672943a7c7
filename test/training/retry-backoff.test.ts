/**
 * Backoff between retries of a crashed trainer (a real SIGKILL of the trainer child): the
 * `retrying` event says how long the job waits, no trainer starts before the wait is over, a
 * cancel during the wait ends the job for good, and a server restart during the wait neither
 * loses the retry nor starts it early. The schedule itself is checked against hand-computed waits.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { eventObject } from '../../src/api/openai/fine-tuning-view';
import { buildServer } from '../../src/api/server';
import { loadConfig } from '../../src/platform/config';
import { openPlatform, type Platform } from '../../src/platform/platform';
import { startRole } from '../../src/platform/roles';
import { retryDelayMs } from '../../src/platform/training/backoff';
import { ADMIN_KEY, auth } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { lineCsv, pollUntil, startTraining, uploadDataset, waitFor } from './helpers';

type Event = { seq: number; type: string; data: Record<string, unknown>; createdAt: string };

interface Server {
  app: FastifyInstance;
  platform: Platform;
  close(): Promise<void>;
}

/** A real platform on `dir` (kept on close, so a second one can open it: a restart). */
async function open(dir: string, backoffMs: number): Promise<Server> {
  const config = loadConfig(
    {},
    {},
    {
      dataDir: dir,
      adminKey: ADMIN_KEY,
      logLevel: 'silent',
      port: 0,
      zoo: 'off',
      trainLeaseMs: 2000,
      trainThreads: 1,
      trainMaxRetries: 2,
      trainRetryBackoffMs: backoffMs,
    },
  );
  const platform = await openPlatform(config);
  const background = await startRole(platform, () => {});
  const { app } = buildServer(platform);
  await app.ready();
  return {
    app,
    platform,
    close: async () => {
      await app.close();
      await background.stop();
      await platform.close();
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const events = async (s: Server, id: string): Promise<Event[]> =>
  (await s.app.inject({ url: `/api/v1/trainings/${id}/events`, headers: auth })).json().events;

/** A job on a fresh server, its trainer killed once it has a checkpoint; returns the retrying event. */
async function crashOnce(s: Server, model: string): Promise<{ id: string; retrying: Event }> {
  expect((await uploadDataset(s.app, 'line', lineCsv(2000))).statusCode).toBe(201);
  const res = await startTraining(s.app, {
    family: 'mlp',
    dataset: 'line',
    model,
    hyperparameters: { epochs: 3, batch_size: 8, checkpoint_every: 40, hidden: [16] },
  });
  expect(res.statusCode, res.body).toBe(201);
  const { id } = res.json();
  await pollUntil(async () => (await events(s, id)).find((e) => e.type === 'checkpoint'));
  const pid = await pollUntil(() => s.platform.trainings.trainerPid(id));
  process.kill(pid, 'SIGKILL');
  const retrying = await pollUntil(async () => (await events(s, id)).find((e) => e.type === 'retrying'));
  return { id, retrying };
}

describe('retry backoff', () => {
  it('waits a random 50–100 % of base · 2^(n−1), capped; 0 retries at once', () => {
    const b = { baseMs: 1000, maxMs: 5000 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, b, () => 0))).toEqual([500, 1000, 2000, 2500, 2500]);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, b, () => 0.999_999))).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
    expect(retryDelayMs(2, b, () => 0.5)).toBe(1500);
    expect(retryDelayMs(5000, b, () => 0)).toBe(2500);
    expect(retryDelayMs(3, { baseMs: 0, maxMs: 5000 })).toBe(0);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelayMs(1, b)));
    expect(spread.size).toBeGreaterThan(10);
    for (const d of spread) expect(d >= 500 && d <= 1000).toBe(true);
  });

  it('is configurable: 1 s by default, capped at 60 s, validated', () => {
    const c = loadConfig({});
    expect([c.trainRetryBackoffMs, c.trainRetryBackoffMaxMs]).toEqual([1000, 60_000]);
    const set = loadConfig({ MAAS_TRAIN_RETRY_BACKOFF_MS: '250', MAAS_TRAIN_RETRY_BACKOFF_MAX_MS: '4000' });
    expect([set.trainRetryBackoffMs, set.trainRetryBackoffMaxMs]).toEqual([250, 4000]);
    expect(() => loadConfig({ MAAS_TRAIN_RETRY_BACKOFF_MS: '-1' })).toThrow(/MAAS_TRAIN_RETRY_BACKOFF_MS/);
    expect(() => loadConfig({}, { '--train-retry-backoff-ms': 'soon' })).toThrow(
      /MAAS_TRAIN_RETRY_BACKOFF_MS/,
    );
  });

  it('a cancel during the wait ends the job: no trainer starts when the wait is over', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const s = await open(tmp.dir, 1500);
    cleanups.push(s.close);
    const { id, retrying } = await crashOnce(s, 'waiting');
    expect(retrying.data).toMatchObject({ attempt: 1, maxRetries: 2 });
    const delayMs = Number(retrying.data.delayMs);
    expect(delayMs).toBeGreaterThanOrEqual(750);
    expect(delayMs).toBeLessThanOrEqual(1500);
    // retryAt is taken just before the event is written: the two differ by the write's few ms.
    const lead = Date.parse(String(retrying.data.retryAt)) - Date.parse(retrying.createdAt);
    expect(lead).toBeGreaterThan(delayMs - 100);
    expect(lead).toBeLessThanOrEqual(delayMs);
    // OpenAI's fine-tuning events say it too.
    expect(eventObject(id, retrying)).toMatchObject({
      level: 'warn',
      message: expect.stringMatching(
        /^the trainer process exited unexpectedly \(SIGKILL\); retry 1 of 2 from the checkpoint at step \d+ in [01]\.\d s$/,
      ),
    });
    // Waiting: still `running` (the job holds its place), with no trainer.
    expect(s.platform.trainings.trainerPid(id)).toBeNull();
    const cancel = await s.app.inject({
      method: 'POST',
      url: `/api/v1/trainings/${id}/cancel`,
      headers: auth,
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.json().status).toBe('cancelled');
    // Past the end of the wait, plus a scheduler poll.
    await new Promise((r) => setTimeout(r, Date.parse(String(retrying.data.retryAt)) - Date.now() + 800));
    expect(s.platform.trainings.trainerPid(id)).toBeNull();
    const after = (await events(s, id)).filter((e) => e.seq > retrying.seq);
    expect(after.map((e) => [e.type, e.data.status])).toEqual([['status', 'cancelled']]);
    expect((await s.app.inject({ url: `/api/v1/trainings/${id}`, headers: auth })).json()).toMatchObject({
      status: 'cancelled',
      attempts: 1,
    });
  }, 90_000);

  it('a server restart during the wait: the next server resumes the job after the wait, once', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const first = await open(tmp.dir, 4000);
    const { id, retrying } = await crashOnce(first, 'restarted');
    const retryAt = Date.parse(String(retrying.data.retryAt));
    await first.close();
    expect(Date.now()).toBeLessThan(retryAt);

    const second = await open(tmp.dir, 4000);
    cleanups.push(second.close);
    const job = await waitFor(second.app, id);
    expect(job.status, job.error ?? '').toBe('succeeded');
    const all = await events(second, id);
    expect(all.filter((e) => e.type === 'retrying')).toHaveLength(1);
    const rerun = all.find((e) => e.type === 'status' && e.data.status === 'running' && e.seq > retrying.seq);
    // Not started before the wait was over, by the new server either.
    expect(Date.parse(String(rerun?.createdAt))).toBeGreaterThanOrEqual(retryAt);
    expect(all.find((e) => e.type === 'resumed' && e.seq > retrying.seq)).toBeDefined();
    const versions = (
      await second.app.inject({ url: '/api/v1/models/restarted/versions', headers: auth })
    ).json().versions as unknown[];
    expect(versions).toHaveLength(1);
  }, 120_000);
});
