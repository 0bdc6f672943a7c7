/**
 * Webhooks to a local receiver (MAAS_WEBHOOK_ALLOW_PRIVATE on, as a private deployment would set):
 * Standard Webhooks signatures checked by a verifier written from the spec, retries after
 * failures, event filters, a slow receiver that holds no other delivery, and refused targets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress, resolveWebhookTarget } from '../../src/platform/webhooks/target';
import { auth, type TestServer } from '../helpers/server';
import { create, predictionServer, type Received, receiver, until, verifyStandardWebhook } from './fixtures';

let server: TestServer;
let secret: string;
beforeAll(async () => {
  server = await predictionServer();
  const res = await server.app.inject({ method: 'POST', url: '/api/v1/webhooks/secret', headers: auth });
  expect(res.statusCode).toBe(200);
  secret = res.json().secret;
});
afterAll(async () => server?.close());

const deliveries = async (id: string) =>
  (
    await server.app.inject({ method: 'GET', url: `/api/v1/predictions/${id}/webhooks`, headers: auth })
  ).json().deliveries as { event: string; status: string; attempts: { status: number; ok: boolean }[] }[];

/** Waits (by counting polls) until the receiver got `n` requests on `path`. */
async function received(got: Received[], path: string, n: number) {
  for (let i = 0; i < 800 && got.filter((g) => g.path === path).length < n; i++)
    await new Promise((r) => setTimeout(r, 25));
  return got.filter((g) => g.path === path);
}

describe('webhooks', () => {
  it('start, output, logs and completed arrive signed; the verifier accepts them and refuses a tampered body', async () => {
    const rx = await receiver(() => ({ status: 204 }));
    try {
      const p = (
        await create(server, { model: 'bag', input: { input: ['cat'] }, webhook: `${rx.url}/all` }, 'wait')
      ).json();
      expect(p.status).toBe('succeeded');
      const got = await received(rx.got, '/all', 4);
      expect(got.map((g) => JSON.parse(g.body).status)).toContain('processing');
      const events = got.map((g) => JSON.parse(g.body));
      expect(events.every((e) => e.id === p.id)).toBe(true);
      expect(events.at(-1).status).toBe('succeeded');
      for (const g of got) expect(verifyStandardWebhook(secret, g.headers, g.body)).toBe(true);
      expect(verifyStandardWebhook(secret, got[0].headers, `${got[0].body} `)).toBe(false);
      expect(
        verifyStandardWebhook('whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', got[0].headers, got[0].body),
      ).toBe(false);
      // The same message id on every attempt of one delivery, distinct between deliveries.
      expect(new Set(got.map((g) => g.headers['webhook-id'])).size).toBe(got.length);
    } finally {
      await rx.close();
    }
  });

  it('a receiver that fails twice gets the third delivery; the delivery log shows the three attempts', async () => {
    const rx = await receiver((_path, n) => ({ status: n <= 2 ? 500 : 200 }));
    try {
      const p = (
        await create(
          server,
          {
            model: 'bag',
            input: { input: 'dog' },
            webhook: `${rx.url}/flaky`,
            webhook_events_filter: ['completed'],
          },
          'wait',
        )
      ).json();
      const got = await received(rx.got, '/flaky', 3);
      expect(got).toHaveLength(3);
      // One delivery retried: one message id, each attempt signed afresh.
      expect(new Set(got.map((g) => g.headers['webhook-id'])).size).toBe(1);
      expect(got.every((g) => verifyStandardWebhook(secret, g.headers, g.body))).toBe(true);
      let log = await deliveries(p.id);
      for (let i = 0; i < 200 && log[0]?.status !== 'delivered'; i++) {
        await new Promise((r) => setTimeout(r, 25));
        log = await deliveries(p.id);
      }
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ event: 'completed', status: 'delivered' });
      expect(log[0].attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    } finally {
      await rx.close();
    }
  });

  it('the filter sends only the events asked for', async () => {
    const rx = await receiver(() => ({ status: 200 }));
    try {
      const p = (
        await create(
          server,
          {
            model: 'bigram',
            input: { prompt: 'the ', max_tokens: 5 },
            webhook: `${rx.url}/filtered`,
            webhook_events_filter: ['start', 'completed'],
          },
          'wait',
        )
      ).json();
      await until(server, p.id, () => true);
      const got = await received(rx.got, '/filtered', 2);
      const log = await deliveries(p.id);
      expect(log.map((d) => d.event).sort()).toEqual(['completed', 'start']);
      expect(got.map((g) => JSON.parse(g.body).status).sort()).toEqual(['processing', 'succeeded']);
    } finally {
      await rx.close();
    }
  });

  it('a slow receiver does not hold another prediction’s delivery', async () => {
    let slowAnswered = false;
    const rx = await receiver((path) =>
      path === '/slow' ? { status: 200, delayMs: 3000 } : { status: 200 },
    );
    try {
      const filter = ['completed'];
      await create(
        server,
        { model: 'bag', input: { input: 'a' }, webhook: `${rx.url}/slow`, webhook_events_filter: filter },
        'wait',
      );
      await create(
        server,
        { model: 'bag', input: { input: 'b' }, webhook: `${rx.url}/fast`, webhook_events_filter: filter },
        'wait',
      );
      const fast = await received(rx.got, '/fast', 1);
      slowAnswered = rx.got.some((g) => g.path === '/slow');
      expect(fast).toHaveLength(1);
      // The fast receiver's answer was recorded before the slow one's.
      expect(slowAnswered).toBe(false);
      expect(await received(rx.got, '/slow', 1)).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('refuses loopback, private and link-local targets unless allowed, and non-http schemes at once', async () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
    ])
      expect(isPrivateAddress(a), a).toBe(true);
    for (const a of ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '8.8.8.8'])
      expect(isPrivateAddress(a), a).toBe(false);
    await expect(resolveWebhookTarget(new URL('http://127.0.0.1:9/x'), false)).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(resolveWebhookTarget(new URL('http://localhost:9/x'), false)).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(resolveWebhookTarget(new URL('http://[::1]:9/x'), false)).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect((await resolveWebhookTarget(new URL('http://127.0.0.1:9/x'), true)).address).toBe('127.0.0.1');
    const bad = await create(server, { model: 'bag', input: { input: 'x' }, webhook: 'file:///etc/passwd' });
    expect(bad.statusCode).toBe(400);
  });

  it('a webhook needs a secret first: a tenant without one is told how to make it', async () => {
    await expect(
      server.platform.webhooks.checkRequest('nosecret', 'https://example.com/hook'),
    ).rejects.toThrow(/POST \/api\/v1\/webhooks\/secret/);
  });
});
