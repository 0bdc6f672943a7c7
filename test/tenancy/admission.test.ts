import { describe, expect, it } from 'vitest';
import type { MaasError } from '../../src/common/errors';
import {
  formatDuration,
  type Limits,
  ManualClock,
  monthOf,
  type Principal,
} from '../../src/platform/tenancy/index';
import { expectCode, makeWorld, rejection, type World } from './fixture';

/** A world with one tenant and one infer key carrying the given limits. */
async function withKey(
  tenantLimits: Limits,
  keyLimits: Limits,
  clock?: ManualClock,
  tenant = 'acme',
  existing?: World,
): Promise<{ w: World; p: Principal }> {
  const w = existing ?? (await makeWorld(clock));
  await w.tenancy.tenants.create(w.admin, { name: tenant, limits: tenantLimits });
  const k = await w.tenancy.keys.mint(w.admin, { tenant, name: 'app', scopes: ['infer'], limits: keyLimits });
  return { w, p: await w.tenancy.keys.resolve(k.key) };
}

function settleAll<T>(
  promises: Promise<T>[],
): Promise<Array<{ ok: true; value: T } | { ok: false; error: MaasError }>> {
  return Promise.all(
    promises.map((p) =>
      p.then(
        (value) => ({ ok: true as const, value }),
        (error: MaasError) => ({ ok: false as const, error }),
      ),
    ),
  );
}

describe('admission: rate limits', () => {
  it('limit 100, 150 simultaneous → exactly 100 admitted and 50 × 429 with Retry-After and headers', async () => {
    const { w, p } = await withKey({}, { requestsPerMinute: 100 });
    const results = await settleAll(Array.from({ length: 150 }, () => w.tenancy.admission.admit(p)));
    const ok = results.filter((r) => r.ok);
    const refused = results.flatMap((r) => (r.ok ? [] : [r.error]));
    expect(ok).toHaveLength(100);
    expect(refused).toHaveLength(50);
    for (const e of refused) {
      expect(e.code).toBe('rate_limited');
      expect(e.status).toBe(429);
      expect(e.extras.retryAfterSeconds).toBeGreaterThanOrEqual(59);
      expect(e.extras.retryAfterSeconds).toBeLessThanOrEqual(60);
      expect(e.extras.headers).toMatchObject({
        'retry-after': String(e.extras.retryAfterSeconds),
        'x-ratelimit-limit-requests': '100',
        'x-ratelimit-remaining-requests': '0',
      });
    }
  });

  it('produces exact OpenAI and IETF header values', async () => {
    const clock = new ManualClock();
    const { w, p } = await withKey(
      { requestsPerMinute: 1000 },
      { requestsPerMinute: 100, unitsPerMinute: 10_000 },
      clock,
    );
    const ticket = await w.tenancy.admission.admit(p, 250);
    expect(ticket.headers).toEqual({
      'x-ratelimit-limit-requests': '100',
      'x-ratelimit-remaining-requests': '99',
      'x-ratelimit-reset-requests': '1m0s',
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': '9750',
      'x-ratelimit-reset-tokens': '1m0s',
      'ratelimit-policy':
        '"key-requests";q=100;w=60, "key-units";q=10000;w=60;maas-qu="units", "tenant-requests";q=1000;w=60',
      ratelimit: '"key-requests";r=99;t=60, "key-units";r=9750;t=60, "tenant-requests";r=999;t=60',
    });
    // 99 more empty the key's request bucket; the next is refused, and says when to come back.
    for (let i = 0; i < 99; i++) await w.tenancy.admission.admit(p);
    clock.advance(250);
    const refused = await expectCode(w.tenancy.admission.admit(p), 'rate_limited');
    expect(refused.extras.headers).toMatchObject({
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '59.75s',
      'retry-after': '60',
    });
    expect(refused.extras.headers?.ratelimit).toContain('"key-requests";r=0;t=60');
    expect(refused.message).toContain('key-requests');
    clock.advance(59_749);
    await expectCode(w.tenancy.admission.admit(p), 'rate_limited');
    clock.advance(1);
    await expect(w.tenancy.admission.admit(p)).resolves.toBeTruthy();
  });

  it('formats durations as OpenAI does', () => {
    expect([0, 20, 600, 1000, 1500, 60_000, 90_500, 3_723_000].map(formatDuration)).toEqual([
      '0s',
      '20ms',
      '600ms',
      '1s',
      '1.5s',
      '1m0s',
      '1m30.5s',
      '1h2m3s',
    ]);
  });

  it('one tenant’s flood never refuses another tenant', async () => {
    const { w, p: flooder } = await withKey({ requestsPerMinute: 50, unitsPerMinute: 1000 }, {});
    const { p: quiet } = await withKey(
      { requestsPerMinute: 50, unitsPerMinute: 1000 },
      {},
      undefined,
      'quiet',
      w,
    );
    const flood = Array.from({ length: 500 }, () => w.tenancy.admission.admit(flooder, 10));
    const calm = Array.from({ length: 20 }, () => w.tenancy.admission.admit(quiet, 10));
    const [floodResults, calmResults] = await Promise.all([settleAll(flood), settleAll(calm)]);
    expect(floodResults.filter((r) => r.ok)).toHaveLength(50);
    expect(calmResults.every((r) => r.ok)).toBe(true);
    const last = calmResults.at(-1);
    expect(last?.ok && last.value.headers['x-ratelimit-remaining-requests']).toBe('30');
  });

  it('charges units per minute and refuses a request larger than the limit outright', async () => {
    const clock = new ManualClock();
    const { w, p } = await withKey({}, { unitsPerMinute: 1000 }, clock);
    await w.tenancy.admission.admit(p, 900);
    clock.advance(15_000);
    const e = await expectCode(w.tenancy.admission.admit(p, 200), 'rate_limited');
    expect(e.extras.retryAfterSeconds).toBe(45); // when the 900 charged 15 s ago leave the window
    await expectCode(w.tenancy.admission.admit(p, 1001), 'unprocessable');
  });

  it('settle returns unused units to the bucket', async () => {
    const clock = new ManualClock();
    const { w, p } = await withKey({}, { unitsPerMinute: 1000 }, clock);
    const t = await w.tenancy.admission.admit(p, 800);
    await w.tenancy.admission.settle(t, 300);
    const next = await w.tenancy.admission.admit(p, 600);
    expect(next.headers['x-ratelimit-remaining-tokens']).toBe('100');
  });
});

