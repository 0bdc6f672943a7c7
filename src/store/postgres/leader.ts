/**
 * Leader election on PostgreSQL: `pg_try_advisory_lock` on a dedicated connection (not a pool
 * slot). The lock lives as long as that session: released explicitly, or by the server the moment
 * the holder's connection ends (a `kill -9`d process leads nothing). Keys are per schema and task,
 * so two deployments sharing a database in different schemas elect separately.
 */
import type pg from 'pg';
import type { LeaderElection, LeaderLease } from '../ports';

const KEY = "hashtext('maas.leader:' || current_schema() || ':' || $1)";

export class PostgresLeaderElection implements LeaderElection {
  private readonly leases = new Set<PostgresLeaderLease>();

  constructor(private readonly connect: () => pg.Client) {}

  async tryLead(task: string): Promise<LeaderLease | null> {
    const client = this.connect();
    // A dropped connection ends the lease (the server released the lock); never crash on it.
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${KEY}) AS ok`, [
        task,
      ]);
      if (!rows[0]?.ok) {
        await client.end();
        return null;
      }
    } catch (e) {
      await client.end().catch(() => {});
      throw e;
    }
    const lease = new PostgresLeaderLease(client, () => this.leases.delete(lease));
    this.leases.add(lease);
    return lease;
  }

  /** Releases every lease this process holds (store close). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.leases].map((l) => l.release()));
  }
}

class PostgresLeaderLease implements LeaderLease {
  private live = true;

  constructor(
    private readonly client: pg.Client,
    private readonly forget: () => void,
  ) {
    const lost = () => {
      this.live = false;
      this.forget();
    };
    client.on('end', lost);
    client.on('error', lost);
  }

  get held(): boolean {
    return this.live;
  }

  async release(): Promise<void> {
    if (!this.live) return;
    this.live = false;
    this.forget();
    // Ending the session releases its advisory locks.
    await this.client.end().catch(() => {});
  }
}
