/**
 * Persistence ports. The platform talks only to these interfaces; adapters (SQLite now,
 * PostgreSQL later) implement them and must pass the one conformance suite in
 * `test/store/conformance.ts`. Methods are async even where SQLite is synchronous, so that a
 * networked adapter fits the same shape.
 *
 * Every record is scoped by `owner` (a tenant id): two tenants may both have a model `mnist`, and
 * no method returns another owner's rows.
 */

import type { BlobStore } from './blob-ports';
import type { TenancyStores } from './tenancy/ports';

/** Serving settings stored with a model; `null` fields fall back to server defaults. */
import type { DatasetRepository, TrainingRepository } from './training-ports';
import type { WorkItemRepository } from './work-ports';

export interface ServingSettings {
  /** Largest number of rows stacked into one run (1 = no batching). */
  max_batch_size?: number;
  /** How long the first request of a batch may wait for others (ms). */
  max_delay_ms?: number;
  /**
   * Decoder sequences stepping together in one run (continuous batching); more wait for a slot.
   * Falls back to `max_batch_size`, then the server default.
   */
  max_num_seqs?: number;
  /** The most prompt tokens one prefill run of a decoder takes (longer prompts are chunked). */
  max_batched_tokens?: number;
  /** Requests allowed to wait before 429. */
  max_queue?: number;
  /** Deadline of one request on this model (ms). */
  timeout_ms?: number;
}

export interface ModelRecord {
  owner: string;
  name: string;
  task: string | null;
  description: string | null;
  serving: ServingSettings;
  /** Readable and callable by every tenant as `owner~name`; managed only by its owner or an admin. */
  public: boolean;
  createdAt: string;
  updatedAt: string;
}

/** One graph input or output, as read from the ONNX file. */
export interface TensorSignature {
  name: string;
  /** `float32`, `int64`, ... or the ONNX type name when maas cannot carry it (e.g. `string`). */
  dtype: string;
  /** Fixed dims as numbers; symbolic dims (`batch`) as strings; unknown as -1. */
  shape: (number | string)[];
}

export interface ModelSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

export interface VersionRecord {
  owner: string;
  model: string;
  /** 1, 2, 3 ... per model, never reused after a delete. */
  version: number;
  /** `sha256:<hex>` of the file; the artifact store's key. */
  digest: string;
  sizeBytes: number;
  signature: ModelSignature;
  /** Free-form, e.g. `{"labels": ["cat", "dog"]}`. */
  metadata: Record<string, unknown>;
  createdAt: string;
}

export interface NewModel {
  owner: string;
  name: string;
  task?: string | null;
  description?: string | null;
  serving?: ServingSettings;
}

export interface ModelPatch {
  public?: boolean;
  task?: string | null;
  description?: string | null;
  serving?: ServingSettings;
}

export interface NewVersion {
  owner: string;
  model: string;
  digest: string;
  sizeBytes: number;
  signature: ModelSignature;
  metadata?: Record<string, unknown>;
  /**
   * The training job that produced it: a model holds at most one version per job (a second
   * `addVersion` naming the same job throws `conflict`), however many trainers finished the job.
   */
  job?: string;
}

/** The alias every model has, moved automatically to its newest version. */
export const LATEST_ALIAS = 'latest';

export interface ModelRepository {
  /** Throws `conflict` when the owner already has a model of that name. */
  createModel(model: NewModel): Promise<ModelRecord>;
  getModel(owner: string, name: string): Promise<ModelRecord | null>;
  listModels(owner: string): Promise<ModelRecord[]>;
  /** Every public model not owned by `exceptOwner`, by owner then name (what it may also call). */
  listPublicModels(exceptOwner: string): Promise<ModelRecord[]>;
  /** Throws `not_found` when absent. */
  updateModel(owner: string, name: string, patch: ModelPatch): Promise<ModelRecord>;
  /** Deletes the model with its versions and aliases; returns the deleted versions (null: absent). */
  deleteModel(owner: string, name: string): Promise<VersionRecord[] | null>;

  /**
   * Adds the next version, creating the model first when `createModel` is given and it does not
   * exist, and moves `latest` to it — all in one transaction. Throws `not_found` for an absent
   * model without `createModel`.
   */
  addVersion(version: NewVersion, createModel?: NewModel): Promise<VersionRecord>;
  getVersion(owner: string, model: string, version: number): Promise<VersionRecord | null>;
  listVersions(owner: string, model: string): Promise<VersionRecord[]>;
  /** Removes a version and the aliases pointing at it; `latest` moves to the newest remaining. */
  deleteVersion(owner: string, model: string, version: number): Promise<VersionRecord | null>;

  /** Points an alias at a version (throws `not_found` if the version is absent). */
  setAlias(owner: string, model: string, alias: string, version: number): Promise<void>;
  /** Returns whether it existed. */
  deleteAlias(owner: string, model: string, alias: string): Promise<boolean>;
  resolveAlias(owner: string, model: string, alias: string): Promise<number | null>;
  listAliases(owner: string, model: string): Promise<Record<string, number>>;

  /**
   * Every digest any version of any owner references (artifact garbage collection): its file and,
   * for a folder version, every file its `metadata.files` lists (`[{path, digest, sizeBytes}]`).
   */
  referencedDigests(): Promise<Set<string>>;
}

export interface Store {
  readonly models: ModelRepository;
  /** Tenants, keys, usage, quotas, audit, idempotency (ports in ./tenancy/ports). */
  readonly tenancy: TenancyStores;
  readonly datasets: DatasetRepository;
  readonly trainings: TrainingRepository;
  /** Predictions, webhook deliveries, batches, webhook secrets (work-ports.ts). */
  readonly workItems: WorkItemRepository;
  /** Content-addressed blobs in the database, where the adapter keeps them (MAAS_BLOB_STORE=postgres). */
  readonly blobs?: BlobStore;
  /** Idempotent. */
  close(): Promise<void>;
}
