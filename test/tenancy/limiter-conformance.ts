/**
 * Conformance suite of the `RateLimiter` port: the  limiter now, a Redis one later.
 * The factory receives the clock the limiter must read (a Redis adapter passes `clock.now()` into
 * its script), so window arithmetic is checked exactly, without sleeping.
 */
import { describe, expect, it } from 'vitest';
import { type Clock, ManualClock } from '../../src/platform/tenancy/clock';
import type { RateLimiter, RateLimitSpec } from '../../src/store/tenancy/ports';

function spec(
  bucket: string,
  limit: number,
  cost = 1,
  dimension: 'requests' | 'units' = 'requests',
): RateLimitSpec {
  return { bucket, policy: bucket, dimension, limit, windowMs: 60_000, cost };
}

export function describeRateLimiterConformance(adapter: string, make: (clock: Clock) => RateLimiter): void {
  describe(`rate limiter conformance: ${adapter}`, () => {
    it('limit 100, 150 simultaneous → exactly 100 allowed, 50 refused with a wait', async () => {
      const clock = new ManualClock();
      const limiter = make(clock);
      const decisions = await Promise.all(
        Array.from({ length: 150 }, () => limiter.consume([spec('k', 100)])),
      );
      const allowed = decisions.filter((d) => d.allowed);
      expect(allowed).toHaveLength(100);
      expect(decisions.slice(0, 100).every((d) => d.allowed)).toBe(true);
      expect(new Set(allowed.map((d) => d.buckets[0].remaining))).toEqual(
        new Set(Array.from({ length: 100 }, (_, i) => i)),
      );
      for (const d of decisions.filter((x) => !x.allowed)) {
        expect(d.retryAfterMs).toBe(60_000); // all 100 charges leave the window together
        expect(d.violated).toEqual(['k']);
        expect(d.buckets[0].remaining).toBe(0);
      }
    });

    it('stays exact when the burst is spread out: 150 over 3 s → 100', async () => {
      const clock = new ManualClock();
      const limiter = make(clock);
      let allowed = 0;
      for (let i = 0; i < 150; i++) {
        if ((await limiter.consume([spec('k', 100)])).allowed) allowed++;
        clock.advance(20);
      }
      expect(allowed).toBe(100);
    });

    it('never admits more than the limit in any window, and refuses only when full', async () => {
      const clock = new ManualClock();
      const limiter = make(clock);
      const admitted: number[] = [];
      let seed = 42;
      const rand = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      for (let i = 0; i < 3000; i++) {
        clock.advance(Math.floor(rand() * 200)); // ≈ 600 requests/min offered against 50/min
        const now = clock.now();
        const inWindow = admitted.filter((t) => t > now - 60_000).length;
        const d = await limiter.consume([spec('k', 50)]);
        expect(d.allowed).toBe(inWindow < 50);
        if (d.allowed) admitted.push(now);
        else expect(now + d.retryAfterMs - 60_000).toBe(admitted.filter((t) => t > now - 60_000)[0]);
      }
      expect(admitted.length).toBeGreaterThan(200); // ≈ 50 per minute over 5 minutes
    });

    it('frees capacity as charges leave the window; reports reset and next-free times', async () => {
      const clock = new ManualClock();
      const limiter = make(clock);
      expect((await limiter.consume([spec('k', 3)])).allowed).toBe(true);
      clock.advance(10_000);
      expect((await limiter.consume([spec('k', 3, 2)])).allowed).toBe(true);
      clock.advance(10_000);
      const refused = await limiter.consume([spec('k', 3)]);
      expect(refused).toMatchObject({ allowed: false, retryAfterMs: 40_000 });
      expect(refused.buckets[0]).toMatchObject({ remaining: 0, resetMs: 50_000, nextUnitMs: 40_000 });
      clock.advance(39_999);
      expect((await limiter.consume([spec('k', 3)])).allowed).toBe(false);
      clock.advance(1);
      const d = await limiter.consume([spec('k', 3)]);
      expect(d.allowed).toBe(true);
      expect(d.buckets[0]).toMatchObject({ remaining: 0, resetMs: 60_000, nextUnitMs: 10_000 });
      clock.advance(60_000);
      expect((await limiter.consume([spec('k', 3, 0)])).buckets[0]).toMatchObject({
        remaining: 3,
        resetMs: 0,
        nextUnitMs: 60_000,
      });
    });

    it('is exact with a limit that does not divide the window (7 per minute)', async () => {
      const limiter = make(new ManualClock());
      const decisions = await Promise.all(Array.from({ length: 10 }, () => limiter.consume([spec('k', 7)])));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(7);
    });

    it('charges every bucket or none', async () => {
      const clock = new ManualClock();
      const limiter = make(clock);
      expect((await limiter.consume([spec('tenant', 2)])).allowed).toBe(true);
      expect((await limiter.consume([spec('tenant', 2)])).allowed).toBe(true);
      const refused = await limiter.consume([spec('key', 5), spec('tenant', 2)]);
      expect(refused.allowed).toBe(false);
      expect(refused.violated).toEqual(['tenant']);
      // The key bucket was not charged by the refused request.
      expect((await limiter.consume([spec('key', 5, 0)])).buckets[0].remaining).toBe(5);
    });

    it('charges unit costs and refuses a cost that does not fit yet', async () => {
      const clock = new ManualClock();
      const limiter = make(clock);
      const first = await limiter.consume([spec('u', 1000, 700, 'units')]);
      expect(first.buckets[0].remaining).toBe(300);
      const second = await limiter.consume([spec('u', 1000, 400, 'units')]);
      expect(second.allowed).toBe(false);
      expect(second.retryAfterMs).toBe(60_000); // when the 700 leave the window
      await limiter.refund([spec('u', 1000, 200, 'units')]);
      expect((await limiter.consume([spec('u', 1000, 400, 'units')])).allowed).toBe(true);
    });

    it('keeps buckets apart: one bucket exhausted leaves another untouched', async () => {
      const limiter = make(new ManualClock());
      await Promise.all(Array.from({ length: 500 }, () => limiter.consume([spec('tenant:a', 10)])));
      const other = await limiter.consume([spec('tenant:b', 10)]);
      expect(other.allowed).toBe(true);
      expect(other.buckets[0].remaining).toBe(9);
    });
  });
}
