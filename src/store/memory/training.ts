/**
 * In-memory adapter of the training repository port (src/store/training-ports.ts), faithful to
 * SqliteTrainings (src/store/sqlite/training.ts): claims with a lease and a fencing number
 * (`attempts`), the fair claim order across tenants, `finish` settling once, and per-job event
 * numbers 1, 2, 3 ... Each method runs to completion without awaiting, so it is as atomic as the
 * SQLite transaction it mirrors. Records are cloned on the way in and out.
 */
import { fail } from '../../common/errors';
import {
  type ClaimOptions,
  type JobEvent,
  type JobRecord,
  type JobStatus,
  type NewJob,
  TERMINAL_STATUSES,
  type TrainingRepository,
} from '../training-ports';
import { asJsonColumn, byteOrder, isoNow } from './order';

interface StoredJob {
  record: JobRecord;
  /** SQLite's `claim_seq`: the global order of claims; a tenant's highest decides its turn. */
  claimSeq: number | null;
}

export class MemoryTrainings implements TrainingRepository {
  /** In insertion order, which `byStatus` keeps (SQLite returns its rows in rowid order). */
  private readonly jobs = new Map<string, StoredJob>();
  private readonly eventsOf = new Map<string, JobEvent[]>();
  private lastClaimSeq = 0;

  /** A duplicate id is a `conflict` (SQLite lets its raw primary-key error through here). */
  async create(j: NewJob): Promise<JobRecord> {
    // The record as inserted (`queued`), even if a claim takes it before the caller reads it.
    const record = this.insert(j) ?? fail('conflict', `training job '${j.id}' already exists`);
    return structuredClone(record);
  }

  async createOnce(j: NewJob): Promise<boolean> {
    return this.insert(j) !== null;
  }

  /** The new job's record, or null when the id is taken (no await: one step, as one INSERT). */
  private insert(j: NewJob): JobRecord | null {
    if (this.jobs.has(j.id)) return null;
    const record: JobRecord = {
      owner: j.owner,
      id: j.id,
      family: j.family,
      dataset: j.dataset,
      datasetDigest: j.datasetDigest,
      target: j.target,
      model: j.model,
      hyperparameters: asJsonColumn(j.hyperparameters),
      status: 'queued',
      error: null,
      attempts: 0,
      leaseUntil: 0,
      checkpointStep: 0,
      result: null,
      createdAt: isoNow(),
      startedAt: null,
      finishedAt: null,
    };
    this.jobs.set(j.id, { record, claimSeq: null });
    return record;
  }

  async requeue(id: string, from: readonly JobStatus[]): Promise<boolean> {
    const job = this.jobs.get(id)?.record;
    if (!job || !from.includes(job.status)) return false;
    // `attempts` stays: the next claim's fencing number goes on from it, never repeating.
    Object.assign(job, { status: 'queued', error: null, result: null, leaseUntil: 0, finishedAt: null });
    return true;
  }

  async get(owner: string, id: string): Promise<JobRecord | null> {
    const job = this.jobs.get(id)?.record;
    return job && job.owner === owner ? structuredClone(job) : null;
  }

  async list(owner: string): Promise<JobRecord[]> {
    return this.records()
      .filter((j) => j.owner === owner)
      .sort((a, b) => byteOrder(b.createdAt, a.createdAt) || byteOrder(a.id, b.id))
      .map((j) => structuredClone(j));
  }

  async claimNext(now: number, leaseUntil: number, options: ClaimOptions): Promise<JobRecord | null> {
    const pick = this.claimable(now, options).sort(this.fairOrder())[0];
    if (!pick) return null;
    pick.claimSeq = ++this.lastClaimSeq;
    const job = pick.record;
    job.status = 'running';
    job.leaseUntil = leaseUntil;
    job.attempts += 1;
    job.startedAt ??= isoNow(); // kept across takeovers (SQLite: COALESCE(started_at, ?))
    return structuredClone(job);
  }

