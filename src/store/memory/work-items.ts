/**
 * In-memory adapter of the work-item port (src/store/work-ports.ts), faithful to SqliteWorkItems
 * (src/store/sqlite/work-items.ts): (kind, id) unique, reads scoped by owner, `update` with
 * `expectStatus` a compare-and-set, and the same orders (ties broken by id, byte-wise). Items are
 * cloned on the way in and out.
 */
import { fail } from '../../common/errors';
import type { WorkItem, WorkItemRepository, WorkKind, WorkListQuery } from '../work-ports';
import { asJsonColumn, byteOrder, rowKey } from './order';

const oldestFirst = (a: WorkItem, b: WorkItem) => a.createdAt - b.createdAt || byteOrder(a.id, b.id);
const copies = (items: WorkItem[], limit: number) => items.slice(0, limit).map((i) => structuredClone(i));

export class MemoryWorkItems implements WorkItemRepository {
  private readonly rows = new Map<string, WorkItem>();

  async insert(item: WorkItem): Promise<void> {
    const key = rowKey(item.kind, item.id);
    if (this.rows.has(key)) fail('conflict', `${item.kind} '${item.id}' already exists`);
    this.rows.set(key, { ...structuredClone(item), data: asJsonColumn(item.data) });
  }

  async get(kind: WorkKind, owner: string, id: string): Promise<WorkItem | null> {
    const row = this.rows.get(rowKey(kind, id));
    return row && row.owner === owner ? structuredClone(row) : null;
  }

  async update(item: WorkItem, expectStatus?: readonly string[]): Promise<boolean> {
    const row = this.rows.get(rowKey(item.kind, item.id));
    if (!row || row.owner !== item.owner) return false;
    if (expectStatus && !expectStatus.includes(row.status)) return false;
    // Only what SQLite's UPDATE sets: owner, parent and createdAt stay as inserted.
    row.status = item.status;
    row.dueAt = item.dueAt;
    row.updatedAt = item.updatedAt;
    row.data = asJsonColumn(item.data);
    return true;
  }

  async list(kind: WorkKind, owner: string, query: WorkListQuery): Promise<WorkItem[]> {
    const { before } = query;
    const isBefore = (i: WorkItem) =>
      !before ||
      i.createdAt < before.createdAt ||
      (i.createdAt === before.createdAt && byteOrder(i.id, before.id) < 0);
    const items = this.of(kind).filter((i) => i.owner === owner && isBefore(i));
    return copies(
      items.sort((a, b) => oldestFirst(b, a)),
      query.limit,
    );
  }

  async children(kind: WorkKind, parent: string): Promise<WorkItem[]> {
    const items = this.of(kind).filter((i) => i.parent === parent);
    return copies(items.sort(oldestFirst), items.length);
  }

  async byStatus(kind: WorkKind, statuses: readonly string[], limit: number): Promise<WorkItem[]> {
    const items = this.of(kind).filter((i) => statuses.includes(i.status));
    return copies(items.sort(oldestFirst), limit);
  }

  async due(kind: WorkKind, status: string, now: number, limit: number): Promise<WorkItem[]> {
    const items = this.of(kind).filter((i) => i.status === status && i.dueAt > 0 && i.dueAt <= now);
    return copies(
      items.sort((a, b) => a.dueAt - b.dueAt || byteOrder(a.id, b.id)),
      limit,
    );
  }

  async purge(kind: WorkKind, statuses: readonly string[], before: number): Promise<number> {
    const doomed = (i: WorkItem) => i.kind === kind && statuses.includes(i.status) && i.createdAt < before;
    // As SQLite's two DELETEs: first every item (of any kind) whose parent is the id of a doomed
    // item, then the doomed items themselves; the count is the second statement's.
    const parents = new Set(this.matching(doomed).map((i) => i.id));
    for (const [key, i] of this.rows) if (i.parent !== null && parents.has(i.parent)) this.rows.delete(key);
    let removed = 0;
    for (const [key, i] of this.rows)
      if (doomed(i)) {
        this.rows.delete(key);
        removed++;
      }
    return removed;
  }

  private of(kind: WorkKind): WorkItem[] {
    return this.matching((i) => i.kind === kind);
  }

  private matching(keep: (i: WorkItem) => boolean): WorkItem[] {
    return [...this.rows.values()].filter(keep);
  }
}
