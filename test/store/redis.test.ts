import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { RateLimitSpec } from '../../src/platform/tenancy/index';
import { ManualClock, SlidingWindowRateLimiter } from '../../src/platform/tenancy/index';
import { openSharedRedis, type SharedRedis } from '../../src/store/redis/index';
import { freshRedisPrefix, redisAvailable, TEST_REDIS_URL } from '../helpers/services';

const available = await redisAvailable();

const spec = (limit: number, cost = 1, bucket = 'key:k1:requests'): RateLimitSpec => ({
  bucket,
  policy: 'key-requests',
  dimension: 'requests',
  limit,
  windowMs: 60_000,
  cost,
});

describe.skipIf(!available)('Redis: shared rate limits and the bus', () => {
  const prefix = freshRedisPrefix();
  const opened: SharedRedis[] = [];
  const open = (clock = new ManualClock()) => {
    const r = openSharedRedis({ url: TEST_REDIS_URL, prefix }, clock);
    opened.push(r);
    return r;
  };

  afterAll(async () => {
    const admin = new Redis(TEST_REDIS_URL);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
    await Promise.all(opened.map((r) => r.close()));
  });

  it('a 100/min bucket hit 150 times at once through two connections admits exactly 100', async () => {
    const clock = new ManualClock();
    const [a, b] = [open(clock), open(clock)];
    const calls = Array.from({ length: 150 }, (_, i) => (i % 2 ? a : b).limiter.consume([spec(100)]));
    const decisions = await Promise.all(calls);
    expect(decisions.filter((d) => d.allowed)).toHaveLength(100);
    const refused = decisions.find((d) => !d.allowed);
    expect(refused?.violated).toEqual(['key-requests']);
    expect(refused?.buckets[0].remaining).toBe(0);
    // All charges landed at the same ms: the window frees them all 60 s later.
    expect(refused?.retryAfterMs).toBe(60_000);
  });

  it('decides like the in-process limiter: sliding window, all-or-nothing, refunds', async () => {
    const clock = new ManualClock();
    const shared = open(clock).limiter;
    const local = new SlidingWindowRateLimiter(clock);
    const key = spec(5, 1, 'key:k2:requests');
    const tenant = { ...spec(3, 2, 'tenant:t2:units'), policy: 'tenant-units', dimension: 'units' as const };
    const steps: Array<() => void> = [
      () => {},
      () => clock.advance(10_000),
      () => {},
      () => clock.advance(45_000),
      () => {},
      () => clock.advance(6_000),
      () => {},
    ];
    for (const step of steps) {
      step();
      const [s, l] = [await shared.consume([key, tenant]), await local.consume([key, tenant])];
      expect(s).toEqual(l);
    }
    // A refund gives units back to the newest charge in both.
    await shared.refund([{ ...tenant, cost: 1 }]);
    await local.refund([{ ...tenant, cost: 1 }]);
    const after = { ...tenant, cost: 1 };
    expect(await shared.consume([after])).toEqual(await local.consume([after]));
  });

  it('without Redis a decision is refused with 503 not_ready (never admitted unlimited), a refund is dropped', async () => {
    const gone = openSharedRedis({ url: TEST_REDIS_URL, prefix }, new ManualClock());
    await gone.close();
    await expect(gone.limiter.consume([spec(100)])).rejects.toMatchObject({
      code: 'not_ready',
      message: expect.stringMatching(/Redis/),
    });
    await expect(gone.limiter.refund([spec(100)])).resolves.toBeUndefined();
  });

  it('a message published by one process reaches subscribers of every process', async () => {
    const [a, b] = [open(), open()];
    const got: string[] = [];
    b.bus.subscribe('version-removed', (m) => got.push(`b:${m}`));
    a.bus.subscribe('version-removed', (m) => got.push(`a:${m}`));
    await Promise.all([a.bus.ready(), b.bus.ready()]);
    await a.bus.publish('version-removed', '{"v":1}');
    for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got.sort()).toEqual(['a:{"v":1}', 'b:{"v":1}']);
    expect(await a.ping()).toBeGreaterThan(0);
  });
});
