/**
 * The conformance suite of the tenancy store ports. Every adapter (memory now, SQLite and
 * PostgreSQL later) runs exactly this suite:
 *
 *   describeTenancyStoreConformance('sqlite', async () => { const db = …; return { stores, close } });
 *
 * Not a `*.test.ts` file itself: adapters' test files import it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMaasError } from '../../src/common/errors';
import type { TenancyStores } from '../../src/store/tenancy/ports';
import type { AuditEntry, KeyRecord, UsageRecord } from '../../src/store/tenancy/types';

export interface StoreHarness {
  stores: TenancyStores;
  close(): Promise<void> | void;
}

const T0 = Date.UTC(2026, 2, 31, 23, 0, 0); // 2026-03-31T23:00Z: an hour before a day and month edge
const HOUR = 3_600_000;

export function keyRecord(over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: 'key_0000000000000001',
    tenantId: 'acme',
    name: 'ci',
    prefix: 'AbCdEfGhIj',
    hash: 'a'.repeat(64),
    scopes: ['manage', 'infer'],
    limits: { requestsPerMinute: 10 },
    createdAt: T0,
    createdBy: 'bootstrap',
    revokedAt: null,
    ...over,
  };
}

function usage(over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    tenantId: 'acme',
    keyId: 'k1',
    model: 'mnist',
    version: '1',
    units: 10,
    latencyMs: 5,
    status: 200,
    at: T0,
    ...over,
  };
}

function audit(i: number, over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: `aud_${i}`,
    at: T0 + i * 1000,
    actorKeyId: 'k1',
    actorTenantId: 'acme',
    action: 'key.create',
    target: `key:n${i}`,
    targetTenantId: 'acme',
    outcome: 'success',
    ...over,
  };
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isMaasError(error) ? error.code : error).toBe(code);
}

export function describeTenancyStoreConformance(adapter: string, open: () => Promise<StoreHarness>): void {
  describe(`tenancy store conformance: ${adapter}`, () => {
    let harness: StoreHarness;
    let s: TenancyStores;
    beforeEach(async () => {
      harness = await open();
      s = harness.stores;
    });
    afterEach(async () => {
      await harness.close();
    });

    it('tenants: create, get, list in id order, duplicates conflict, limits replace', async () => {
      await s.tenants.create({ id: 'zeta', limits: {}, createdAt: T0 });
      await s.tenants.create({ id: 'acme', limits: { monthlyUnits: 5 }, createdAt: T0 + 1 });
      await expectCode(s.tenants.create({ id: 'acme', limits: {}, createdAt: T0 }), 'conflict');
      expect(await s.tenants.get('acme')).toEqual({
        id: 'acme',
        limits: { monthlyUnits: 5 },
        createdAt: T0 + 1,
      });
      expect(await s.tenants.get('nope')).toBeNull();
      expect((await s.tenants.list()).map((t) => t.id)).toEqual(['acme', 'zeta']);
      expect(await s.tenants.setLimits('acme', { requestsPerMinute: 7 })).toBe(true);
      expect(await s.tenants.setLimits('nope', {})).toBe(false);
      expect((await s.tenants.get('acme'))?.limits).toEqual({ requestsPerMinute: 7 });
    });

    it('tenants: a returned record is a copy', async () => {
      await s.tenants.create({ id: 'acme', limits: { monthlyUnits: 5 }, createdAt: T0 });
      const got = await s.tenants.get('acme');
      got!.limits.monthlyUnits = 999;
      expect((await s.tenants.get('acme'))?.limits.monthlyUnits).toBe(5);
    });

    it('keys: insert, lookups, duplicate id or prefix conflict, list filter and order', async () => {
      const a = keyRecord();
      const b = keyRecord({
        id: 'key_0000000000000002',
        prefix: 'ZZZZZZZZZZ',
        tenantId: 'beta',
        createdAt: T0 + 5,
      });
      const c = keyRecord({ id: 'key_0000000000000003', prefix: 'YYYYYYYYYY', createdAt: T0 + 9 });
      await s.keys.insert(a);
      await s.keys.insert(b);
      await s.keys.insert(c);
      await expectCode(s.keys.insert(keyRecord({ prefix: 'QQQQQQQQQQ' })), 'conflict');
      await expectCode(s.keys.insert(keyRecord({ id: 'key_0000000000000009' })), 'conflict');
      expect(await s.keys.get(a.id)).toEqual(a);
      expect(await s.keys.findByPrefix('ZZZZZZZZZZ')).toEqual(b);
      expect(await s.keys.findByPrefix('XXXXXXXXXX')).toBeNull();
      expect((await s.keys.list({})).map((k) => k.id)).toEqual([a.id, b.id, c.id]);
      expect((await s.keys.list({ tenantId: 'acme' })).map((k) => k.id)).toEqual([a.id, c.id]);
    });

    it('keys: revoke sets revokedAt once and is visible on the lookup path', async () => {
      await s.keys.insert(keyRecord());
      expect(await s.keys.revoke('key_0000000000000001', T0 + 100)).toBe(true);
      expect(await s.keys.revoke('key_0000000000000001', T0 + 200)).toBe(false);
      expect(await s.keys.revoke('key_missing', T0)).toBe(false);
      expect((await s.keys.findByPrefix('AbCdEfGhIj'))?.revokedAt).toBe(T0 + 100);
    });

    it('usage: aggregates by day, model and key over [from, to), per tenant', async () => {
      // A batch of two (the meter's flush), then single records.
      await s.usage.append([
        usage({ at: T0, units: 3 }),
        usage({ at: T0 + HOUR / 2, units: 4, keyId: 'k2' }),
      ]);
      await s.usage.append([usage({ at: T0 + HOUR, units: 5 })]); // next UTC day (and month)
      await s.usage.append([usage({ at: T0 + HOUR, units: 0, status: 500, latencyMs: 9, model: 'gpt' })]);
      await s.usage.append([usage({ at: T0, units: 100, tenantId: 'beta', keyId: 'kb' })]);

      const byDay = await s.usage.aggregate({ tenantId: 'acme', groupBy: ['day'] });
      expect(byDay).toEqual([
        { day: '2026-03-31', requests: 2, units: 7, errors: 0, latencyMsTotal: 10 },
        { day: '2026-04-01', requests: 2, units: 5, errors: 1, latencyMsTotal: 14 },
      ]);
      const byModelKey = await s.usage.aggregate({ tenantId: 'acme', groupBy: ['model', 'key'] });
      expect(byModelKey.map((r) => [r.model, r.keyId, r.units])).toEqual([
        ['gpt', 'k1', 0],
        ['mnist', 'k1', 8],
        ['mnist', 'k2', 4],
      ]);
      const ranged = await s.usage.aggregate({ tenantId: 'acme', from: T0 + 1, to: T0 + HOUR, groupBy: [] });
      expect(ranged).toEqual([{ requests: 1, units: 4, errors: 0, latencyMsTotal: 5 }]);
      const all = await s.usage.aggregate({ groupBy: ['tenant'] });
      expect(all.map((r) => [r.tenantId, r.units])).toEqual([
        ['acme', 12],
        ['beta', 100],
      ]);
      expect(await s.usage.aggregate({ tenantId: 'nobody', groupBy: ['day'] })).toEqual([]);
    });

    it('quotas: a refused debit changes nothing; tenant and key allowances both bind', async () => {
      const m = '2026-04';
      expect(await s.quotas.debit('acme', 'k1', 60, m, { tenant: 100 })).toEqual({
        ok: true,
        remaining: { tenant: 40 },
      });
      expect(await s.quotas.debit('acme', 'k2', 50, m, { tenant: 100 })).toEqual({
        ok: false,
        remaining: { tenant: 40 },
      });
      expect(await s.quotas.debit('acme', 'k2', 30, m, { tenant: 100, key: 20 })).toEqual({
        ok: false,
        remaining: { tenant: 40, key: 20 },
      });
      expect(await s.quotas.debit('acme', 'k2', 20, m, { tenant: 100, key: 20 })).toEqual({
        ok: true,
        remaining: { tenant: 20, key: 0 },
      });
      expect(await s.quotas.used(m, 'acme')).toBe(80);
      expect(await s.quotas.used(m, 'acme', 'k2')).toBe(20);
      expect(await s.quotas.used('2026-05', 'acme')).toBe(0);
      await s.quotas.credit('acme', 'k2', 500, m);
      expect(await s.quotas.used(m, 'acme')).toBe(0);
      expect(await s.quotas.used(m, 'acme', 'k2')).toBe(0);
    });

    it('quotas: 50 parallel spenders never overdraw', async () => {
      const m = '2026-04';
      // 50 spenders × 7 units against 200: exactly floor(200 / 7) = 28 succeed.
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => s.quotas.debit('acme', `k${i % 5}`, 7, m, { tenant: 200 })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(28);
      expect(await s.quotas.used(m, 'acme')).toBe(196);
      expect(Math.min(...results.map((r) => r.remaining.tenant ?? -1))).toBe(4);
    });

    it('audit: newest first, filtered by tenant (actor or target), actor, action, time, limit', async () => {
      for (let i = 0; i < 5; i++) await s.audit.append(audit(i));
      await s.audit.append(audit(5, { actorTenantId: 'root', actorKeyId: 'kroot', targetTenantId: 'beta' }));
      await s.audit.append(audit(6, { actorTenantId: 'root', actorKeyId: 'kroot', action: 'tenant.create' }));
      expect((await s.audit.query({})).map((e) => e.id)).toEqual(
        [6, 5, 4, 3, 2, 1, 0].map((i) => `aud_${i}`),
      );
      expect((await s.audit.query({ tenantId: 'beta' })).map((e) => e.id)).toEqual(['aud_5']);
      expect((await s.audit.query({ tenantId: 'acme', limit: 2 })).map((e) => e.id)).toEqual([
        'aud_6',
        'aud_4',
      ]);
      expect((await s.audit.query({ actorKeyId: 'kroot' })).map((e) => e.id)).toEqual(['aud_6', 'aud_5']);
      expect((await s.audit.query({ action: 'tenant.create' })).map((e) => e.id)).toEqual(['aud_6']);
      const ranged = await s.audit.query({ from: T0 + 1000, to: T0 + 3000 });
      expect(ranged.map((e) => e.id)).toEqual(['aud_2', 'aud_1']);
      expect(ranged[0]).toEqual(audit(2));
    });

    it('idempotency: claim, in flight, completed replay, abandon, expiry', async () => {
      expect(await s.idempotency.begin('t:k:x', 'fp1', T0, T0 - HOUR)).toEqual({ state: 'started' });
      expect(await s.idempotency.begin('t:k:x', 'fp2', T0 + 1, T0 - HOUR)).toEqual({
        state: 'in_flight',
        fingerprint: 'fp1',
      });
      const response = { status: 201, headers: { location: '/api/v1/keys/k' }, body: { id: 'k', n: [1, 2] } };
      await s.idempotency.complete('t:k:x', response);
      expect(await s.idempotency.begin('t:k:x', 'fp1', T0 + 2, T0 - HOUR)).toEqual({
        state: 'completed',
        fingerprint: 'fp1',
        response,
      });
      // Abandon forgets only an unfinished claim.
      await s.idempotency.abandon('t:k:x');
      expect((await s.idempotency.begin('t:k:x', 'fp1', T0 + 3, T0 - HOUR)).state).toBe('completed');
      expect((await s.idempotency.begin('t:k:y', 'fp1', T0, T0 - HOUR)).state).toBe('started');
      await s.idempotency.abandon('t:k:y');
      expect((await s.idempotency.begin('t:k:y', 'fp9', T0, T0 - HOUR)).state).toBe('started');
      // Entries created before `expiresBefore` are gone: the key may be reused.
      expect(await s.idempotency.begin('t:k:x', 'fp3', T0 + 2 * HOUR, T0 + 1)).toEqual({ state: 'started' });
    });

    it('idempotency: purging expired entries deletes only those older than the cut-off', async () => {
      await s.idempotency.begin('t:k:old', 'fp', T0, T0 - HOUR);
      await s.idempotency.complete('t:k:old', { status: 200, headers: {}, body: {} });
      await s.idempotency.begin('t:k:old-in-flight', 'fp', T0 + 1, T0 - HOUR);
      await s.idempotency.begin('t:k:new', 'fp', T0 + HOUR, T0 - HOUR);
      expect(await s.idempotency.purgeExpired(T0 + 2)).toBe(2);
      expect(await s.idempotency.purgeExpired(T0 + 2)).toBe(0);
      // The purged keys start afresh even for a caller whose own cut-off would still keep them.
      expect(await s.idempotency.begin('t:k:old', 'fp2', T0 + 3, 0)).toEqual({ state: 'started' });
      expect(await s.idempotency.begin('t:k:new', 'fp2', T0 + HOUR, 0)).toEqual({
        state: 'in_flight',
        fingerprint: 'fp',
      });
    });

    it('idempotency: of many concurrent claims on one key exactly one starts', async () => {
      const states = await Promise.all(
        Array.from({ length: 20 }, () => s.idempotency.begin('t:k:race', 'fp', T0, T0 - HOUR)),
      );
      expect(states.filter((x) => x.state === 'started')).toHaveLength(1);
      expect(states.filter((x) => x.state === 'in_flight')).toHaveLength(19);
    });
  });
}
