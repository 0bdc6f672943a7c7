/**
 * Background work that must survive a restart: asynchronous predictions, their webhook
 * deliveries, OpenAI batches, each tenant's webhook signing secret, and a training job's webhook
 * (its URL and event filter, keyed by the job's id). They share one shape, a
 * "work item": a typed row (`kind`) owned by a tenant, with a status, an optional parent (a
 * delivery's prediction), a due time for retries, and a JSON body the service owns. One table
 * for all of them keeps the adapters small; the services above give each kind its meaning.
 *
 *   {kind: 'prediction', id: 'p_3f9c…', owner: 'acme', status: 'starting', parent: null,
 *    dueAt: 0, createdAt: 1764662400000, updatedAt: 1764662400000, data: {model: 'bigram', …}}
 */

/** What the platform stores as work items. */
export type WorkKind = 'prediction' | 'delivery' | 'batch' | 'webhook_secret' | 'training_webhook';

export interface WorkItem {
  kind: WorkKind;
  /** Unique within `kind`. */
  id: string;
  /** The tenant id. */
  owner: string;
  status: string;
  /** The item this one belongs to (a delivery's prediction id), or null. */
  parent: string | null;
  /** When background work on it is next due (epoch ms); 0 = not scheduled. */
  dueAt: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms. */
  updatedAt: number;
  data: Record<string, unknown>;
}

export interface WorkListQuery {
  /** At most this many (newest first). */
  limit: number;
  /** Only items created strictly before this item of the same kind and owner (a cursor). */
  before?: { createdAt: number; id: string };
}

export interface WorkItemRepository {
  /** A duplicate (kind, id) → conflict. */
  insert(item: WorkItem): Promise<void>;
  /** One of `owner`'s items (null for another owner's). */
  get(kind: WorkKind, owner: string, id: string): Promise<WorkItem | null>;
  /**
   * Replaces status, dueAt, updatedAt and data. With `expectStatus`, only while the stored status
   * is one of them (a compare-and-set: two processes never both move `starting` → `processing`).
   * Returns whether it wrote.
   */
  update(item: WorkItem, expectStatus?: readonly string[]): Promise<boolean>;
  /** `owner`'s items of `kind`, newest first (createdAt, then id). */
  list(kind: WorkKind, owner: string, query: WorkListQuery): Promise<WorkItem[]>;
  /** The items of `parent`, oldest first. */
  children(kind: WorkKind, parent: string): Promise<WorkItem[]>;
  /** Every owner's items of `kind` in one of `statuses`, oldest first (recovery after a restart). */
  byStatus(kind: WorkKind, statuses: readonly string[], limit: number): Promise<WorkItem[]>;
  /** Items of `kind` with `status` due at or before `now` (0 excluded), soonest first. */
  due(kind: WorkKind, status: string, now: number, limit: number): Promise<WorkItem[]>;
  /** Deletes items of `kind` (and their children of any kind) created before `before`, in `statuses`. */
  purge(kind: WorkKind, statuses: readonly string[], before: number): Promise<number>;
}
