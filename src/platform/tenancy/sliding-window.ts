import type { BucketState, RateDecision, RateLimiter, RateLimitSpec } from '../../store/tenancy/ports';
import type { Clock } from './clock';

/** Sweep buckets whose charges have all left their window every this many decisions. */
const SWEEP_EVERY = 10_000;

/** One bucket: charges in time order (ms, cost), with their running sum. */
interface Log {
  at: number[];
  cost: number[];
  head: number;
  used: number;
  windowMs: number;
}

/**
 * In-process rate limiter with a sliding-window log: a bucket admits a request of cost c when
 * the costs charged in the last `windowMs` plus c stay within `limit`. So "100 per minute" means
 * at most 100 in ANY 60 s, however the burst is spread: 150 requests arriving over 2 s get exactly
 * 100 admissions (a token bucket would let one more through per 600 ms of spread).
 *
 * Atomic in one process: `consume` checks and charges with no await in between. All buckets of a
 * call are charged together or not at all, so a request refused by its tenant's bucket costs its
 * key nothing. Memory per bucket: one entry per distinct ms with a charge in the window (≤ 60 000;
 * in practice ≤ the requests admitted in the last minute). A Redis adapter does the same with a
 * sorted set in one Lua script.
 */
export class SlidingWindowRateLimiter implements RateLimiter {
  private readonly logs = new Map<string, Log>();
  private decisions = 0;

  constructor(private readonly clock: Clock) {}

  /** Buckets currently held (empty ones are swept periodically). */
  get size(): number {
    return this.logs.size;
  }

  async consume(specs: readonly RateLimitSpec[]): Promise<RateDecision> {
    return this.consumeSync(specs);
  }

  async refund(specs: readonly RateLimitSpec[]): Promise<void> {
    const now = this.clock.now();
    for (const spec of specs) {
      const log = this.logs.get(spec.bucket);
      if (log === undefined) continue;
      expire(log, now);
      // Newest first: the charges being refunded are the most recent ones.
      let left = spec.cost;
      for (let i = log.at.length - 1; i >= log.head && left > 0; i--) {
        const take = Math.min(left, log.cost[i]);
        log.cost[i] -= take;
        log.used -= take;
        left -= take;
      }
    }
  }

  /** The decision itself, with no await inside: this is what makes it atomic in one process. */
  consumeSync(specs: readonly RateLimitSpec[]): RateDecision {
    const now = this.clock.now();
    if (++this.decisions % SWEEP_EVERY === 0) this.sweep(now);
    const logs = specs.map((spec) => this.log(spec, now));
    const fits = specs.map((spec, i) => spec.cost <= spec.limit && logs[i].used + spec.cost <= spec.limit);
    const allowed = fits.every(Boolean);
    if (allowed) for (let i = 0; i < specs.length; i++) charge(logs[i], now, specs[i].cost);
    const waits = specs.map((spec, i) => (fits[i] ? 0 : waitFor(logs[i], spec, now)));
    return {
      allowed,
      buckets: specs.map((spec, i) => bucketState(spec, logs[i], now)),
      retryAfterMs: Math.max(0, ...waits),
      violated: specs.filter((_, i) => !fits[i]).map((spec) => spec.policy),
    };
  }

  private log(spec: RateLimitSpec, now: number): Log {
    let log = this.logs.get(spec.bucket);
    if (log === undefined) {
      log = { at: [], cost: [], head: 0, used: 0, windowMs: spec.windowMs };
      this.logs.set(spec.bucket, log);
    }
    log.windowMs = spec.windowMs;
    expire(log, now);
    return log;
  }

  private sweep(now: number): void {
    for (const [bucket, log] of this.logs) {
      expire(log, now);
      if (log.used === 0) this.logs.delete(bucket);
    }
  }
}

/** Drop charges that have left the window (a charge at t counts while now < t + window). */
function expire(log: Log, now: number): void {
  while (log.head < log.at.length && log.at[log.head] + log.windowMs <= now) {
    log.used -= log.cost[log.head];
    log.head++;
  }
  // Compact once the dead prefix dominates, keeping pushes amortised O(1).
  if (log.head > 64 && log.head * 2 > log.at.length) {
    log.at = log.at.slice(log.head);
    log.cost = log.cost.slice(log.head);
    log.head = 0;
  }
}

function charge(log: Log, now: number, cost: number): void {
  if (cost === 0) return;
  const last = log.at.length - 1;
  if (last >= log.head && log.at[last] === now) log.cost[last] += cost;
  else {
    log.at.push(now);
    log.cost.push(cost);
  }
  log.used += cost;
}

/** ms until enough old charges leave the window for `spec.cost` to fit. */
function waitFor(log: Log, spec: RateLimitSpec, now: number): number {
  // A cost above the limit can never fit; a full window is the honest "not soon".
  if (spec.cost > spec.limit) return spec.windowMs;
  let freed = 0;
  const needed = log.used + spec.cost - spec.limit;
  for (let i = log.head; i < log.at.length; i++) {
    freed += log.cost[i];
    if (freed >= needed) return log.at[i] + spec.windowMs - now;
  }
  return spec.windowMs;
}

function bucketState(spec: RateLimitSpec, log: Log, now: number): BucketState {
  const live = log.at.length > log.head;
  return {
    bucket: spec.bucket,
    policy: spec.policy,
    dimension: spec.dimension,
    limit: spec.limit,
    windowMs: spec.windowMs,
    remaining: Math.max(0, spec.limit - log.used),
    // Full again when the newest charge leaves the window.
    resetMs: live ? log.at[log.at.length - 1] + spec.windowMs - now : 0,
    // Nothing more frees up before the oldest charge leaves; an empty bucket holds for a window.
    nextUnitMs: live ? log.at[log.head] + spec.windowMs - now : spec.windowMs,
  };
}
