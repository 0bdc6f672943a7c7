/**
 * SQLite adapters of the tenancy ports (tenants, keys, usage, quotas, audit, idempotency). They
 * pass the same conformance suite as the in-memory adapters (`test/tenancy/conformance.ts`).
 * Limits and scopes are JSON columns; times are epoch ms INTEGERs.
 */
import type Database from 'better-sqlite3';
import { fail } from '../../common/errors';
import type {
  AuditStore,
  IdempotencyStore,
  KeyStore,
  QuotaStore,
  TenancyStores,
  TenantStore,
  UsageStore,
} from '../tenancy/ports';
import type {
  AuditEntry,
  AuditQuery,
  IdempotencyBegin,
  KeyRecord,
  Limits,
  QuotaAllowance,
  QuotaDebitResult,
  Scope,
  StoredResponse,
  TenantRecord,
  UsageDimension,
  UsageQuery,
  UsageRecord,
  UsageRow,
} from '../tenancy/types';
import { prepared } from './prepared';

type Db = Database.Database;

const isConstraint = (e: unknown): boolean =>
  String((e as { code?: string }).code).startsWith('SQLITE_CONSTRAINT');

class SqliteTenants implements TenantStore {
  constructor(private readonly db: Db) {}
  async create(t: TenantRecord): Promise<void> {
    try {
      prepared(this.db, 'INSERT INTO tenants (id, limits_json, created_at) VALUES (?, ?, ?)').run(
        t.id,
        JSON.stringify(t.limits),
        t.createdAt,
      );
    } catch (e) {
      if (isConstraint(e)) fail('conflict', `tenant '${t.id}' already exists`);
      throw e;
    }
  }
  async get(id: string): Promise<TenantRecord | null> {
    const r = prepared(this.db, 'SELECT * FROM tenants WHERE id = ?').get(id) as TenantRow | undefined;
    return r ? toTenant(r) : null;
  }
  async list(): Promise<TenantRecord[]> {
    return (prepared(this.db, 'SELECT * FROM tenants ORDER BY id').all() as TenantRow[]).map(toTenant);
  }
  async setLimits(id: string, limits: Limits): Promise<boolean> {
    const r = prepared(this.db, 'UPDATE tenants SET limits_json = ? WHERE id = ?').run(
      JSON.stringify(limits),
      id,
    );
    return r.changes > 0;
  }
}

interface TenantRow {
  id: string;
  limits_json: string;
  created_at: number;
}
const toTenant = (r: TenantRow): TenantRecord => ({
  id: r.id,
  limits: JSON.parse(r.limits_json) as Limits,
  createdAt: r.created_at,
});

interface KeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes_json: string;
  limits_json: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
}
const toKey = (r: KeyRow): KeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  prefix: r.prefix,
  hash: r.hash,
  scopes: JSON.parse(r.scopes_json) as Scope[],
  limits: JSON.parse(r.limits_json) as Limits,
  createdAt: r.created_at,
  createdBy: r.created_by,
  revokedAt: r.revoked_at,
});

