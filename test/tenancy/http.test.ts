/**
 * End to end over a real socket: a bare node:http server wired the way the platform's auth hook
 * and inference route will be (resolve → admit → serve → settle → meter), hit by 150 simultaneous
 * clients. Proves exactness, headers on the wire, noisy-neighbour isolation and reconciliation.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMaasError } from '../../src/common/errors';
import { makeWorld, type World } from './fixture';

/** The key with its last character changed: a well-formed key that is not valid. */
const forgeKey = (key: string) => `${key.slice(0, -1)}${key.endsWith('Q') ? 'R' : 'Q'}`;

async function handle(w: World, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = performance.now();
  const raw = req.headers.authorization?.replace(/^Bearer /, '');
  let headers: Record<string, string> = {};
  try {
    const principal = await w.tenancy.keys.resolve(raw);
    const units = Number(req.headers['x-units'] ?? '1');
    const ticket = await w.tenancy.admission.admit(principal, units);
    headers = ticket.headers;
    await w.tenancy.admission.settle(ticket, units);
    const latencyMs = performance.now() - started;
    await w.tenancy.meter.record({
      ...principal,
      model: 'echo',
      version: '1',
      units,
      latencyMs,
      status: 200,
    });
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ ok: true, tenant: principal.tenantId }));
  } catch (error) {
    const e = isMaasError(error) ? error : null;
    const status = e?.status ?? 500;
    res.writeHead(status, {
      'content-type': 'application/problem+json',
      ...headers,
      ...(e?.extras.headers ?? {}),
    });
    res.end(JSON.stringify({ code: e?.code ?? 'internal', detail: e?.message ?? 'internal error' }));
  }
}

describe('tenancy over HTTP', () => {
  let w: World;
  let server: Server;
  let base: string;
  let keyA: string;
  let keyB: string;

  beforeAll(async () => {
    w = await makeWorld();
    await w.tenancy.tenants.create(w.admin, { name: 'tenant-a', limits: { requestsPerMinute: 1000 } });
    await w.tenancy.tenants.create(w.admin, { name: 'tenant-b', limits: { requestsPerMinute: 1000 } });
    keyA = (
      await w.tenancy.keys.mint(w.admin, {
        tenant: 'tenant-a',
        name: 'a',
        scopes: ['infer'],
        limits: { requestsPerMinute: 100 },
      })
    ).key;
    keyB = (
      await w.tenancy.keys.mint(w.admin, { tenant: 'tenant-b', name: 'b', scopes: ['infer'], limits: {} })
    ).key;
    server = createServer((req, res) => {
      handle(w, req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const call = (key: string | undefined) =>
    fetch(`${base}/infer`, { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {} });

  it('150 simultaneous requests on a 100/min key: exactly 100 × 200 and 50 × 429; B is untouched', async () => {
    const [aResponses, bResponses, anon] = await Promise.all([
      Promise.all(Array.from({ length: 150 }, () => call(keyA))),
      Promise.all(Array.from({ length: 20 }, () => call(keyB))),
      Promise.all([call(undefined), call(forgeKey(keyA))]),
    ]);
    const bodies = await Promise.all([...aResponses, ...bResponses, ...anon].map((r) => r.text()));
    const statusA = aResponses.map((r) => r.status);
    expect(statusA.filter((s) => s === 200)).toHaveLength(100);
    expect(statusA.filter((s) => s === 429)).toHaveLength(50);
    expect(bResponses.every((r) => r.status === 200)).toBe(true);
    expect(anon.map((r) => r.status)).toEqual([401, 401]);

    for (const r of aResponses) {
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('100');
      expect(r.headers.get('ratelimit-policy')).toBe(
        '"key-requests";q=100;w=60, "tenant-requests";q=1000;w=60',
      );
      if (r.status === 429) {
        // Nothing leaves the 60 s window before the burst's first charge does.
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(50);
        expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(60);
        expect(r.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      }
    }
    const remaining = aResponses
      .filter((r) => r.status === 200)
      .map((r) => Number(r.headers.get('x-ratelimit-remaining-requests')));
    expect(new Set(remaining)).toEqual(new Set(Array.from({ length: 100 }, (_, i) => i)));
    expect(bodies.filter((b) => b.includes('"code":"rate_limited"'))).toHaveLength(50);

    // Usage reconciles with what was served: 100 for A, 20 for B, nothing for the 429s and 401s.
    const usage = await w.tenancy.meter.aggregate(w.admin, { groupBy: ['tenant'] });
    expect(usage.map((u) => [u.tenantId, u.requests, u.units])).toEqual([
      ['tenant-a', 100, 100],
      ['tenant-b', 20, 20],
    ]);
    // No raw key in any response body or in anything stored.
    const everything = bodies.join('\n') + JSON.stringify(w.stores.dump());
    for (const key of [keyA, keyB, w.adminKey.key]) expect(everything).not.toContain(key.slice(16));
  });
});
