/**
 * The one module that opens Redis connections (only `src/store/redis` imports ioredis). A
 * deployment's processes share one Redis: sliding-window rate limits (`rate-limiter.ts`) and
 * messages between processes (`bus.ts`). Every key and channel starts with the configured prefix,
 * so several deployments (or test runs) can share one Redis.
 */
import { Redis } from 'ioredis';

export interface RedisOptions {
  /** `redis://host:6379/0` (a password in it is never logged). */
  url: string;
  /** Prefix of every key and channel, e.g. `maas:`. */
  prefix: string;
}

/** A command connection; a subscriber needs its own (`duplicate`), see bus.ts. */
export function connectRedis(options: RedisOptions): Redis {
  const client = new Redis(options.url, {
    // A request fails after this many reconnection attempts instead of waiting forever: a rate
    // limit decision that cannot be made fails the request rather than hanging it.
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    lazyConnect: false,
  });
  quietErrors(client);
  return client;
}

/**
 * Connection errors (Redis restarting, unreachable) are reported by the commands that fail and by
 * `/readyz`; ioredis reconnects by itself. Without a listener it would print every attempt.
 */
export function quietErrors(client: Redis): void {
  client.on('error', () => {});
}

/** Round-trip time of a PING (ms); throws when Redis does not answer within `timeoutMs`. */
export async function pingRedis(client: Redis, timeoutMs = 2000): Promise<number> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([client.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - started;
}
