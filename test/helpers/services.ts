/**
 * Redis for the suites that need it (PostgreSQL: ./postgres.ts). Probed once (a TCP connect, 1 s);
 * when it is down its suites are skipped with a line saying so, unless MAAS_REQUIRE_SERVICES=1
 * (CI), where a missing service fails the run instead of hiding the suites.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export const TEST_REDIS_URL = process.env.MAAS_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || defaultPort), timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

async function service(name: string, url: string, port: number): Promise<boolean> {
  if (await reachable(url, port)) return true;
  const why = `${name} is not reachable at ${new URL(url).host}`;
  if (process.env.MAAS_REQUIRE_SERVICES === '1')
    throw new Error(`${why}, and MAAS_REQUIRE_SERVICES=1 forbids skipping its suites`);
  console.warn(`skipped: ${why} (start it, or set MAAS_TEST_${name.toUpperCase()}_URL)`);
  return false;
}

export const redisAvailable = (): Promise<boolean> => service('Redis', TEST_REDIS_URL, 6379);

/** A key prefix no other run uses, e.g. `maas-test-3f9a1c:`. */
export const freshRedisPrefix = (): string => `maas-test-${randomBytes(4).toString('hex')}:`;
