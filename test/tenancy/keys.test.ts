import { performance } from 'node:perf_hooks';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  authorize,
  constantTimeEqual,
  generateKey,
  type Principal,
  parseCreateKey,
  withoutRawKey,
} from '../../src/platform/tenancy/index';
import { expectCode, makeWorld, rejection, type World } from './fixture';

describe('raw keys', () => {
  it('look like maas_<10 base62>_<32 base62>, are unique and use the alphabet evenly', () => {
    const keys = Array.from({ length: 1000 }, () => generateKey());
    const counts = new Map<string, number>();
    for (const { raw, prefix } of keys) {
      expect(raw).toMatch(/^maas_[0-9A-Za-z]{10}_[0-9A-Za-z]{32}$/);
      expect(raw.slice(5, 15)).toBe(prefix);
      for (const ch of raw.slice(16)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(new Set(keys.map((k) => k.raw)).size).toBe(1000);
    // 32 chars × log2(62) ≈ 190 random bits in the secret alone.
    expect(32 * Math.log2(62)).toBeGreaterThan(128);
    // 32 000 secret chars over 62 symbols: ≈ 516 each, σ ≈ 22; a biased generator falls outside.
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(400);
    for (const n of counts.values()) expect(n).toBeLessThan(640);
  });

  it('constantTimeEqual answers correctly for equal, different and different-length buffers', () => {
    const a = Buffer.from('a'.repeat(64));
    expect(constantTimeEqual(a, Buffer.from('a'.repeat(64)))).toBe(true);
    expect(constantTimeEqual(a, Buffer.from(`${'a'.repeat(63)}b`))).toBe(false);
    expect(constantTimeEqual(a, Buffer.from('a'.repeat(63)))).toBe(false);
  });

  it('constantTimeEqual takes as long whether buffers differ at the first or the last byte', () => {
    // 1 MiB makes an early-exit compare (Buffer.equals, ===) differ by ~1000×; a constant-time one
    // by noise only. Interleaved repetitions, median of each.
    const size = 1 << 20;
    const base = Buffer.alloc(size, 7);
    const early = Buffer.from(base);
    early[0] = 8;
    const late = Buffer.from(base);
    late[size - 1] = 8;
    const time = (other: Buffer): number => {
      const t = performance.now();
      constantTimeEqual(base, other);
      return performance.now() - t;
    };
    const earlyTimes: number[] = [];
    const lateTimes: number[] = [];
    for (let i = 0; i < 60; i++) {
      earlyTimes.push(time(early));
      lateTimes.push(time(late));
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1];
    const ratio = median(lateTimes) / median(earlyTimes);
    expect(ratio).toBeGreaterThan(0.33);
    expect(ratio).toBeLessThan(3);
  });
});

describe('key service', () => {
  let w: World;
  let manageA: Principal;
  let inferA: Principal;

  beforeEach(async () => {
    w = await makeWorld();
    await w.tenancy.tenants.create(w.admin, { name: 'tenant-a', limits: { requestsPerMinute: 1000 } });
    await w.tenancy.tenants.create(w.admin, { name: 'tenant-b', limits: {} });
    const m = await w.tenancy.keys.mint(
      w.admin,
      parseCreateKey({
        tenant: 'tenant-a',
        name: 'ops',
        scopes: ['manage'],
        limits: { unitsPerMinute: 500 },
      }),
    );
    manageA = await w.tenancy.keys.resolve(m.key);
    const i = await w.tenancy.keys.mint(manageA, { name: 'app', scopes: ['infer'], limits: {} });
    inferA = await w.tenancy.keys.resolve(i.key);
  });

  it('resolves a raw key to its principal: tenant, closure of scopes, key and tenant limits', async () => {
    expect(manageA).toMatchObject({
      tenantId: 'tenant-a',
      scopes: ['manage', 'infer'],
      limits: { key: { unitsPerMinute: 500 }, tenant: { requestsPerMinute: 1000 } },
    });
    expect(manageA.keyId).toMatch(/^key_[0-9a-f]{16}$/);
    expect(w.admin.scopes).toEqual(['admin', 'manage', 'infer']);
  });

  it('refuses missing, malformed, unknown and wrong-secret keys alike', async () => {
    const good = generateKey().raw;
    const minted = await w.tenancy.keys.mint(w.admin, {
      tenant: 'tenant-b',
      name: 'x',
      scopes: ['infer'],
      limits: {},
    });
    const wrongSecret = `${minted.key.slice(0, -1)}${minted.key.endsWith('a') ? 'b' : 'a'}`;
    for (const raw of [
      undefined,
      '',
      'Bearer x',
      good,
      wrongSecret,
      `${minted.key}x`,
      minted.key.toLowerCase(),
    ]) {
      const error = await expectCode(w.tenancy.keys.resolve(raw), 'unauthorized');
      expect(error.message).toBe('missing or invalid API key');
    }
    await expect(w.tenancy.keys.resolve(minted.key)).resolves.toMatchObject({ tenantId: 'tenant-b' });
  });

  it('refuses to mint broader than the minting key', async () => {
    await expectCode(
      w.tenancy.keys.mint(manageA, { name: 'up', scopes: ['admin'], limits: {} }),
      'forbidden',
    );
    await expectCode(w.tenancy.keys.mint(inferA, { name: 'up', scopes: ['infer'], limits: {} }), 'forbidden');
    await expectCode(
      w.tenancy.keys.mint(manageA, { name: 'loose', scopes: ['infer'], limits: { unitsPerMinute: 501 } }),
      'forbidden',
    );
    // Within its own bounds it works, and an omitted limit is inherited, not dropped.
    const narrow = await w.tenancy.keys.mint(manageA, {
      name: 'ok',
      scopes: ['manage'],
      limits: { requestsPerMinute: 5 },
    });
    expect(narrow.scopes).toEqual(['manage', 'infer']);
    expect(narrow.limits).toEqual({ requestsPerMinute: 5, unitsPerMinute: 500 });
  });

  it('refuses to mint for another tenant (as if it did not exist) unless admin', async () => {
    const other = await expectCode(
      w.tenancy.keys.mint(manageA, { tenant: 'tenant-b', name: 'x', scopes: ['infer'], limits: {} }),
      'not_found',
    );
    const missing = await expectCode(
      w.tenancy.keys.mint(manageA, { tenant: 'no-such', name: 'x', scopes: ['infer'], limits: {} }),
      'not_found',
    );
    expect(other.message).toBe(missing.message);
    const byAdmin = await w.tenancy.keys.mint(w.admin, {
      tenant: 'tenant-b',
      name: 'x',
      scopes: ['manage'],
      limits: {},
    });
    expect(byAdmin.tenantId).toBe('tenant-b');
    await expectCode(
      w.tenancy.keys.mint(w.admin, { tenant: 'no-such', name: 'x', scopes: ['infer'], limits: {} }),
      'not_found',
    );
  });

  it('revocation takes effect at the next request', async () => {
    const k = await w.tenancy.keys.mint(manageA, { name: 'temp', scopes: ['infer'], limits: {} });
    await expect(w.tenancy.keys.resolve(k.key)).resolves.toMatchObject({ keyId: k.id });
    const revoked = await w.tenancy.keys.revoke(manageA, k.id);
    expect(revoked.revokedAt).toBeTypeOf('number');
    await expectCode(w.tenancy.keys.resolve(k.key), 'unauthorized');
    // A key can revoke itself, after which it is refused too.
    const self = await w.tenancy.keys.mint(manageA, { name: 'self', scopes: ['manage'], limits: {} });
    const selfP = await w.tenancy.keys.resolve(self.key);
    await w.tenancy.keys.revoke(selfP, selfP.keyId);
    await expectCode(w.tenancy.keys.resolve(self.key), 'unauthorized');
  });

  it('revoking: another tenant’s key is 404, a broader key 403, an infer key cannot revoke', async () => {
    const b = await w.tenancy.keys.mint(w.admin, {
      tenant: 'tenant-b',
      name: 'b',
      scopes: ['infer'],
      limits: {},
    });
    await expectCode(w.tenancy.keys.revoke(manageA, b.id), 'not_found');
    await expectCode(w.tenancy.keys.revoke(manageA, 'key_ffffffffffffffff'), 'not_found');
    const adminInA = await w.tenancy.keys.mint(w.admin, {
      tenant: 'tenant-a',
      name: 'root2',
      scopes: ['admin'],
      limits: {},
    });
    await expectCode(w.tenancy.keys.revoke(manageA, adminInA.id), 'forbidden');
    await expectCode(w.tenancy.keys.revoke(inferA, manageA.keyId), 'forbidden');
    await expect(w.tenancy.keys.resolve(b.key)).resolves.toBeTruthy();
  });

  it('lists only the caller’s tenant (no hashes); an admin may list any or all', async () => {
    const own = await w.tenancy.keys.list(manageA);
    expect(own.map((k) => k.tenantId)).toEqual(['tenant-a', 'tenant-a']);
    for (const k of own) expect(k).not.toHaveProperty('hash');
    await expectCode(w.tenancy.keys.list(manageA, { tenantId: 'tenant-b' }), 'not_found');
    await expectCode(w.tenancy.keys.list(inferA), 'forbidden');
    expect((await w.tenancy.keys.list(w.admin)).length).toBe(3);
    expect((await w.tenancy.keys.list(w.admin, { tenantId: 'tenant-a' })).length).toBe(2);
  });

  it('bootstraps an admin key only while none is active', async () => {
    await expectCode(w.tenancy.keys.bootstrapAdmin('root', 'again'), 'conflict');
  });

  it('audits key actions, successes and denials, and scopes audit reads to the tenant', async () => {
    await w.tenancy.keys.mint(manageA, { name: 'up', scopes: ['admin'], limits: {} }).catch(() => {});
    const entries = await w.tenancy.audit.query(manageA, {});
    expect(entries[0]).toMatchObject({
      action: 'key.create',
      actorKeyId: manageA.keyId,
      outcome: 'denied',
      detail: 'forbidden',
      target: 'key:up',
    });
    expect(entries.some((e) => e.outcome === 'success' && e.action === 'key.create')).toBe(true);
    // tenant-a sees nothing about tenant-b's creation; the admin sees everything.
    expect(entries.every((e) => e.actorTenantId === 'tenant-a' || e.targetTenantId === 'tenant-a')).toBe(
      true,
    );
    const all = await w.tenancy.audit.query(w.admin, {});
    expect(all.some((e) => e.action === 'tenant.create' && e.target === 'tenant:tenant-b')).toBe(true);
    await expectCode(w.tenancy.audit.query(inferA, {}), 'forbidden');
  });

  it('authorize: another tenant is 404 before any scope check; public objects are callable', () => {
    expect(() => authorize(inferA, 'manage', 'tenant-b')).toThrowError(
      expect.objectContaining({ code: 'not_found' }),
    );
    expect(() => authorize(inferA, 'manage', 'tenant-a')).toThrowError(
      expect.objectContaining({ code: 'forbidden' }),
    );
    expect(() => authorize(inferA, 'infer', { tenantId: 'root', public: true })).not.toThrow();
    expect(() => authorize(manageA, 'manage', { tenantId: 'root', public: true })).toThrowError(
      expect.objectContaining({ code: 'not_found' }),
    );
    expect(() => authorize(w.admin, 'manage', 'tenant-b')).not.toThrow();
  });

  it('never lets a raw key reach the stores, even through an idempotent key creation', async () => {
    const raws: string[] = [w.adminKey.key];
    for (let i = 0; i < 5; i++) {
      raws.push((await w.tenancy.keys.mint(manageA, { name: `k${i}`, scopes: ['infer'], limits: {} })).key);
    }
    const request = { method: 'POST', path: '/api/v1/keys', body: { name: 'idem', scopes: ['infer'] } };
    const mint = async () => {
      const minted = await w.tenancy.keys.mint(manageA, parseCreateKey(request.body));
      raws.push(minted.key);
      return { status: 201, headers: {}, body: minted };
    };
    const first = await w.tenancy.idempotency.run(manageA, 'idem-1', request, mint, withoutRawKey);
    const replay = await w.tenancy.idempotency.run(manageA, 'idem-1', request, mint, withoutRawKey);
    expect((first.response.body as { key: string }).key).toMatch(/^maas_/);
    expect(replay.replayed).toBe(true);
    expect(replay.response.body).toMatchObject({ id: (first.response.body as { id: string }).id, key: null });
    for (const raw of raws) await w.tenancy.keys.resolve(raw);
    await w.tenancy.keys.resolve(`${raws[1]}0`).catch(() => {});
    await w.tenancy.keys.revoke(manageA, (await w.tenancy.keys.resolve(raws[2])).keyId);
    await w.tenancy.meter.record({
      ...manageA,
      model: 'm',
      version: '1',
      units: 1,
      latencyMs: 1,
      status: 200,
    });

    const dumped = JSON.stringify(w.stores.dump());
    expect(raws).toHaveLength(7);
    for (const raw of raws) {
      expect(dumped).not.toContain(raw);
      expect(dumped).not.toContain(raw.slice(16)); // the secret part alone
    }
    // The lookup prefixes are there: the dump is not vacuously empty.
    expect(dumped).toContain(raws[1].slice(5, 15));
    const error = await rejection(w.tenancy.keys.resolve(raws[2]));
    expect(JSON.stringify({ message: error.message, extras: error.extras })).not.toContain(raws[2]);
  });
});
