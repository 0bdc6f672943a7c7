/**
 * Webhooks for trainings: a job created with `webhook` reports start, output (progress, epochs,
 * checkpoints), logs and completed through the prediction webhooks' signed, retried deliveries,
 * filtered by `webhook_events_filter`, with a delivery log; a bad target is refused at create.
 * A real trainer (child process), a local receiver, signatures verified from the spec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type TestServer, testServer } from '../helpers/server';
import { lineCsv, startTraining, uploadDataset, waitFor } from '../training/helpers';
import { receiver, verifyStandardWebhook } from './fixtures';

let s: TestServer;
let rx: Awaited<ReturnType<typeof receiver>>;
let secret = '';

beforeAll(async () => {
  s = await testServer({ webhookAllowPrivate: true, webhookRetryBaseMs: 50, trainLeaseMs: 2000 });
  await s.platform.webhooks.start();
  // The receiver refuses the first delivery to /flaky: the retry brings it.
  rx = await receiver((path, n) => ({ status: path === '/flaky' && n === 1 ? 500 : 204 }));
  secret = (await s.app.inject({ method: 'POST', url: '/api/v1/webhooks/secret', headers: auth })).json()
    .secret;
  expect((await uploadDataset(s.app, 'line', lineCsv(300))).statusCode).toBe(201);
});
afterAll(async () => {
  s?.platform.webhooks.stop();
  await rx?.close();
  await s?.close();
});

const job = (model: string, extra: Record<string, unknown>) => ({
  family: 'mlp',
  dataset: 'line',
  model,
  target: 'label',
  hyperparameters: { epochs: 3, learning_rate: 0.01, hidden: [8] },
  ...extra,
});

/** Polls (a count bounds it) until `n` deliveries reached `path`. */
async function delivered(path: string, n: number) {
  for (let i = 0; i < 600; i++) {
    const got = rx.got.filter((r) => r.path === path);
    if (got.length >= n) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${n} deliveries to ${path}`);
}

describe('training webhooks', () => {
  it('start, output, logs and completed arrive signed, in order; a failed delivery is retried', async () => {
    const created = await startTraining(s.app, job('hooked', { webhook: `${rx.url}/flaky` }));
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    expect(created.json()).toMatchObject({
      webhook: `${rx.url}/flaky`,
      webhook_events_filter: ['start', 'output', 'logs', 'completed'],
    });
    expect((await waitFor(s.app, id)).status).toBe('succeeded');
    const log = async () =>
      (await s.app.inject({ method: 'GET', url: `/api/v1/trainings/${id}/webhooks`, headers: auth })).json()
        .deliveries as { event: string; status: string; attempts: unknown[] }[];
    let deliveries = await log();
    for (let i = 0; i < 600 && deliveries.some((d) => d.status !== 'delivered'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      deliveries = await log();
    }
    expect(deliveries.every((d) => d.status === 'delivered')).toBe(true);
    const events = deliveries.map((d) => d.event);
    expect(events[0]).toBe('start');
    expect(events.at(-1)).toBe('completed');
    expect(events).toContain('output');
    // The first attempt of the first delivery was refused (500): two attempts, then delivered.
    expect(deliveries[0].attempts).toHaveLength(2);
    const got = await delivered('/flaky', deliveries.length + 1);
    for (const r of got) expect(verifyStandardWebhook(secret, r.headers, r.body)).toBe(true);
    expect(verifyStandardWebhook(secret, got[0].headers, got[0].body.replace('running', 'runnin9'))).toBe(
      false,
    );
    const bodies = got.map((r) => JSON.parse(r.body));
    expect(bodies.every((b) => b.id === id)).toBe(true);
    expect(bodies.some((b) => ['epoch', 'checkpoint', 'progress'].includes(b.event.type))).toBe(true);
    const last = bodies.at(-1);
    expect(last).toMatchObject({
      status: 'succeeded',
      event: { type: 'status', data: { status: 'succeeded' } },
    });
  });

  it('the filter sends only the events asked for', async () => {
    const created = await startTraining(
      s.app,
      job('filtered', { webhook: `${rx.url}/done-only`, webhook_events_filter: ['completed'] }),
    );
    expect(created.statusCode, created.body).toBe(201);
    expect((await waitFor(s.app, created.json().id)).status).toBe('succeeded');
    const [only] = await delivered('/done-only', 1);
    expect(JSON.parse(only.body)).toMatchObject({ status: 'succeeded' });
    // Nothing else follows the completed one.
    expect(rx.got.filter((r) => r.path === '/done-only')).toHaveLength(1);
  });

  it('a bad target or filter is refused at create, and no job is made', async () => {
    const before = (await s.app.inject({ method: 'GET', url: '/api/v1/trainings', headers: auth })).json()
      .trainings.length;
    for (const extra of [
      { webhook: 'ftp://example.com/x' },
      { webhook: `${rx.url}/x`, webhook_events_filter: ['bogus'] },
    ]) {
      const res = await startTraining(s.app, job('refused', extra));
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('invalid_request');
    }
    const after = (await s.app.inject({ method: 'GET', url: '/api/v1/trainings', headers: auth })).json()
      .trainings.length;
    expect(after).toBe(before);
  });
});
