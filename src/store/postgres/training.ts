/**
 * PostgreSQL adapter of the training ports (datasets, jobs with leases, job events). Safe with
 * many trainer processes on one database:
 * - `claimNext` is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)` under a
 *   transaction-scoped advisory lock: two claimers never take the same job, and the fair order
 *   across tenants and the per-tenant cap hold across processes;
 * - `heartbeat`, `setCheckpoint` and a trainer's `finish` name their claim (`attempts`): a trainer
 *   whose lease was taken over writes nothing;
 * - `finish` is one conditional `UPDATE`: of a cancel racing a success, one wins;
 * - `addEvent` bumps the job's `last_event_seq` and inserts the event in one statement, under the
 *   job's row lock: sequence numbers are gapless and committed in order (no `MAX(seq)+1` race), so
 *   a reader following `seq > after` never skips one.
 */
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
import { type Db, isUniqueViolation, nowIso, transaction } from './db';

/** Serialises claims across every process on the database (released at COMMIT). */
const CLAIM_LOCK = "SELECT pg_advisory_xact_lock(hashtext('maas.training.claim'))";

interface DatasetRow {
  owner: string;
  name: string;
  digest: string;
  size_bytes: number;
  format: string;
  kind: string;
  description_json: Record<string, unknown>;
  created_at: string;
}

const toDataset = (r: DatasetRow): DatasetRecord => ({
  owner: r.owner,
  name: r.name,
  digest: r.digest,
  sizeBytes: r.size_bytes,
  format: r.format,
  kind: r.kind as DatasetKind,
  description: r.description_json,
  createdAt: r.created_at,
});

export class PostgresDatasets implements DatasetRepository {
  constructor(private readonly db: Db) {}

