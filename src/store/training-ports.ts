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
  get(owner: string, id: string): Promise<JobRecord | null>;
  list(owner: string): Promise<JobRecord[]>;
  /**
   * Atomically claim the oldest job that is queued, or running with a lease older than `now`
   * (its trainer died): status → running, lease → `leaseUntil`, attempts + 1. Null: none.
   */
  claimNext(now: number, leaseUntil: number, exclude: readonly string[]): Promise<JobRecord | null>;
  /** Extend a lease; false when the job is no longer running (cancelled meanwhile). */
  heartbeat(id: string, leaseUntil: number): Promise<boolean>;
  setCheckpoint(id: string, step: number): Promise<void>;
  /**
   * Move to a terminal status unless already terminal; returns whether this call did it (so a
   * cancel racing a success settles once).
   */
  finish(
    id: string,
    status: JobStatus,
    fields: { error?: string; result?: Record<string, unknown> },
  ): Promise<boolean>;
  /** Jobs of any owner in `status` (start-up reconciliation). */
  byStatus(status: JobStatus): Promise<JobRecord[]>;
  addEvent(id: string, type: string, data: Record<string, unknown>): Promise<JobEvent>;
  /** How many events of `type` the job has (e.g. its `retrying` events: the trainer crashes so far). */
  countEvents(id: string, type: string): Promise<number>;
  /** Events with seq > `after`, in order, at most `limit`. */
  events(id: string, after: number, limit?: number): Promise<JobEvent[]>;
}
