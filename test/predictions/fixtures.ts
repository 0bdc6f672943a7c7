/**
 * A real maas (SQLite, ORT) with the task tests' models, its prediction service started, and a
 * local webhook receiver that records what it gets, verifying nothing itself (the tests verify
 * signatures with `verifyStandardWebhook`, written here from the Standard Webhooks spec).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { batchesOf } from '../../src/api/batches/service';
import { predictionsOf } from '../../src/api/predictions/service';
import type { ConfigKey } from '../../src/platform/config';
import { auth, type TestServer, testServer } from '../helpers/server';
import { registerTestFamilies } from '../tasks/fixtures/families';
import { MODELS, pushModel } from '../tasks/fixtures/server';

export async function predictionServer(
  overrides: Partial<Record<ConfigKey, unknown>> = {},
): Promise<TestServer> {
  registerTestFamilies();
  const server = await testServer({ webhookAllowPrivate: true, webhookRetryBaseMs: 50, ...overrides });
  await Promise.all(Object.keys(MODELS).map((n) => pushModel(server, n, MODELS[n]())));
  await predictionsOf(server.platform).start();
  const close = server.close;
  server.close = async () => {
    await predictionsOf(server.platform).stop();
    await batchesOf(server.platform).stop();
    await close();
  };
  return server;
}

export const create = (server: TestServer, body: unknown, prefer?: string) =>
  server.app.inject({
    method: 'POST',
    url: '/api/v1/predictions',
    headers: { ...auth, ...(prefer ? { prefer } : {}) },
    payload: body as object,
  });

export const getPrediction = async (server: TestServer, id: string) =>
  (await server.app.inject({ method: 'GET', url: `/api/v1/predictions/${id}`, headers: auth })).json();

/** Polls until `done(prediction)` (a count of polls bounds it, not the clock). */
export async function until(
  server: TestServer,
  id: string,
  done: (p: Record<string, unknown>) => boolean,
  polls = 600,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < polls; i++) {
    const p = await getPrediction(server, id);
    if (done(p)) return p;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`prediction ${id} never reached the state`);
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** `plan(path, n)`: the status to answer the n-th request (1-based) to `path`, and a delay (ms). */
export async function receiver(plan: (path: string, n: number) => { status: number; delayMs?: number }) {
  const got: Received[] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const { status, delayMs } = plan(path, n);
      setTimeout(() => {
        got.push({ path, headers: req.headers, body });
        res.statusCode = status;
        res.end('ok');
      }, delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * Standard Webhooks verification, from the spec: the secret after `whsec_` is base64; the signed
 * content is `${webhook-id}.${webhook-timestamp}.${body}`; `webhook-signature` holds
 * space-separated `v1,<base64 HMAC-SHA256>` entries, one of which must match (constant-time);
 * the timestamp must be within 5 minutes of now.
 */
export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, sig] = entry.split(',');
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
