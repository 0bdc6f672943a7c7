import type { Clock } from './clock';
import type { BucketState, RateDecision, RateLimiter, RateLimitSpec } from './ports';

/**
 * Tolerance for float rounding, in ms: with limit 7 per 60 000 ms one unit is 8 571.43 ms, and
 * seven of them may sum to 60 000.000000001 — which must still fit.
 */
const EPSILON_MS = 1e-6;
/** Sweep full buckets (equivalent to absent ones) every this many decisions. */
const SWEEP_EVERY = 10_000;

/**
 * In-process rate limiter using GCRA (the generic cell rate algorithm, a token bucket kept as one
 * number per bucket): each bucket stores its theoretical arrival time `tat`; a request of cost c
 * fits when `max(tat, now) + c·T − now ≤ window`, with T = window / limit ms per unit. A bucket
 * therefore allows `limit` at once (the burst) and then refills one unit every T ms.
 *
 * Exact under bursts: `consume` does its whole check-and-charge synchronously, so 150 concurrent
 * calls against a limit of 100 see exactly 100 admissions. All buckets of a call are charged
 * together or not at all, so a request refused by its tenant's bucket costs its key nothing.
 */
export class GcraRateLimiter implements RateLimiter {
  private readonly tat = new Map<string, number>();
  private decisions = 0;

  constructor(private readonly clock: Clock) {}

  /** Buckets currently held (full ones are swept periodically). */
  get size(): number {
    return this.tat.size;
  }

  async consume(specs: readonly RateLimitSpec[]): Promise<RateDecision> {
    return this.consumeSync(specs);
  }

  async refund(specs: readonly RateLimitSpec[]): Promise<void> {
    const now = this.clock.now();
    for (const spec of specs) {
      const tat = this.tat.get(spec.bucket);
      if (tat === undefined) continue;
      const back = tat - spec.cost * (spec.windowMs / spec.limit);
      if (back <= now) this.tat.delete(spec.bucket);
      else this.tat.set(spec.bucket, back);
    }
  }

  /** The decision itself, with no await inside: this is what makes it atomic in one process. */
  consumeSync(specs: readonly RateLimitSpec[]): RateDecision {
    const now = this.clock.now();
    if (++this.decisions % SWEEP_EVERY === 0) this.sweep(now);
    const next = specs.map((spec) => {
      const unitMs = spec.windowMs / spec.limit;
      const start = Math.max(this.tat.get(spec.bucket) ?? now, now);
      const end = start + spec.cost * unitMs;
      const fits = spec.cost <= spec.limit && end - now <= spec.windowMs + EPSILON_MS;
      return { spec, start, end, fits, waitMs: Math.max(0, end - now - spec.windowMs) };
    });
    const allowed = next.every((n) => n.fits);
    if (allowed) for (const n of next) this.tat.set(n.spec.bucket, n.end);
    const denied = next.filter((n) => !n.fits);
    return {
      allowed,
      buckets: next.map((n) => bucketState(n.spec, allowed ? n.end : n.start, now)),
      // A cost above the limit can never fit; a full window is the honest "not soon".
      retryAfterMs: Math.max(
        0,
        ...denied.map((n) => (n.spec.cost > n.spec.limit ? n.spec.windowMs : n.waitMs)),
      ),
      violated: denied.map((n) => n.spec.policy),
    };
  }

  private sweep(now: number): void {
    for (const [bucket, tat] of this.tat) if (tat <= now) this.tat.delete(bucket);
  }
}

function bucketState(spec: RateLimitSpec, tat: number, now: number): BucketState {
  const unitMs = spec.windowMs / spec.limit;
  const debtMs = Math.max(0, tat - now);
  const remaining = Math.max(0, Math.floor((spec.windowMs - debtMs) / unitMs + EPSILON_MS));
  // Debt must fall to window − (remaining + 1)·T before one more unit fits.
  const nextUnitMs = Math.max(0, debtMs - spec.windowMs + (remaining + 1) * unitMs);
  return {
    bucket: spec.bucket,
    policy: spec.policy,
    dimension: spec.dimension,
    limit: spec.limit,
    windowMs: spec.windowMs,
    remaining,
    resetMs: Math.ceil(debtMs),
    nextUnitMs: Math.ceil(nextUnitMs),
  };
}
