/**
 * SQLite adapter of the training ports (datasets, jobs with leases, job events). Claiming a job
 * is one transaction, so two servers on the same database never run the same job twice.
 */
import type Database from 'better-sqlite3';
import { fail } from '../../common/errors';
import type {
  ClaimOptions,
  DatasetKind,
  DatasetRecord,
  DatasetRepository,
  JobEvent,
  JobRecord,
  JobStatus,
  NewDataset,
  NewJob,
  TrainingRepository,
} from '../training-ports';
import { TERMINAL_STATUSES } from '../training-ports';

const now = (): string => new Date().toISOString();

interface DatasetRow {
  owner: string;
  name: string;
  digest: string;
  size_bytes: number;
  format: string;
  kind: string;
  description_json: string;
  created_at: string;
}

const toDataset = (r: DatasetRow): DatasetRecord => ({
  owner: r.owner,
  name: r.name,
  digest: r.digest,
  sizeBytes: r.size_bytes,
  format: r.format,
  kind: r.kind as DatasetKind,
  description: JSON.parse(r.description_json),
  createdAt: r.created_at,
});

export class SqliteDatasets implements DatasetRepository {
  constructor(private readonly db: Database.Database) {}

  async create(d: NewDataset): Promise<DatasetRecord> {
    try {
      this.db
        .prepare(
          'INSERT INTO datasets (owner, name, digest, size_bytes, format, kind, description_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(d.owner, d.name, d.digest, d.sizeBytes, d.format, d.kind, JSON.stringify(d.description), now());
    } catch (e) {
      if (String((e as { code?: string }).code).startsWith('SQLITE_CONSTRAINT'))
        fail('conflict', `dataset '${d.name}' already exists`);
      throw e;
    }
    return (await this.get(d.owner, d.name))!;
  }

  async get(owner: string, name: string): Promise<DatasetRecord | null> {
    const row = this.db.prepare('SELECT * FROM datasets WHERE owner = ? AND name = ?').get(owner, name) as
      | DatasetRow
      | undefined;
    return row ? toDataset(row) : null;
  }

  async list(owner: string): Promise<DatasetRecord[]> {
    const rows = this.db.prepare('SELECT * FROM datasets WHERE owner = ? ORDER BY name').all(owner);
    return (rows as DatasetRow[]).map(toDataset);
  }

  async delete(owner: string, name: string): Promise<DatasetRecord | null> {
    return this.db.transaction(() => {
      const row = this.db.prepare('SELECT * FROM datasets WHERE owner = ? AND name = ?').get(owner, name) as
        | DatasetRow
        | undefined;
      if (!row) return null;
      this.db.prepare('DELETE FROM datasets WHERE owner = ? AND name = ?').run(owner, name);
      return toDataset(row);
    })();
  }

  async referencedDigests(): Promise<Set<string>> {
    const rows = this.db.prepare('SELECT DISTINCT digest FROM datasets').all() as { digest: string }[];
    return new Set(rows.map((r) => r.digest));
  }
}

interface JobRow {
  id: string;
  owner: string;
  family: string;
  dataset: string;
  dataset_digest: string | null;
  target: string | null;
  model: string;
  hyperparameters_json: string;
  status: string;
  error: string | null;
  attempts: number;
  lease_until: number;
  checkpoint_step: number;
  result_json: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

const toJob = (r: JobRow): JobRecord => ({
  owner: r.owner,
  id: r.id,
  family: r.family,
  dataset: r.dataset,
  datasetDigest: r.dataset_digest,
  target: r.target,
  model: r.model,
  hyperparameters: JSON.parse(r.hyperparameters_json),
  status: r.status as JobStatus,
  error: r.error,
  attempts: r.attempts,
  leaseUntil: r.lease_until,
  checkpointStep: r.checkpoint_step,
  result: r.result_json ? JSON.parse(r.result_json) : null,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

/**
 * The job `claimNext` takes: claimable and allowed by `options`; of the
 * tenant whose last claim is oldest (never claimed: first), then the oldest job of that tenant.
 */
function claimQuery(nowMs: number, options: ClaimOptions): { sql: string; params: unknown[] } {
  const where = [
    `(j.status = 'queued' OR (j.status = 'running' AND j.lease_until < ?))`,
    'j.id NOT IN (SELECT value FROM json_each(?))',
  ];
  const params: unknown[] = [nowMs, JSON.stringify(options.exclude)];
  if (options.families) {
    where.push('j.family IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(options.families));
  }
  if (options.excludeFamilies) {
    where.push('j.family NOT IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(options.excludeFamilies));
  }
  if (options.perTenantLimit !== undefined) {
    where.push(`(SELECT COUNT(*) FROM training_jobs r
       WHERE r.owner = j.owner AND r.status = 'running' AND r.lease_until >= ?) < ?`);
    params.push(nowMs, options.perTenantLimit);
  }
  const sql = `SELECT j.id FROM training_jobs j WHERE ${where.join(' AND ')}
    ORDER BY (SELECT MAX(s.claim_seq) FROM training_jobs s WHERE s.owner = j.owner) NULLS FIRST,
      j.created_at, j.id
    LIMIT 1`;
  return { sql, params };
}

const terminalList = TERMINAL_STATUSES.map((s) => `'${s}'`).join(', ');

export class SqliteTrainings implements TrainingRepository {
  constructor(private readonly db: Database.Database) {}

  private row(id: string): JobRecord | null {
    const r = this.db.prepare('SELECT * FROM training_jobs WHERE id = ?').get(id) as JobRow | undefined;
    return r ? toJob(r) : null;
  }

  async create(j: NewJob): Promise<JobRecord> {
    this.db
      .prepare(
        `INSERT INTO training_jobs (id, owner, family, dataset, dataset_digest, target, model, hyperparameters_json, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)`,
      )
      .run(
        j.id,
        j.owner,
        j.family,
        j.dataset,
        j.datasetDigest,
        j.target,
        j.model,
        JSON.stringify(j.hyperparameters),
        now(),
      );
    return this.row(j.id)!;
  }

  async createOnce(j: NewJob): Promise<boolean> {
    const r = this.db
      .prepare(
        `INSERT INTO training_jobs (id, owner, family, dataset, dataset_digest, target, model, hyperparameters_json, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(
        j.id,
        j.owner,
        j.family,
        j.dataset,
        j.datasetDigest,
        j.target,
        j.model,
        JSON.stringify(j.hyperparameters),
        now(),
      );
    return r.changes > 0;
  }

  async requeue(id: string, from: readonly JobStatus[]): Promise<boolean> {
    const r = this.db
      .prepare(
        `UPDATE training_jobs SET status = 'queued', error = NULL, result_json = NULL, lease_until = 0,
           finished_at = NULL WHERE id = ? AND status IN (SELECT value FROM json_each(?))`,
      )
      .run(id, JSON.stringify(from));
    return r.changes > 0;
  }

  async get(owner: string, id: string): Promise<JobRecord | null> {
    const job = this.row(id);
    return job && job.owner === owner ? job : null;
  }

  async list(owner: string): Promise<JobRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM training_jobs WHERE owner = ? ORDER BY created_at DESC, id')
      .all(owner) as JobRow[];
    return rows.map(toJob);
  }

  async claimNext(nowMs: number, leaseUntil: number, options: ClaimOptions): Promise<JobRecord | null> {
    const { sql, params } = claimQuery(nowMs, options);
    return this.db.transaction(() => {
      const pick = this.db.prepare(sql).get(...params) as { id: string } | undefined;
      if (!pick) return null;
      this.db
        .prepare(
          `UPDATE training_jobs SET status = 'running', lease_until = ?, attempts = attempts + 1,
           started_at = COALESCE(started_at, ?),
           claim_seq = (SELECT COALESCE(MAX(claim_seq), 0) + 1 FROM training_jobs) WHERE id = ?`,
        )
        .run(leaseUntil, now(), pick.id);
      return this.row(pick.id);
    })();
  }

  async heartbeat(id: string, attempt: number, leaseUntil: number): Promise<boolean> {
    const r = this.db
      .prepare(
        `UPDATE training_jobs SET lease_until = ? WHERE id = ? AND attempts = ? AND status = 'running'`,
      )
      .run(leaseUntil, id, attempt);
    return r.changes > 0;
  }

  async setCheckpoint(id: string, attempt: number, step: number): Promise<boolean> {
    const r = this.db
      .prepare(
        `UPDATE training_jobs SET checkpoint_step = ? WHERE id = ? AND attempts = ? AND status = 'running'`,
      )
      .run(step, id, attempt);
    return r.changes > 0;
  }

  async finish(
    id: string,
    status: JobStatus,
    fields: { error?: string; result?: Record<string, unknown> },
    attempt?: number,
  ): Promise<boolean> {
    const r = this.db
      .prepare(
        `UPDATE training_jobs SET status = ?, error = ?, result_json = ?, lease_until = 0, finished_at = ?
         WHERE id = ? AND status NOT IN (${terminalList}) AND (? IS NULL OR attempts = ?)`,
      )
      .run(
        status,
        fields.error ?? null,
        fields.result ? JSON.stringify(fields.result) : null,
        now(),
        id,
        attempt ?? null,
        attempt ?? null,
      );
    return r.changes > 0;
  }

  async byStatus(status: JobStatus): Promise<JobRecord[]> {
    const rows = this.db.prepare('SELECT * FROM training_jobs WHERE status = ?').all(status) as JobRow[];
    return rows.map(toJob);
  }

  async addEvent(id: string, type: string, data: Record<string, unknown>): Promise<JobEvent> {
    return this.db.transaction(() => {
      const { next } = this.db
        .prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM training_events WHERE job_id = ?')
        .get(id) as { next: number };
      const createdAt = now();
      this.db
        .prepare(
          'INSERT INTO training_events (job_id, seq, type, data_json, created_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(id, next, type, JSON.stringify(data), createdAt);
      return { seq: next, type, data, createdAt };
    })();
  }

  async countEvents(id: string, type: string): Promise<number> {
    const r = this.db
      .prepare('SELECT COUNT(*) AS n FROM training_events WHERE job_id = ? AND type = ?')
      .get(id, type) as { n: number };
    return r.n;
  }

  async events(id: string, after: number, limit = 10_000): Promise<JobEvent[]> {
    const rows = this.db
      .prepare(
        'SELECT seq, type, data_json, created_at FROM training_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      )
      .all(id, after, limit) as { seq: number; type: string; data_json: string; created_at: string }[];
    return rows.map((r) => ({
      seq: r.seq,
      type: r.type,
      data: JSON.parse(r.data_json),
      createdAt: r.created_at,
    }));
  }
}
