import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/platform/metrics';
import { auth } from '../helpers/server';
import { bearer, type TenantWorld, tenantWorld } from '../tenancy/platform-fixture';

describe('hardening: metrics that leak nothing and cannot be inflated; audit that names no other tenant', () => {
  let w: TenantWorld;
  beforeAll(async () => {
    w = await tenantWorld();
  });
  afterAll(async () => {
    await w.s.close();
  });
  const scrape = async () => (await w.s.app.inject({ url: '/metrics', headers: auth })).body;

  it('1,000 requests to random model names (no key, or a key and 404) add no series and no names', async () => {
    await w.s.app.inject({ url: '/v2/models/warm-up/ready' });
    await w.s.app.inject({ url: '/v2/models/warm-up/ready', headers: bearer(w.keyB) });
    const before = await scrape();
    const names: string[] = [];
    for (let i = 0; i < 500; i++) {
      const name = `rnd-${i}-${Math.random().toString(36).slice(2, 10)}`;
      names.push(name);
      expect((await w.s.app.inject({ url: `/v2/models/${name}/ready` })).statusCode).toBe(401);
      const res = await w.s.app.inject({ url: `/v2/models/${name}/ready`, headers: bearer(w.keyB) });
      expect(res.statusCode).toBe(404);
    }
    const after = await scrape();
    for (const name of names.slice(0, 50)) expect(after).not.toContain(name);
    const series = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    // The same series, only their counts moved (the scrape of /metrics itself may add one).
    expect(series(after) - series(before)).toBeLessThanOrEqual(20);
    expect(after.length - before.length).toBeLessThan(5000);
  });

  it("a successful request names its model; another tenant's attempt on it does not", async () => {
    const ok = await w.s.app.inject({ url: '/v2/models/priv/ready', headers: bearer(w.keyA) });
    expect(ok.statusCode).toBe(200);
    expect(await scrape()).toContain('model="priv"');
    const probe = await w.s.app.inject({
      url: '/v2/models/tenant-a~secretish/ready',
      headers: bearer(w.keyB),
    });
    expect(probe.statusCode).toBe(404);
    expect(await scrape()).not.toContain('secretish');
  });

  it("/metrics needs the admin scope: a tenant's manage key gets 403", async () => {
    const res = await w.s.app.inject({ url: '/metrics', headers: bearer(w.keyA) });
    expect(res.statusCode).toBe(403);
    expect(res.body).not.toContain('priv');
    expect((await w.s.app.inject({ url: '/metrics', headers: auth })).statusCode).toBe(200);
  });

  it('each label takes at most MAAS_METRICS_MAX_SERIES values; the rest count under _other', () => {
    const registry = new MetricsRegistry(3);
    const c = registry.counter('t_total', 'test');
    for (let i = 0; i < 10; i++) c.inc({ model: `m${i}` });
    const lines = registry
      .render()
      .split('\n')
      .filter((l) => l.startsWith('t_total{'));
    expect(lines).toEqual([
      't_total{model="m0"} 1',
      't_total{model="m1"} 1',
      't_total{model="m2"} 1',
      't_total{model="_other"} 7',
    ]);
  });

  it("revoking another tenant's key id: 404, recorded in the caller's log only, with no other tenant's ids", async () => {
    const res = await w.s.app.inject({
      method: 'DELETE',
      url: `/api/v1/keys/${w.keyAId}`,
      headers: bearer(w.keyB),
    });
    expect(res.statusCode).toBe(404);
    const mine = (
      await w.s.app.inject({ url: '/api/v1/audit?action=key.revoke', headers: bearer(w.keyB) })
    ).json();
    expect(mine.entries).toContainEqual(
      expect.objectContaining({ actorTenantId: 'tenant-b', targetTenantId: 'tenant-b', outcome: 'denied' }),
    );
    expect(JSON.stringify(mine)).not.toContain('tenant-a');
    const theirs = (await w.s.app.inject({ url: '/api/v1/audit', headers: bearer(w.keyA) })).json();
    expect(JSON.stringify(theirs)).not.toContain('tenant-b');
    expect(JSON.stringify(theirs)).not.toContain(w.keyBId);
  });
});
