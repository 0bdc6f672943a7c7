/**
 * SQLite adapter of the work-item port (src/store/work-ports.ts): one table, `work_items`.
 * `update` with `expectStatus` is one conditional UPDATE, so two servers on the same file never
 * both claim the same queued prediction.
 */
import type Database from 'better-sqlite3';
import { fail } from '../../common/errors';
import type { WorkItem, WorkItemRepository, WorkKind, WorkListQuery } from '../work-ports';
import { prepared } from './prepared';

interface Row {
  kind: string;
  id: string;
  owner: string;
  status: string;
  parent: string | null;
  due_at: number;
  created_at: number;
  updated_at: number;
  data_json: string;
}

const toItem = (r: Row): WorkItem => ({
  kind: r.kind as WorkKind,
  id: r.id,
  owner: r.owner,
  status: r.status,
  parent: r.parent,
  dueAt: r.due_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  data: JSON.parse(r.data_json),
});

/** `?, ?, ?` for a list of n values. */
const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

export class SqliteWorkItems implements WorkItemRepository {
  constructor(private readonly db: Database.Database) {}

  async insert(item: WorkItem): Promise<void> {
    try {
      prepared(
        this.db,
        `INSERT INTO work_items (kind, id, owner, status, parent, due_at, created_at, updated_at, data_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        item.kind,
        item.id,
        item.owner,
        item.status,
        item.parent,
        item.dueAt,
        item.createdAt,
        item.updatedAt,
        JSON.stringify(item.data),
      );
    } catch (e) {
      if (String((e as { code?: string }).code).startsWith('SQLITE_CONSTRAINT'))
        fail('conflict', `${item.kind} '${item.id}' already exists`);
      throw e;
    }
  }

  async get(kind: WorkKind, owner: string, id: string): Promise<WorkItem | null> {
    const row = prepared(this.db, 'SELECT * FROM work_items WHERE kind = ? AND id = ? AND owner = ?').get(
      kind,
      id,
      owner,
    ) as Row | undefined;
    return row ? toItem(row) : null;
  }

  async update(item: WorkItem, expectStatus?: readonly string[]): Promise<boolean> {
    const guard = expectStatus ? ` AND status IN (${marks(expectStatus.length)})` : '';
    const result = prepared(
      this.db,
      `UPDATE work_items SET status = ?, due_at = ?, updated_at = ?, data_json = ?
         WHERE kind = ? AND id = ? AND owner = ?${guard}`,
    ).run(
      item.status,
      item.dueAt,
      item.updatedAt,
      JSON.stringify(item.data),
      item.kind,
      item.id,
      item.owner,
      ...(expectStatus ?? []),
    );
    return result.changes === 1;
  }

  async list(kind: WorkKind, owner: string, query: WorkListQuery): Promise<WorkItem[]> {
    const rows = query.before
      ? prepared(
          this.db,
          `SELECT * FROM work_items WHERE kind = ? AND owner = ? AND (created_at < ? OR (created_at = ? AND id < ?))
           ORDER BY created_at DESC, id DESC LIMIT ?`,
        ).all(kind, owner, query.before.createdAt, query.before.createdAt, query.before.id, query.limit)
      : prepared(
          this.db,
          'SELECT * FROM work_items WHERE kind = ? AND owner = ? ORDER BY created_at DESC, id DESC LIMIT ?',
        ).all(kind, owner, query.limit);
    return (rows as Row[]).map(toItem);
  }

  async children(kind: WorkKind, parent: string): Promise<WorkItem[]> {
    const rows = prepared(
      this.db,
      'SELECT * FROM work_items WHERE kind = ? AND parent = ? ORDER BY created_at, id',
    ).all(kind, parent) as Row[];
    return rows.map(toItem);
  }

  async byStatus(kind: WorkKind, statuses: readonly string[], limit: number): Promise<WorkItem[]> {
    if (statuses.length === 0) return [];
    const rows = prepared(
      this.db,
      `SELECT * FROM work_items WHERE kind = ? AND status IN (${marks(statuses.length)})
         ORDER BY created_at, id LIMIT ?`,
    ).all(kind, ...statuses, limit) as Row[];
    return rows.map(toItem);
  }

  async due(kind: WorkKind, status: string, now: number, limit: number): Promise<WorkItem[]> {
    const rows = prepared(
      this.db,
      `SELECT * FROM work_items WHERE kind = ? AND status = ? AND due_at > 0 AND due_at <= ?
       ORDER BY due_at, id LIMIT ?`,
    ).all(kind, status, now, limit) as Row[];
    return rows.map(toItem);
  }

  async purge(kind: WorkKind, statuses: readonly string[], before: number): Promise<number> {
    if (statuses.length === 0) return 0;
    const inStatus = `status IN (${marks(statuses.length)})`;
    const run = this.db.transaction(() => {
      this.db
        .prepare(
          `DELETE FROM work_items WHERE parent IN
             (SELECT id FROM work_items WHERE kind = ? AND ${inStatus} AND created_at < ?)`,
        )
        .run(kind, ...statuses, before);
      return this.db
        .prepare(`DELETE FROM work_items WHERE kind = ? AND ${inStatus} AND created_at < ?`)
        .run(kind, ...statuses, before).changes;
    });
    return run();
  }
}