describe('admission: monthly quotas', () => {
  it('50 parallel spenders never overdraw the tenant’s allowance', async () => {
    const clock = new ManualClock();
    const { w, p } = await withKey({ monthlyUnits: 1000 }, {}, clock);
    const results = await settleAll(Array.from({ length: 50 }, () => w.tenancy.admission.admit(p, 30)));
    expect(results.filter((r) => r.ok)).toHaveLength(33);
    const refused = results.flatMap((r) => (r.ok ? [] : [r.error]));
    expect(refused).toHaveLength(17);
    for (const e of refused) {
      expect(e.code).toBe('quota_exceeded');
      expect(e.status).toBe(429);
    }
    expect(await w.stores.quotas.used(monthOf(clock.now()), 'acme')).toBe(990);
  });

  it('a key allowance binds below the tenant’s; the next month starts afresh', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 31, 23, 59, 0));
    const { w, p } = await withKey({ monthlyUnits: 1000 }, { monthlyUnits: 100 }, clock);
    await w.tenancy.admission.admit(p, 100);
    const e = await expectCode(w.tenancy.admission.admit(p, 1), 'quota_exceeded');
    expect(e.extras.retryAfterSeconds).toBe(60); // until 2026-02-01T00:00Z
    expect(e.extras.headers?.['retry-after']).toBe('60');
    clock.advance(60_000);
    await expect(w.tenancy.admission.admit(p, 100)).resolves.toBeTruthy();
  });

  it('a request refused by the quota costs no rate limit; settle credits unused units', async () => {
    const clock = new ManualClock();
    const { w, p } = await withKey({ monthlyUnits: 50 }, { requestsPerMinute: 2 }, clock);
    await expectCode(w.tenancy.admission.admit(p, 60), 'quota_exceeded');
    const t = await w.tenancy.admission.admit(p, 50);
    await w.tenancy.admission.settle(t, 20);
    expect(await w.stores.quotas.used(monthOf(clock.now()), 'acme')).toBe(20);
    await expect(w.tenancy.admission.admit(p, 30)).resolves.toBeTruthy();
    const third = await rejection(w.tenancy.admission.admit(p, 1));
    expect(third.code).toBe('rate_limited');
  });
});