class SqliteKeys implements KeyStore {
  constructor(private readonly db: Db) {}
  async insert(k: KeyRecord): Promise<void> {
    try {
      prepared(
        this.db,
        `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes_json, limits_json, created_at, created_by, revoked_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        k.id,
        k.tenantId,
        k.name,
        k.prefix,
        k.hash,
        JSON.stringify(k.scopes),
        JSON.stringify(k.limits),
        k.createdAt,
        k.createdBy,
        k.revokedAt,
      );
    } catch (e) {
      if (isConstraint(e)) fail('conflict', 'key id or prefix already in use');
      throw e;
    }
  }
  async get(id: string): Promise<KeyRecord | null> {
    const r = prepared(this.db, 'SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined;
    return r ? toKey(r) : null;
  }
  async findByPrefix(prefix: string): Promise<KeyRecord | null> {
    const r = prepared(this.db, 'SELECT * FROM api_keys WHERE prefix = ?').get(prefix) as KeyRow | undefined;
    return r ? toKey(r) : null;
  }
  async list(filter: { tenantId?: string }): Promise<KeyRecord[]> {
    const rows =
      filter.tenantId === undefined
        ? prepared(this.db, 'SELECT * FROM api_keys ORDER BY created_at, id').all()
        : prepared(this.db, 'SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY created_at, id').all(
            filter.tenantId,
          );
    return (rows as KeyRow[]).map(toKey);
  }
  async revoke(id: string, at: number): Promise<boolean> {
    const r = prepared(this.db, 'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(
      at,
      id,
    );
    return r.changes > 0;
  }
}

/** Column expressions of each usage dimension; `day` is the UTC date of the epoch-ms time. */
const DIM_SQL: Record<UsageDimension, { expr: string; field: 'day' | 'model' | 'keyId' | 'tenantId' }> = {
  day: { expr: "strftime('%Y-%m-%d', at / 1000, 'unixepoch')", field: 'day' },
  model: { expr: 'model', field: 'model' },
  key: { expr: 'key_id', field: 'keyId' },
  tenant: { expr: 'tenant_id', field: 'tenantId' },
};

class SqliteUsage implements UsageStore {
  constructor(private readonly db: Db) {}
  async append(records: readonly UsageRecord[]): Promise<void> {
    const insert = prepared(
      this.db,
      'INSERT INTO usage (tenant_id, key_id, model, version, units, latency_ms, status, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      for (const r of records)
        insert.run(r.tenantId, r.keyId, r.model, r.version, r.units, r.latencyMs, r.status, r.at);
    })();
  }
  async aggregate(q: UsageQuery): Promise<UsageRow[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.tenantId !== undefined) where.push('tenant_id = ?') && args.push(q.tenantId);
    if (q.from !== undefined) where.push('at >= ?') && args.push(q.from);
    if (q.to !== undefined) where.push('at < ?') && args.push(q.to);
    const dims = q.groupBy.map((d) => DIM_SQL[d]);
    const cols = dims.map((d, i) => `${d.expr} AS g${i}`);
    const sql = [
      `SELECT ${[...cols, 'COUNT(*) AS requests', 'SUM(units) AS units', 'SUM(status >= 500) AS errors', 'SUM(latency_ms) AS lat'].join(', ')}`,
      'FROM usage',
      where.length ? `WHERE ${where.join(' AND ')}` : '',
      dims.length
        ? `GROUP BY ${dims.map((_, i) => `g${i}`).join(', ')} ORDER BY ${dims.map((_, i) => `g${i}`).join(', ')}`
        : '',
    ].join(' ');
    const rows = this.db.prepare(sql).all(...args) as Record<string, string | number>[];
    return rows
      .filter((r) => Number(r.requests) > 0)
      .map((r) => {
        const row: UsageRow = {
          requests: Number(r.requests),
          units: Number(r.units),
          errors: Number(r.errors),
          latencyMsTotal: Number(r.lat),
        };
        dims.forEach((d, i) => {
          row[d.field] = String(r[`g${i}`]);
        });
        return row;
      });
  }
}

/**
 * Monthly units per (month, scope, id), scope `tenant` or `key`. `debit` reads and writes inside
 * one `BEGIN IMMEDIATE` transaction: the write lock is taken before the read, so two processes
 * sharing the file cannot both see the same balance and overdraw it.
 */
class SqliteQuotas implements QuotaStore {
  private readonly debitTx: (
    tenantId: string,
    keyId: string,
    units: number,
    month: string,
    allowance: QuotaAllowance,
  ) => QuotaDebitResult;

  constructor(private readonly db: Db) {
    const tx = db.transaction(
      (tenantId: string, keyId: string, units: number, month: string, allowance: QuotaAllowance) => {
        const tenantUsed = this.usedSync(month, 'tenant', tenantId);
        const keyUsed = this.usedSync(month, 'key', keyId);
        const fits =
          (allowance.tenant === undefined || tenantUsed + units <= allowance.tenant) &&
          (allowance.key === undefined || keyUsed + units <= allowance.key);
        if (fits) {
          this.add(month, 'tenant', tenantId, units);
          this.add(month, 'key', keyId, units);
        }
        const charged = fits ? units : 0;
        const remaining: QuotaDebitResult['remaining'] = {};
        if (allowance.tenant !== undefined)
          remaining.tenant = Math.max(0, allowance.tenant - tenantUsed - charged);
        if (allowance.key !== undefined) remaining.key = Math.max(0, allowance.key - keyUsed - charged);
        return { ok: fits, remaining };
      },
    );
    this.debitTx = (...args) => tx.immediate(...args);
  }

  private usedSync(month: string, scope: 'tenant' | 'key', id: string): number {
    const r = prepared(this.db, 'SELECT used FROM quota_usage WHERE month = ? AND scope = ? AND id = ?').get(
      month,
      scope,
      id,
    ) as { used: number } | undefined;
    return r?.used ?? 0;
  }

  private add(month: string, scope: 'tenant' | 'key', id: string, units: number): void {
    prepared(
      this.db,
      `INSERT INTO quota_usage (month, scope, id, used) VALUES (?, ?, ?, MAX(0, ?))
         ON CONFLICT (month, scope, id) DO UPDATE SET used = MAX(0, used + ?)`,
    ).run(month, scope, id, units, units);
  }

  async debit(
    tenantId: string,
    keyId: string,
    units: number,
    month: string,
    allowance: QuotaAllowance,
  ): Promise<QuotaDebitResult> {
    return this.debitTx(tenantId, keyId, units, month, allowance);
  }

  async credit(tenantId: string, keyId: string, units: number, month: string): Promise<void> {
    this.db.transaction(() => {
      this.add(month, 'tenant', tenantId, -units);
      this.add(month, 'key', keyId, -units);
    })();
  }

  async used(month: string, tenantId: string, keyId?: string): Promise<number> {
    return keyId === undefined
      ? this.usedSync(month, 'tenant', tenantId)
      : this.usedSync(month, 'key', keyId);
  }
}

interface AuditRow {
  id: string;
  at: number;
  actor_key_id: string;
  actor_tenant_id: string;
  action: string;
  target: string;
  target_tenant_id: string;
  outcome: AuditEntry['outcome'];
  detail: string | null;
}

class SqliteAudit implements AuditStore {
  constructor(private readonly db: Db) {}
  async append(e: AuditEntry): Promise<void> {
    prepared(
      this.db,
      `INSERT INTO audit (id, at, actor_key_id, actor_tenant_id, action, target, target_tenant_id, outcome, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      e.id,
      e.at,
      e.actorKeyId,
      e.actorTenantId,
      e.action,
      e.target,
      e.targetTenantId,
      e.outcome,
      e.detail ?? null,
    );
  }
  async query(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.tenantId !== undefined) {
      where.push('(actor_tenant_id = ? OR target_tenant_id = ?)');
      args.push(q.tenantId, q.tenantId);
    }
    if (q.actorKeyId !== undefined) where.push('actor_key_id = ?') && args.push(q.actorKeyId);
    if (q.action !== undefined) where.push('action = ?') && args.push(q.action);
    if (q.from !== undefined) where.push('at >= ?') && args.push(q.from);
    if (q.to !== undefined) where.push('at < ?') && args.push(q.to);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, q.limit ?? 100) as AuditRow[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actorKeyId: r.actor_key_id,
      actorTenantId: r.actor_tenant_id,
      action: r.action,
      target: r.target,
      targetTenantId: r.target_tenant_id,
      outcome: r.outcome,
      ...(r.detail === null ? {} : { detail: r.detail }),
    }));
  }
}

