/**
 * The shared rate limiter: the same sliding-window log as the in-process one
 * (`src/platform/tenancy/sliding-window.ts`), kept in Redis so that every API process charges the
 * same buckets. One bucket is a sorted set of charges (score = epoch ms, member = `<id>:<cost>`)
 * plus a running sum; one Lua script checks and charges all buckets of a request at once, and
 * Redis runs a script atomically, so "100 per minute" admits exactly 100 across any number of
 * processes. Scripts go through ioredis's `defineCommand` (EVALSHA, falling back to EVAL).
 *
 * Time comes from the caller's clock (ms): processes on several machines need synchronised
 * clocks (NTP), as they do for TLS and logs anyway; a skew of s ms moves a window edge by s ms.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { fail } from '../../common/errors';
import type { BucketState, RateDecision, RateLimiter, RateLimitSpec } from '../tenancy/ports';

/**
 * KEYS: per bucket i, its log (2i-1) and its sum (2i). ARGV: now (ms), charge id, then per bucket
 * limit, window (ms), cost. Returns allowed (1/0) then per bucket: used after the decision,
 * fits (1/0), oldest charge (ms, -1 none), newest charge (ms, -1 none), wait (ms; 0 when it fits).
 */
const CONSUME = `
local now = tonumber(ARGV[1])
local id = ARGV[2]
local n = #KEYS / 2
local used, fits, allowed = {}, {}, true
local function costOf(member) return tonumber(string.match(member, ':(%d+)$')) end
for i = 1, n do
  local log, total = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, window, cost = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2])
  local gone = redis.call('ZRANGEBYSCORE', log, '-inf', now - window)
  local u = tonumber(redis.call('GET', total) or '0')
  if #gone > 0 then
    for _, m in ipairs(gone) do u = u - costOf(m) end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
  end
  if redis.call('ZCARD', log) == 0 then
    u = 0
    redis.call('DEL', total)
  elseif #gone > 0 then
    redis.call('SET', total, u, 'KEEPTTL')
  end
  used[i] = u
  fits[i] = cost <= limit and u + cost <= limit
  if not fits[i] then allowed = false end
end
local out = { allowed and 1 or 0 }
for i = 1, n do
  local log, total = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, window, cost = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2])
  if allowed and cost > 0 then
    redis.call('ZADD', log, now, id .. ':' .. i .. ':' .. cost)
    used[i] = used[i] + cost
    redis.call('SET', total, used[i], 'PX', window)
    redis.call('PEXPIRE', log, window)
  end
  local wait = 0
  if not fits[i] then
    wait = window
    if cost <= limit then
      local needed, freed = used[i] + cost - limit, 0
      local charges = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
      for j = 1, #charges, 2 do
        freed = freed + costOf(charges[j])
        if freed >= needed then
          wait = tonumber(charges[j + 1]) + window - now
          break
        end
      end
    end
  end
  local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
  local newest = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
  out[#out + 1] = used[i]
  out[#out + 1] = fits[i] and 1 or 0
  out[#out + 1] = oldest[2] and tonumber(oldest[2]) or -1
  out[#out + 1] = newest[2] and tonumber(newest[2]) or -1
  out[#out + 1] = wait
end
return out
`;

/**
 * KEYS as CONSUME; ARGV: per bucket its cost to give back. Newest charges first (the ones being
 * refunded are the most recent); a charge reduced to part of its cost keeps its time.
 */
const REFUND = `
local n = #KEYS / 2
for i = 1, n do
  local log, total = KEYS[2 * i - 1], KEYS[2 * i]
  local left = tonumber(ARGV[i])
  local given = 0
  local charges = redis.call('ZREVRANGE', log, 0, -1, 'WITHSCORES')
  for j = 1, #charges, 2 do
    if left <= 0 then break end
    local member = charges[j]
    local prefix, cost = string.match(member, '^(.*):(%d+)$')
    cost = tonumber(cost)
    local take = math.min(left, cost)
    redis.call('ZREM', log, member)
    if cost > take then redis.call('ZADD', log, charges[j + 1], prefix .. 'r:' .. (cost - take)) end
    left = left - take
    given = given + take
  end
  if given > 0 and redis.call('EXISTS', total) == 1 then redis.call('DECRBY', total, given) end
end
return 1
`;

interface ScriptClient {
  maasRateConsume(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  maasRateRefund(numKeys: number, ...args: (string | number)[]): Promise<number>;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly scripts: ScriptClient;

  constructor(
    client: Redis,
    private readonly prefix: string,
    private readonly clock: { now(): number },
  ) {
    client.defineCommand('maasRateConsume', { lua: CONSUME });
    client.defineCommand('maasRateRefund', { lua: REFUND });
    this.scripts = client as unknown as ScriptClient;
  }

  private keys(specs: readonly RateLimitSpec[]): string[] {
    return specs.flatMap((s) => [`${this.prefix}rl:${s.bucket}`, `${this.prefix}rl:${s.bucket}:sum`]);
  }

  async consume(specs: readonly RateLimitSpec[]): Promise<RateDecision> {
    if (specs.length === 0) return { allowed: true, buckets: [], retryAfterMs: 0, violated: [] };
    const now = Math.floor(this.clock.now());
    const keys = this.keys(specs);
    const args = specs.flatMap((s) => [s.limit, s.windowMs, s.cost]);
    const out = await this.scripts
      .maasRateConsume(keys.length, ...keys, now, randomBytes(8).toString('hex'), ...args)
      .catch((): never =>
        // Without Redis no decision can be made: refuse (503, retry shortly) rather than admit
        // unlimited traffic; /readyz says the same, so a load balancer moves traffic elsewhere.
        fail('not_ready', 'the rate limiter (Redis) does not answer; retry shortly', {
          retryAfterSeconds: 5,
        }),
      );
    const buckets: BucketState[] = [];
    const violated: string[] = [];
    let retryAfterMs = 0;
    specs.forEach((spec, i) => {
      const [used, fits, oldest, newest, wait] = out.slice(1 + 5 * i, 6 + 5 * i).map(Number);
      if (!fits) violated.push(spec.policy);
      retryAfterMs = Math.max(retryAfterMs, wait);
      buckets.push({
        bucket: spec.bucket,
        policy: spec.policy,
        dimension: spec.dimension,
        limit: spec.limit,
        windowMs: spec.windowMs,
        remaining: Math.max(0, spec.limit - used),
        resetMs: newest >= 0 ? newest + spec.windowMs - now : 0,
        nextUnitMs: oldest >= 0 ? oldest + spec.windowMs - now : spec.windowMs,
      });
    });
    return { allowed: out[0] === 1, buckets, retryAfterMs, violated };
  }

  async refund(specs: readonly RateLimitSpec[]): Promise<void> {
    const owed = specs.filter((s) => s.cost > 0);
    if (owed.length === 0) return;
    const keys = this.keys(owed);
    // A refund lost to a Redis outage over-counts those units for at most one window: not worth
    // failing a request that was already served.
    await this.scripts.maasRateRefund(keys.length, ...keys, ...owed.map((s) => s.cost)).catch(() => {});
  }
}
