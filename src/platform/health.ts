/**
 * Readiness of the services a process depends on: the database (one indexed read) and Redis
 * (PING), each bounded in time so that `/readyz` answers even when a service hangs.
 */
import type { Store } from '../store/ports';

export interface ServiceHealth {
  ok: boolean;
  /** Round-trip time (ms) when ok. */
  ms?: number;
  /** Why not ok: a short message without addresses or credentials. */
  error?: string;
}

export interface Health {
  database: ServiceHealth;
  /** Null when this process uses no Redis (in-process limits and events). */
  redis: ServiceHealth | null;
}

const TIMEOUT_MS = 2000;

async function probe(check: () => Promise<unknown>): Promise<ServiceHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (e) {
    const message = (e as Error).message;
    // Drivers put host:port (and sometimes the user) in connection errors: say what, not where.
    return { ok: false, error: /within/.test(message) ? message : 'unreachable or refusing queries' };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkHealth(store: Store, redisPing: (() => Promise<number>) | null): Promise<Health> {
  const [database, redis] = await Promise.all([
    probe(() => store.tenancy.tenants.get('default')),
    redisPing ? probe(redisPing) : Promise.resolve(null),
  ]);
  return { database, redis };
}
