/**
 * Redis for a deployment of several processes: the shared rate limiter and the bus between
 * processes, over two connections (commands, and one in subscriber mode).
 */
import type { Redis } from 'ioredis';
import type { RateLimiter } from '../tenancy/ports';
import { RedisBus } from './bus';
import { connectRedis, pingRedis, quietErrors, type RedisOptions } from './connection';
import { RedisRateLimiter } from './rate-limiter';

export interface SharedRedis {
  limiter: RateLimiter;
  bus: RedisBus;
  /** Round-trip time (ms); throws when Redis does not answer (readiness). */
  ping(): Promise<number>;
  /** Idempotent. */
  close(): Promise<void>;
}

export function openSharedRedis(options: RedisOptions, clock: { now(): number }): SharedRedis {
  const client: Redis = connectRedis(options);
  const subscriber = client.duplicate();
  quietErrors(subscriber);
  const bus = new RedisBus(client, subscriber, options.prefix);
  let closed: Promise<void> | null = null;
  return {
    limiter: new RedisRateLimiter(client, options.prefix, clock),
    bus,
    ping: () => pingRedis(client),
    close: () => {
      closed ??= bus.close().then(async () => {
        await client.quit().catch(() => client.disconnect());
      });
      return closed;
    },
  };
}

export { RedisBus } from './bus';
