/**
 * PostgreSQL adapter of the work-item port (src/store/work-ports.ts). `update` with
 * `expectStatus` is one conditional UPDATE: of two processes claiming the same queued
 * prediction, exactly one sees a row changed.
 */
import { fail } from '../../common/errors';
import type { WorkItem, WorkItemRepository, WorkKind, WorkListQuery } from '../work-ports';
import { type Db, isUniqueViolation, transaction } from './db';

interface Row {
  kind: string;
  id: string;
  owner: string;
  status: string;
  parent: string | null;
  due_at: number;
  created_at: number;
  updated_at: number;
  data: Record<string, unknown>;
}

const toItem = (r: Row): WorkItem => ({
  kind: r.kind as WorkKind,
  id: r.id,
  owner: r.owner,
  status: r.status,
  parent: r.parent,
  dueAt: Number(r.due_at),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  data: r.data,
});

export class PostgresWorkItems implements WorkItemRepository {
  constructor(private readonly db: Db) {}

  async insert(item: WorkItem): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO work_items (kind, id, owner, status, parent, due_at, created_at, updated_at, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          item.kind,
          item.id,
          item.owner,
          item.status,
          item.parent,
          item.dueAt,
          item.createdAt,
          item.updatedAt,
          JSON.stringify(item.data),
        ],
      );
    } catch (e) {
      if (isUniqueViolation(e)) fail('conflict', `${item.kind} '${item.id}' already exists`);
      throw e;
    }
  }

  async get(kind: WorkKind, owner: string, id: string): Promise<WorkItem | null> {
    const { rows } = await this.db.query<Row>(
      'SELECT * FROM work_items WHERE kind = $1 AND id = $2 AND owner = $3',
      [kind, id, owner],
    );
    return rows[0] ? toItem(rows[0]) : null;
  }

  async update(item: WorkItem, expectStatus?: readonly string[]): Promise<boolean> {
    const guard = expectStatus ? ' AND status = ANY($8)' : '';
    const result = await this.db.query(
      `UPDATE work_items SET status = $1, due_at = $2, updated_at = $3, data = $4
       WHERE kind = $5 AND id = $6 AND owner = $7${guard}`,
      [
        item.status,
        item.dueAt,
        item.updatedAt,
        JSON.stringify(item.data),
        item.kind,
        item.id,
        item.owner,
        ...(expectStatus ? [expectStatus] : []),
      ],
    );
    return result.rowCount === 1;
  }

  async list(kind: WorkKind, owner: string, query: WorkListQuery): Promise<WorkItem[]> {
    const { rows } = query.before
      ? await this.db.query<Row>(
          `SELECT * FROM work_items WHERE kind = $1 AND owner = $2 AND (created_at, id) < ($3, $4)
           ORDER BY created_at DESC, id DESC LIMIT $5`,
          [kind, owner, query.before.createdAt, query.before.id, query.limit],
        )
      : await this.db.query<Row>(
          'SELECT * FROM work_items WHERE kind = $1 AND owner = $2 ORDER BY created_at DESC, id DESC LIMIT $3',
          [kind, owner, query.limit],
        );
    return rows.map(toItem);
  }

  async children(kind: WorkKind, parent: string): Promise<WorkItem[]> {
    const { rows } = await this.db.query<Row>(
      'SELECT * FROM work_items WHERE kind = $1 AND parent = $2 ORDER BY created_at, id',
      [kind, parent],
    );
    return rows.map(toItem);
  }

  async byStatus(kind: WorkKind, statuses: readonly string[], limit: number): Promise<WorkItem[]> {
    const { rows } = await this.db.query<Row>(
      'SELECT * FROM work_items WHERE kind = $1 AND status = ANY($2) ORDER BY created_at, id LIMIT $3',
      [kind, statuses, limit],
    );
    return rows.map(toItem);
  }

  async due(kind: WorkKind, status: string, now: number, limit: number): Promise<WorkItem[]> {
    const { rows } = await this.db.query<Row>(
      `SELECT * FROM work_items WHERE kind = $1 AND status = $2 AND due_at > 0 AND due_at <= $3
       ORDER BY due_at, id LIMIT $4`,
      [kind, status, now, limit],
    );
    return rows.map(toItem);
  }

  async purge(kind: WorkKind, statuses: readonly string[], before: number): Promise<number> {
    return transaction(this.db, async (client) => {
      await client.query(
        `DELETE FROM work_items WHERE parent IN
           (SELECT id FROM work_items WHERE kind = $1 AND status = ANY($2) AND created_at < $3)`,
        [kind, statuses, before],
      );
      const result = await client.query(
        'DELETE FROM work_items WHERE kind = $1 AND status = ANY($2) AND created_at < $3',
        [kind, statuses, before],
      );
      return result.rowCount ?? 0;
    });
  }
}