  /** Queued jobs, and running ones whose lease is older than `now`, that `options` allow. */
  private claimable(now: number, options: ClaimOptions): StoredJob[] {
    const running = new Map<string, number>();
    for (const j of this.records())
      if (j.status === 'running' && j.leaseUntil >= now)
        running.set(j.owner, (running.get(j.owner) ?? 0) + 1);
    return [...this.jobs.values()].filter(({ record: j }) => {
      if (!(j.status === 'queued' || (j.status === 'running' && j.leaseUntil < now))) return false;
      if (options.exclude.includes(j.id)) return false;
      if (options.families && !options.families.includes(j.family)) return false;
      if (options.excludeFamilies?.includes(j.family)) return false;
      return options.perTenantLimit === undefined || (running.get(j.owner) ?? 0) < options.perTenantLimit;
    });
  }

  /**
   * The tenant whose last claim is oldest goes first (never claimed: before all, as SQLite's
   * NULLS FIRST), then the oldest job of that tenant, then by id.
   */
  private fairOrder(): (a: StoredJob, b: StoredJob) => number {
    const lastClaim = new Map<string, number>();
    for (const { record, claimSeq } of this.jobs.values())
      if (claimSeq !== null)
        lastClaim.set(record.owner, Math.max(claimSeq, lastClaim.get(record.owner) ?? 0));
    const turn = (j: JobRecord) => lastClaim.get(j.owner) ?? 0;
    return ({ record: a }, { record: b }) =>
      turn(a) - turn(b) || byteOrder(a.createdAt, b.createdAt) || byteOrder(a.id, b.id);
  }

  /** The job while claim `attempt` holds it (running under that fencing number), else undefined. */
  private held(id: string, attempt: number): JobRecord | undefined {
    const job = this.jobs.get(id)?.record;
    return job?.status === 'running' && job.attempts === attempt ? job : undefined;
  }

  async heartbeat(id: string, attempt: number, leaseUntil: number): Promise<boolean> {
    const job = this.held(id, attempt);
    if (job) job.leaseUntil = leaseUntil;
    return job !== undefined;
  }

  async setCheckpoint(id: string, attempt: number, step: number): Promise<boolean> {
    const job = this.held(id, attempt);
    if (job) job.checkpointStep = step;
    return job !== undefined;
  }

  async finish(
    id: string,
    status: JobStatus,
    fields: { error?: string; result?: Record<string, unknown> },
    attempt?: number,
  ): Promise<boolean> {
    const job = this.jobs.get(id)?.record;
    if (!job || TERMINAL_STATUSES.includes(job.status)) return false;
    // With a claim number, only while that claim holds it. Unlike heartbeat, SQLite's finish does
    // not ask for `running` here, and neither do we.
    if (attempt !== undefined && job.attempts !== attempt) return false;
    job.status = status;
    job.error = fields.error ?? null;
    job.result = fields.result ? asJsonColumn(fields.result) : null;
    job.leaseUntil = 0;
    job.finishedAt = isoNow();
    return true;
  }

  async byStatus(status: JobStatus): Promise<JobRecord[]> {
    return this.records()
      .filter((j) => j.status === status)
      .map((j) => structuredClone(j));
  }

  async addEvent(id: string, type: string, data: Record<string, unknown>): Promise<JobEvent> {
    // SQLite refuses an event of an absent job (a foreign key); so do we, through the catalog.
    if (!this.jobs.has(id)) fail('not_found', `training job '${id}' not found`);
    const list = this.eventsOf.get(id) ?? [];
    const event: JobEvent = { seq: list.length + 1, type, data: asJsonColumn(data), createdAt: isoNow() };
    list.push(event);
    this.eventsOf.set(id, list);
    return structuredClone(event);
  }

  async countEvents(id: string, type: string): Promise<number> {
    return (this.eventsOf.get(id) ?? []).filter((e) => e.type === type).length;
  }

  async events(id: string, after: number, limit = 10_000): Promise<JobEvent[]> {
    return (this.eventsOf.get(id) ?? [])
      .filter((e) => e.seq > after)
      .slice(0, limit)
      .map((e) => structuredClone(e));
  }

  private records(): JobRecord[] {
    return [...this.jobs.values()].map((s) => s.record);
  }
}
