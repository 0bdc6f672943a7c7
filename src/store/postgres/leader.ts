/**
 * Leadership by a session-level PostgreSQL advisory lock (`pg_try_advisory_lock`), held on a
 * connection of its own for as long as this process leads. PostgreSQL frees the lock when that
 * connection ends — a clean exit, a crash or `kill -9` alike — so the next process asking takes
 * over; nothing of ours times out or votes.
 */
import pg from 'pg';
import type { LeaderLock } from '../leader';
import { checkSchemaName } from './db';

/** One lock per schema, so deployments sharing a database in different schemas lead separately. */
const TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext('maas.leader:' || $1)) AS held";

export function postgresLeaderLock(url: string, schema?: string): LeaderLock {
  const key = schema === undefined ? 'default' : checkSchemaName(schema);
  let client: pg.Client | null = null;
  let held = false;
  const drop = () => {
    const c = client;
    client = null;
    held = false;
    c?.end().catch(() => {});
  };
  return {
    async tryAcquire() {
      try {
        if (client === null) {
          const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
          // A lost connection means a lost lock: the next call starts over.
          c.on('error', () => {
            if (client === c) drop();
          });
          c.on('end', () => {
            if (client === c) drop();
          });
          client = c;
          await c.connect();
        }
        if (held) {
          await client.query('SELECT 1');
          return held;
        }
        const { rows } = await client.query<{ held: boolean }>(TRY_LOCK, [key]);
        held = rows[0]?.held === true;
        return held;
      } catch {
        drop();
        return false;
      }
    },
    async release() {
      drop();
    },
  };
}
