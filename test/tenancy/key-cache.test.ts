/**
 * Resolved keys are cached (no store read, no HMAC per request), and a revocation or a limit
 * change still applies to the very next request: in this process at once, in another process
 * through the bus, and after the TTL even when a bus message is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/tenancy/index';
import { PrincipalCache } from '../../src/platform/tenancy/principal-cache';
import { LocalBus } from '../../src/store/bus';
import { linearModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer, upload } from '../helpers/server';
import { expectCode, makeWorld } from './fixture';

const someone = { tenantId: 't', keyId: 'k', scopes: ['infer' as const], limits: { key: {}, tenant: {} } };

describe('the resolved-key cache', () => {
  let s: TestServer;
  let base: string;
  beforeAll(async () => {
    s = await testServer();
    expect((await upload(s.app, 'lin', linearModel(4, 3).bytes)).statusCode).toBe(201);
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = s.app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await s.close();
  });

  it('refuses a revoked key on its next request over HTTP, though it was cached', async () => {
    const minted = await fetch(`${base}/api/v1/keys`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cached', scopes: ['infer'] }),
    });
    expect(minted.status).toBe(201);
    const key = (await minted.json()) as { id: string; key: string };
    const infer = () =>
      fetch(`${base}/v2/models/lin/infer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
        }),
      });
    // The first request resolves through the store and fills the cache; the second is a hit.
    expect((await infer()).status).toBe(200);
    expect((await infer()).status).toBe(200);
    const revoked = await fetch(`${base}/api/v1/keys/${key.id}`, { method: 'DELETE', headers: auth });
    expect(revoked.status).toBe(200);
    const after = await infer();
    expect(after.status).toBe(401);
  });

  it('gives a cached key its tenant’s new limits on the next resolve', async () => {
    const w = await makeWorld();
    const k = await w.tenancy.keys.mint(w.admin, { name: 'lim', scopes: ['infer'], limits: {} });
    expect((await w.tenancy.keys.resolve(k.key)).limits.tenant).toEqual({});
    await w.tenancy.tenants.setLimits(w.admin, 'root', { requestsPerMinute: 7 });
    expect((await w.tenancy.keys.resolve(k.key)).limits.tenant).toEqual({ requestsPerMinute: 7 });
    await w.tenancy.keys.revoke(w.admin, k.id);
    await expectCode(w.tenancy.keys.resolve(k.key), 'unauthorized');
  });

  it('clears another process’s cache through the bus, expires entries, and drops answers raced by a change', async () => {
    const clock = new ManualClock();
    const bus = new LocalBus();
    const options = { enabled: true, ttlMs: 5_000, maxEntries: 2, clock, bus };
    const here = new PrincipalCache(options);
    const there = new PrincipalCache(options);
    there.set('tok', someone, there.begin());
    expect(there.get('tok')).toBe(someone);
    await here.changed();
    expect(there.get('tok')).toBeUndefined();

    there.set('tok', someone, there.begin());
    clock.advance(5_000);
    expect(there.get('tok')).toBeUndefined();

    // A lookup that started before a revocation must not store what it read.
    const started = there.begin();
    await here.changed();
    there.set('tok', someone, started);
    expect(there.get('tok')).toBeUndefined();

    // Bounded: the oldest entry goes first.
    for (const t of ['a', 'b', 'c']) there.set(t, someone, there.begin());
    expect([there.get('a'), there.get('b'), there.get('c')]).toEqual([undefined, someone, someone]);

    const off = new PrincipalCache({ ...options, enabled: false });
    off.set('tok', someone, off.begin());
    expect(off.get('tok')).toBeUndefined();
    await bus.close();
  });
});