  async create(d: NewDataset): Promise<DatasetRecord> {
    try {
      const { rows } = await this.db.query<DatasetRow>(
        `INSERT INTO datasets (owner, name, digest, size_bytes, format, kind, description_json, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [d.owner, d.name, d.digest, d.sizeBytes, d.format, d.kind, JSON.stringify(d.description), nowIso()],
      );
      return toDataset(rows[0]!);
    } catch (e) {
      if (isUniqueViolation(e)) fail('conflict', `dataset '${d.name}' already exists`);
      throw e;
    }
  }

  async get(owner: string, name: string): Promise<DatasetRecord | null> {
    const { rows } = await this.db.query<DatasetRow>(
      'SELECT * FROM datasets WHERE owner = $1 AND name = $2',
      [owner, name],
    );
    return rows[0] ? toDataset(rows[0]) : null;
  }

  async list(owner: string): Promise<DatasetRecord[]> {
    const { rows } = await this.db.query<DatasetRow>(
      'SELECT * FROM datasets WHERE owner = $1 ORDER BY name',
      [owner],
    );
    return rows.map(toDataset);
  }

  async delete(owner: string, name: string): Promise<DatasetRecord | null> {
    const { rows } = await this.db.query<DatasetRow>(
      'DELETE FROM datasets WHERE owner = $1 AND name = $2 RETURNING *',
      [owner, name],
    );
    return rows[0] ? toDataset(rows[0]) : null;
  }

  async referencedDigests(): Promise<Set<string>> {
    const { rows } = await this.db.query<{ digest: string }>('SELECT DISTINCT digest FROM datasets');
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
  hyperparameters_json: Record<string, unknown>;
  status: string;
  error: string | null;
  attempts: number;
  lease_until: number;
  checkpoint_step: number;
  result_json: Record<string, unknown> | null;
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
  hyperparameters: r.hyperparameters_json,
  status: r.status as JobStatus,
  error: r.error,
  attempts: r.attempts,
  leaseUntil: r.lease_until,
  checkpointStep: r.checkpoint_step,
  result: r.result_json,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

const JOB_COLUMNS = `id, owner, family, dataset, dataset_digest, target, model, hyperparameters_json, status, error,
  attempts, lease_until, checkpoint_step, result_json, created_at, started_at, finished_at`;

export class PostgresTrainings implements TrainingRepository {
  constructor(private readonly db: Db) {}

  async create(j: NewJob): Promise<JobRecord> {
    const { rows } = await this.db.query<JobRow>(
      `INSERT INTO training_jobs (id, owner, family, dataset, dataset_digest, target, model, hyperparameters_json, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9) RETURNING ${JOB_COLUMNS}`,
      [
        j.id,
        j.owner,
        j.family,
        j.dataset,
        j.datasetDigest,
        j.target,
        j.model,
        JSON.stringify(j.hyperparameters),
        nowIso(),
      ],
    );
    return toJob(rows[0]!);
  }

  async createOnce(j: NewJob): Promise<boolean> {
    const r = await this.db.query(
      `INSERT INTO training_jobs (id, owner, family, dataset, dataset_digest, target, model, hyperparameters_json, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9) ON CONFLICT (id) DO NOTHING`,
      [
        j.id,
        j.owner,
        j.family,
        j.dataset,
        j.datasetDigest,
        j.target,
        j.model,
        JSON.stringify(j.hyperparameters),
        nowIso(),
      ],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async requeue(id: string, from: readonly JobStatus[]): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE training_jobs SET status = 'queued', error = NULL, result_json = NULL, lease_until = 0,
              finished_at = NULL
        WHERE id = $1 AND status = ANY($2::text[])`,
      [id, [...from]],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async get(owner: string, id: string): Promise<JobRecord | null> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM training_jobs WHERE id = $1 AND owner = $2`,
      [id, owner],
    );
    return rows[0] ? toJob(rows[0]) : null;
  }

  async list(owner: string): Promise<JobRecord[]> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM training_jobs WHERE owner = $1 ORDER BY created_at DESC, id`,
      [owner],
    );
    return rows.map(toJob);
  }

  async claimNext(nowMs: number, leaseUntil: number, options: ClaimOptions): Promise<JobRecord | null> {
    const params: unknown[] = [nowMs, leaseUntil, nowIso(), [...options.exclude]];
    const where = [
      `(j.status = 'queued' OR (j.status = 'running' AND j.lease_until < $1))`,
      'NOT (j.id = ANY($4::text[]))',
    ];
    if (options.families) {
      params.push([...options.families]);
      where.push(`j.family = ANY($${params.length}::text[])`);
    }
    if (options.excludeFamilies) {
      params.push([...options.excludeFamilies]);
      where.push(`NOT (j.family = ANY($${params.length}::text[]))`);
    }
    if (options.perTenantLimit !== undefined) {
      params.push(options.perTenantLimit);
      where.push(`(SELECT COUNT(*) FROM training_jobs r
         WHERE r.owner = j.owner AND r.status = 'running' AND r.lease_until >= $1) < $${params.length}`);
    }
    // One claim at a time in the whole cluster (claims are rare: one per job): the fair order and
    // the per-tenant cap hold exactly, not only per process.
    return transaction(this.db, async (c) => {
      await c.query(CLAIM_LOCK);
      const { rows } = await c.query<JobRow>(
        `UPDATE training_jobs
            SET status = 'running', lease_until = $2, attempts = attempts + 1,
                started_at = COALESCE(started_at, $3), claim_seq = nextval('training_claim_seq')
          WHERE id = (
            SELECT j.id FROM training_jobs j
             WHERE ${where.join(' AND ')}
             ORDER BY (SELECT MAX(s.claim_seq) FROM training_jobs s WHERE s.owner = j.owner) NULLS FIRST,
                      j.created_at, j.id
             LIMIT 1
             FOR UPDATE SKIP LOCKED)
          RETURNING ${JOB_COLUMNS}`,
        params,
      );
      return rows[0] ? toJob(rows[0]) : null;
    });
  }

  async heartbeat(id: string, attempt: number, leaseUntil: number): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE training_jobs SET lease_until = $1 WHERE id = $2 AND attempts = $3 AND status = 'running'`,
      [leaseUntil, id, attempt],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async setCheckpoint(id: string, attempt: number, step: number): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE training_jobs SET checkpoint_step = $1 WHERE id = $2 AND attempts = $3 AND status = 'running'`,
      [step, id, attempt],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async finish(
    id: string,
    status: JobStatus,
    fields: { error?: string; result?: Record<string, unknown> },
    attempt?: number,
  ): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE training_jobs SET status = $1, error = $2, result_json = $3, lease_until = 0, finished_at = $4
        WHERE id = $5 AND status <> ALL($6::text[]) AND ($7::int IS NULL OR attempts = $7)`,
      [
        status,
        fields.error ?? null,
        fields.result ? JSON.stringify(fields.result) : null,
        nowIso(),
        id,
        [...TERMINAL_STATUSES],
        attempt ?? null,
      ],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async byStatus(status: JobStatus): Promise<JobRecord[]> {
    const { rows } = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM training_jobs WHERE status = $1 ORDER BY created_at, id`,
      [status],
    );
    return rows.map(toJob);
  }

  async addEvent(id: string, type: string, data: Record<string, unknown>): Promise<JobEvent> {
    const createdAt = nowIso();
    const { rows } = await this.db.query<{ seq: number }>(
      `WITH next AS (
         UPDATE training_jobs SET last_event_seq = last_event_seq + 1 WHERE id = $1 RETURNING last_event_seq
       )
       INSERT INTO training_events (job_id, seq, type, data_json, created_at)
         SELECT $1, last_event_seq, $2, $3, $4 FROM next
       RETURNING seq`,
      [id, type, JSON.stringify(data), createdAt],
    );
    if (!rows[0]) fail('not_found', `training job '${id}' not found`);
    return { seq: rows[0].seq, type, data, createdAt };
  }

  async countEvents(id: string, type: string): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM training_events WHERE job_id = $1 AND type = $2',
      [id, type],
    );
    return rows[0]!.n;
  }

  async events(id: string, after: number, limit = 10_000): Promise<JobEvent[]> {
    const { rows } = await this.db.query<{
      seq: number;
      type: string;
      data_json: Record<string, unknown>;
      created_at: string;
    }>(
      'SELECT seq, type, data_json, created_at FROM training_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [id, after, limit],
    );
    return rows.map((r) => ({ seq: r.seq, type: r.type, data: r.data_json, createdAt: r.created_at }));
  }
}
