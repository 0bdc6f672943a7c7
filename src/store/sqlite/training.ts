/**
 * SQLite adapter of the training ports (datasets, jobs with leases, job events). Claiming a job
 * is one transaction, so two servers on the same database never run the same job twice.
 */
import type Database from 'better-sqlite3';
import { fail } from '../../common/errors';
import type {
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

  async claimNext(nowMs: number, leaseUntil: number, exclude: readonly string[]): Promise<JobRecord | null> {
    return this.db.transaction(() => {
      const candidates = this.db
        .prepare(
          `SELECT id FROM training_jobs
           WHERE status = 'queued' OR (status = 'running' AND lease_until < ?)
           ORDER BY created_at, id LIMIT ?`,
        )
        .all(nowMs, exclude.length + 1) as { id: string }[];
      const pick = candidates.find((c) => !exclude.includes(c.id));
      if (!pick) return null;
      this.db
        .prepare(
          `UPDATE training_jobs SET status = 'running', lease_until = ?, attempts = attempts + 1,
           started_at = COALESCE(started_at, ?) WHERE id = ?`,
        )
        .run(leaseUntil, now(), pick.id);
      return this.row(pick.id);
    })();
  }

  async heartbeat(id: string, leaseUntil: number): Promise<boolean> {
    const r = this.db
      .prepare(`UPDATE training_jobs SET lease_until = ? WHERE id = ? AND status = 'running'`)
      .run(leaseUntil, id);
    return r.changes > 0;
  }

  async setCheckpoint(id: string, step: number): Promise<void> {
    this.db.prepare('UPDATE training_jobs SET checkpoint_step = ? WHERE id = ?').run(step, id);
  }

  async finish(
    id: string,
    status: JobStatus,
    fields: { error?: string; result?: Record<string, unknown> },
  ): Promise<boolean> {
    const r = this.db
      .prepare(
        `UPDATE training_jobs SET status = ?, error = ?, result_json = ?, lease_until = 0, finished_at = ?
         WHERE id = ? AND status NOT IN (${terminalList})`,
      )
      .run(status, fields.error ?? null, fields.result ? JSON.stringify(fields.result) : null, now(), id);
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