class SqliteIdempotency implements IdempotencyStore {
  private readonly beginTx: (
    scopeKey: string,
    fp: string,
    now: number,
    expiresBefore: number,
  ) => IdempotencyBegin;

  constructor(private readonly db: Db) {
    const tx = db.transaction((scopeKey: string, fp: string, now: number, expiresBefore: number) => {
      const row = db
        .prepare('SELECT fingerprint, created_at, response_json FROM idempotency WHERE scope_key = ?')
        .get(scopeKey) as
        | { fingerprint: string; created_at: number; response_json: string | null }
        | undefined;
      if (row === undefined || row.created_at < expiresBefore) {
        db.prepare(
          'INSERT OR REPLACE INTO idempotency (scope_key, fingerprint, created_at, response_json) VALUES (?, ?, ?, NULL)',
        ).run(scopeKey, fp, now);
        return { state: 'started' } as const;
      }
      if (row.response_json === null) return { state: 'in_flight', fingerprint: row.fingerprint } as const;
      return {
        state: 'completed',
        fingerprint: row.fingerprint,
        response: JSON.parse(row.response_json) as StoredResponse,
      } as const;
    });
    this.beginTx = (...args) => tx.immediate(...args);
  }

  async begin(
    scopeKey: string,
    fingerprint: string,
    now: number,
    expiresBefore: number,
  ): Promise<IdempotencyBegin> {
    return this.beginTx(scopeKey, fingerprint, now, expiresBefore);
  }
  async complete(scopeKey: string, response: StoredResponse): Promise<void> {
    prepared(this.db, 'UPDATE idempotency SET response_json = ? WHERE scope_key = ?').run(
      JSON.stringify(response),
      scopeKey,
    );
  }
  async abandon(scopeKey: string): Promise<void> {
    prepared(this.db, 'DELETE FROM idempotency WHERE scope_key = ? AND response_json IS NULL').run(scopeKey);
  }
  async purgeExpired(expiresBefore: number): Promise<number> {
    return prepared(this.db, 'DELETE FROM idempotency WHERE created_at < ?').run(expiresBefore).changes;
  }
}

export function sqliteTenancyStores(db: Db): TenancyStores {
  return {
    tenants: new SqliteTenants(db),
    keys: new SqliteKeys(db),
    usage: new SqliteUsage(db),
    quotas: new SqliteQuotas(db),
    audit: new SqliteAudit(db),
    idempotency: new SqliteIdempotency(db),
  };
}
