/**
 * Persistence ports of training as a service: uploaded datasets, training jobs (with their lease)
 * and the events each job emits. Every record carries `owner` (a tenant id) and every lookup takes
 * it, so another tenant's id reads as absent.
 */

import type { DatasetKind } from '../common/kinds';

/** What a dataset can train (the one list of src/common/kinds.ts): decides which recipes accept it. */
export type { DatasetKind };

export interface DatasetRecord {
  owner: string;
  name: string;
  /** `sha256:<hex>` of the uploaded file (the dataset artifact store's key). */
  digest: string;
  sizeBytes: number;
  /** Detected format: csv, tsv, jsonl, text, idx, zip, tar. */
  format: string;
  kind: DatasetKind;
  /** `describeDataset`'s answer (schema, rows, class balance, preview), as JSON. */
  description: Record<string, unknown>;
  createdAt: string;
}

export type NewDataset = Omit<DatasetRecord, 'createdAt'>;

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface JobRecord {
  owner: string;
  /** `trn_` + 24 hex digits. */
  id: string;
  family: string;
  /** Dataset name (an uploaded one of `owner`, or a built-in). */
  dataset: string;
  /** Digest of the uploaded dataset file; null for built-ins. */
  datasetDigest: string | null;
  target: string | null;
  /** Model to register the result under (created if absent). */
  model: string;
  /** Validated and complete (defaults filled in). */
  hyperparameters: Record<string, unknown>;
  status: JobStatus;
  error: string | null;
  /** Times this job has been claimed by a trainer (1 on the first run; more after resumes). */
  attempts: number;
  /** Epoch ms until which the current trainer holds the job; 0 when nobody does. */
  leaseUntil: number;
  /** Last checkpointed step (0: none). */
  checkpointStep: number;
  /** On success: `{ version, metrics }`. */
  result: Record<string, unknown> | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type NewJob = Pick<
  JobRecord,
  'owner' | 'id' | 'family' | 'dataset' | 'datasetDigest' | 'target' | 'model' | 'hyperparameters'
>;

/** Which jobs a claimer may take. */
export interface ClaimOptions {
  /** Job ids not to take (the ones this claimer runs already). */
  exclude: readonly string[];
  /** Take only jobs of these families (absent: any). */
  families?: readonly string[];
  /** Never take jobs of these families. */
  excludeFamilies?: readonly string[];
  /**
   * Take no job of a tenant that already has this many jobs running under a live lease (absent:
   * no cap).
   */
  perTenantLimit?: number;
}

export interface JobEvent {
  /** 1, 2, 3 ... per job; the SSE `id`. */
  seq: number;
  /** `progress`, `epoch`, `checkpoint`, `status`, `log`. */
  type: string;
  data: Record<string, unknown>;
  createdAt: string;
}

export interface DatasetRepository {
  /** Throws `conflict` when the owner already has a dataset of that name. */
  create(d: NewDataset): Promise<DatasetRecord>;
  get(owner: string, name: string): Promise<DatasetRecord | null>;
  list(owner: string): Promise<DatasetRecord[]>;
  /** Returns the removed record (null: absent). */
  delete(owner: string, name: string): Promise<DatasetRecord | null>;
  /** Every digest any dataset of any owner references (orphan collection). */
  referencedDigests(): Promise<Set<string>>;
}

export interface TrainingRepository {
  create(job: NewJob): Promise<JobRecord>;
  /**
   * Create the job unless one with its id exists (one statement on the id's unique key, so N
   * processes enqueueing the same job together create it once). Returns whether this call did.
   */
  createOnce(job: NewJob): Promise<boolean>;
  /**
   * Put a job back in the queue (status queued, no lease, error and result cleared) if its status
   * is one of `from`; returns whether this call did (of racing callers, one does).
   */
  requeue(id: string, from: readonly JobStatus[]): Promise<boolean>;
  get(owner: string, id: string): Promise<JobRecord | null>;
  list(owner: string): Promise<JobRecord[]>;
  /**
   * Atomically claim one job that is queued, or running with a lease older than `now` (its
   * trainer died): status → running, lease → `leaseUntil`, attempts + 1 (the claim's number: the
   * fencing token every later write of this trainer names). Fair across tenants: the tenant served
   * longest ago (never served first) goes next, FIFO within a tenant. Null: none.
   */
  claimNext(now: number, leaseUntil: number, options: ClaimOptions): Promise<JobRecord | null>;
  /**
   * Extend the lease of claim `attempt`; false when that claim no longer holds the job (cancelled,
   * finished, or taken over by another trainer after the lease ran out).
   */
  heartbeat(id: string, attempt: number, leaseUntil: number): Promise<boolean>;
  /** Record the last checkpointed step of claim `attempt`; false (nothing written) when it no longer holds. */
  setCheckpoint(id: string, attempt: number, step: number): Promise<boolean>;
  /**
   * Move to a terminal status unless already terminal; returns whether this call did it (so a
   * cancel racing a success settles once). With `attempt`: only while that claim holds the job
   * (a trainer whose lease was taken over settles nothing); without: always (a user's cancel).
   */
  finish(
    id: string,
    status: JobStatus,
    fields: { error?: string; result?: Record<string, unknown> },
    attempt?: number,
  ): Promise<boolean>;
  /** Jobs of any owner in `status` (start-up reconciliation). */
  byStatus(status: JobStatus): Promise<JobRecord[]>;
  addEvent(id: string, type: string, data: Record<string, unknown>): Promise<JobEvent>;
  /** How many events of `type` the job has (e.g. its `retrying` events: the trainer crashes so far). */
  countEvents(id: string, type: string): Promise<number>;
  /** Events with seq > `after`, in order, at most `limit`. */
  events(id: string, after: number, limit?: number): Promise<JobEvent[]>;
}
