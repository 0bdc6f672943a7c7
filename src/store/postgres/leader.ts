/**
 * The `LeaderLock` port on PostgreSQL: `pg_try_advisory_lock` held by a connection of its own (not
 * a pool slot). The lock lives exactly as long as that session: given up by `release`, or freed by
 * the server the moment the holder's connection ends, so a leader that dies (even `kill -9`) hands
 * over to the next `tryAcquire` of another process with no timeout of ours. The key is derived
 * from the schema, so deployments sharing a database in different schemas elect separately.
 */
import type pg from 'pg';
import type { LeaderLock } from '../leader';

const TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext('maas.leader:' || current_schema())) AS ok";

export class PostgresLeaderLock implements LeaderLock {
  /** The session holding the lock; null while this process does not lead. */
  private holder: pg.Client | null = null;

  /** `connect` makes a new, not yet connected client with the store's settings (its schema). */
  constructor(private readonly connect: () => pg.Client) {}

  async tryAcquire(): Promise<boolean> {
    if (this.holder) {
      // Still leading only if the session is: a round trip proves it (a dead one frees the lock).
      if (
        await this.holder.query('SELECT 1').then(
          () => true,
          () => false,
        )
      )
        return true;
      await this.release();
    }
    const client = this.connect();
    // A dropped connection ends the lead (the server freed the lock); never crash on it.
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>(TRY_LOCK);
      if (rows[0]?.ok) {
        this.holder = client;
        return true;
      }
    } catch {
      // Unreachable database: not the leader (never throws, per the port).
    }
    await client.end().catch(() => {});
    return false;
  }

  async release(): Promise<void> {
    const client = this.holder;
    this.holder = null;
    // Ending the session releases its advisory locks.
    if (client) await client.end().catch(() => {});
  }

  private lost(client: pg.Client): void {
    if (this.holder === client) this.holder = null;
  }
}
