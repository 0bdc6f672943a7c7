/**
 * PostgreSQL adapters of the tenancy ports (tenants, keys, usage, quotas, audit, idempotency).
 * They pass the suite the memory and SQLite adapters pass (`test/tenancy/conformance.ts`).
 * The two read-decide-write steps are atomic across processes: a quota debit locks its two
 * counter rows before reading them, and an idempotency claim is one `INSERT … ON CONFLICT`.
 */
import type pg from 'pg';
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
import { type Db, isUniqueViolation, transaction } from './db';

interface TenantRow {
  id: string;
  limits_json: Limits;
  created_at: number;
}
const toTenant = (r: TenantRow): TenantRecord => ({
  id: r.id,
  limits: r.limits_json,
  createdAt: r.created_at,
});

class PostgresTenants implements TenantStore {
  constructor(private readonly db: Db) {}
  async create(t: TenantRecord): Promise<void> {
    try {
      await this.db.query('INSERT INTO tenants (id, limits_json, created_at) VALUES ($1, $2, $3)', [
        t.id,
        JSON.stringify(t.limits),
        t.createdAt,
      ]);
    } catch (e) {
      if (isUniqueViolation(e)) fail('conflict', `tenant '${t.id}' already exists`);
      throw e;
    }
  }
  async get(id: string): Promise<TenantRecord | null> {
    const { rows } = await this.db.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [id]);
    return rows[0] ? toTenant(rows[0]) : null;
  }
  async list(): Promise<TenantRecord[]> {
    const { rows } = await this.db.query<TenantRow>('SELECT * FROM tenants ORDER BY id');
    return rows.map(toTenant);
  }
  async setLimits(id: string, limits: Limits): Promise<boolean> {
    const r = await this.db.query('UPDATE tenants SET limits_json = $1 WHERE id = $2', [
      JSON.stringify(limits),
      id,
    ]);
    return (r.rowCount ?? 0) > 0;
  }
}

interface KeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes_json: Scope[];
  limits_json: Limits;
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
  scopes: r.scopes_json,
  limits: r.limits_json,
  createdAt: r.created_at,
  createdBy: r.created_by,
  revokedAt: r.revoked_at,
});

class PostgresKeys implements KeyStore {
  constructor(private readonly db: Db) {}
  async insert(k: KeyRecord): Promise<void> {
    try {
      await this.db.query(
        `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes_json, limits_json, created_at, created_by, revoked_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
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
        ],
      );
    } catch (e) {
      if (isUniqueViolation(e)) fail('conflict', 'key id or prefix already in use');
      throw e;
    }
  }
  async get(id: string): Promise<KeyRecord | null> {
    const { rows } = await this.db.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]);
    return rows[0] ? toKey(rows[0]) : null;
  }
  async findByPrefix(prefix: string): Promise<KeyRecord | null> {
    const { rows } = await this.db.query<KeyRow>('SELECT * FROM api_keys WHERE prefix = $1', [prefix]);
    return rows[0] ? toKey(rows[0]) : null;
  }
  async list(filter: { tenantId?: string }): Promise<KeyRecord[]> {
    const { rows } =
      filter.tenantId === undefined
        ? await this.db.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id')
        : await this.db.query<KeyRow>('SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id', [
            filter.tenantId,
          ]);
    return rows.map(toKey);
  }
  async revoke(id: string, at: number): Promise<boolean> {
    const r = await this.db.query(
      'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
      [at, id],
    );
    return (r.rowCount ?? 0) > 0;
  }
}

/** Column expressions of each usage dimension; `day` is the UTC date of the epoch-ms time. */
const DIM_SQL: Record<UsageDimension, { expr: string; field: 'day' | 'model' | 'keyId' | 'tenantId' }> = {
  day: { expr: "to_char(to_timestamp(at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')", field: 'day' },
  model: { expr: 'model', field: 'model' },
  key: { expr: 'key_id', field: 'keyId' },
  tenant: { expr: 'tenant_id', field: 'tenantId' },
};

class PostgresUsage implements UsageStore {
  constructor(private readonly db: Db) {}
  async append(records: readonly UsageRecord[]): Promise<void> {
    if (records.length === 0) return;
    // One multi-row INSERT: 8 parameters per record.
    const rows = records.map(
      (_, i) => `(${Array.from({ length: 8 }, (_, j) => `$${i * 8 + j + 1}`).join(', ')})`,
    );
    await this.db.query(
      `INSERT INTO usage (tenant_id, key_id, model, version, units, latency_ms, status, at) VALUES ${rows.join(', ')}`,
      records.flatMap((r) => [r.tenantId, r.keyId, r.model, r.version, r.units, r.latencyMs, r.status, r.at]),
    );
  }
  async aggregate(q: UsageQuery): Promise<UsageRow[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const arg = (value: string | number): string => {
      args.push(value);
      return `$${args.length}`;
    };
    if (q.tenantId !== undefined) where.push(`tenant_id = ${arg(q.tenantId)}`);
    if (q.from !== undefined) where.push(`at >= ${arg(q.from)}`);
    if (q.to !== undefined) where.push(`at < ${arg(q.to)}`);
    const dims = q.groupBy.map((d) => DIM_SQL[d]);
    const groups = dims.map((_, i) => `g${i}`);
    const sql = [
      `SELECT ${[
        ...dims.map((d, i) => `${d.expr} COLLATE "C" AS g${i}`),
        'COUNT(*) AS requests',
        'SUM(units) AS units',
        'COUNT(*) FILTER (WHERE status >= 500) AS errors',
        'SUM(latency_ms) AS lat',
      ].join(', ')}`,
      'FROM usage',
      where.length ? `WHERE ${where.join(' AND ')}` : '',
      groups.length ? `GROUP BY ${groups.join(', ')} ORDER BY ${groups.join(', ')}` : '',
    ].join(' ');
    const { rows } = await this.db.query<Record<string, string | number>>(sql, args);
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

type QuotaScope = 'tenant' | 'key';

/**
 * Monthly units per (month, scope, id). `debit` is the schema's `quota_debit` function: it creates
 * both counter rows if needed, then locks them (`FOR UPDATE`, tenant first, then key: the same
 * order everywhere, so no deadlock) before it reads them: a concurrent debit on another connection
 * or process waits, then sees the new total.
 */
class PostgresQuotas implements QuotaStore {
  constructor(private readonly db: Db) {}

  private async add(c: pg.Pool | pg.PoolClient, month: string, scope: QuotaScope, id: string, units: number) {
    await c.query(
      `INSERT INTO quota_usage (month, scope, id, used) VALUES ($1, $2, $3, GREATEST(0, $4::double precision))
         ON CONFLICT (month, scope, id) DO UPDATE SET used = GREATEST(0, quota_usage.used + $4::double precision)`,
      [month, scope, id, units],
    );
  }

  async debit(
    tenantId: string,
    keyId: string,
    units: number,
    month: string,
    allowance: QuotaAllowance,
  ): Promise<QuotaDebitResult> {
    // One round trip: the `quota_debit` function of the schema (001_init.sql) locks and decides.
    const { rows } = await this.db.query<{ ok: boolean; tenant_used: number; key_used: number }>(
      'SELECT ok, tenant_used, key_used FROM quota_debit($1, $2, $3, $4, $5, $6)',
      [month, tenantId, keyId, units, allowance.tenant ?? null, allowance.key ?? null],
    );
    const { ok, tenant_used: tenantUsed, key_used: keyUsed } = rows[0]!;
    const charged = ok ? units : 0;
    const remaining: QuotaDebitResult['remaining'] = {};
    if (allowance.tenant !== undefined)
      remaining.tenant = Math.max(0, allowance.tenant - tenantUsed - charged);
    if (allowance.key !== undefined) remaining.key = Math.max(0, allowance.key - keyUsed - charged);
    return { ok, remaining };
  }

  async credit(tenantId: string, keyId: string, units: number, month: string): Promise<void> {
    await transaction(this.db, async (c) => {
      await this.add(c, month, 'tenant', tenantId, -units);
      await this.add(c, month, 'key', keyId, -units);
    });
  }

  async used(month: string, tenantId: string, keyId?: string): Promise<number> {
    const [scope, id]: [QuotaScope, string] = keyId === undefined ? ['tenant', tenantId] : ['key', keyId];
    const { rows } = await this.db.query<{ used: number }>(
      'SELECT used FROM quota_usage WHERE month = $1 AND scope = $2 AND id = $3',
      [month, scope, id],
    );
    return rows[0]?.used ?? 0;
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

class PostgresAudit implements AuditStore {
  constructor(private readonly db: Db) {}
  async append(e: AuditEntry): Promise<void> {
    await this.db.query(
      `INSERT INTO audit (id, at, actor_key_id, actor_tenant_id, action, target, target_tenant_id, outcome, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        e.id,
        e.at,
        e.actorKeyId,
        e.actorTenantId,
        e.action,
        e.target,
        e.targetTenantId,
        e.outcome,
        e.detail ?? null,
      ],
    );
  }
  async query(q: AuditQuery): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const arg = (value: string | number): string => {
      args.push(value);
      return `$${args.length}`;
    };
    if (q.tenantId !== undefined) {
      const t = arg(q.tenantId);
      where.push(`(actor_tenant_id = ${t} OR target_tenant_id = ${t})`);
    }
    if (q.actorKeyId !== undefined) where.push(`actor_key_id = ${arg(q.actorKeyId)}`);
    if (q.action !== undefined) where.push(`action = ${arg(q.action)}`);
    if (q.from !== undefined) where.push(`at >= ${arg(q.from)}`);
    if (q.to !== undefined) where.push(`at < ${arg(q.to)}`);
    const limit = arg(q.limit ?? 100);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ${limit}`;
    const { rows } = await this.db.query<AuditRow>(sql, args);
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

interface IdempotencyRow {
  fingerprint: string;
  response_json: StoredResponse | null;
}

class PostgresIdempotency implements IdempotencyStore {
  constructor(private readonly db: Db) {}

  async begin(
    scopeKey: string,
    fingerprint: string,
    now: number,
    expiresBefore: number,
  ): Promise<IdempotencyBegin> {
    // A claim that is absent or expired is (re)written by this one statement; a live one is left
    // alone and read back. A concurrent claim on the same key waits for ours to commit, then
    // finds a live entry: exactly one caller starts. The loop covers a claim abandoned between
    // the two statements (then the key is free again).
    for (;;) {
      const claimed = await this.db.query(
        `INSERT INTO idempotency (scope_key, fingerprint, created_at, response_json) VALUES ($1, $2, $3, NULL)
         ON CONFLICT (scope_key) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, created_at = EXCLUDED.created_at, response_json = NULL
           WHERE idempotency.created_at < $4
         RETURNING scope_key`,
        [scopeKey, fingerprint, now, expiresBefore],
      );
      if ((claimed.rowCount ?? 0) > 0) return { state: 'started' };
      const { rows } = await this.db.query<IdempotencyRow>(
        'SELECT fingerprint, response_json FROM idempotency WHERE scope_key = $1',
        [scopeKey],
      );
      const row = rows[0];
      if (!row) continue;
      if (row.response_json === null) return { state: 'in_flight', fingerprint: row.fingerprint };
      return { state: 'completed', fingerprint: row.fingerprint, response: row.response_json };
    }
  }
  async complete(scopeKey: string, response: StoredResponse): Promise<void> {
    await this.db.query('UPDATE idempotency SET response_json = $1 WHERE scope_key = $2', [
      JSON.stringify(response),
      scopeKey,
    ]);
  }
  async abandon(scopeKey: string): Promise<void> {
    await this.db.query('DELETE FROM idempotency WHERE scope_key = $1 AND response_json IS NULL', [scopeKey]);
  }
  async purgeExpired(expiresBefore: number): Promise<number> {
    const r = await this.db.query('DELETE FROM idempotency WHERE created_at < $1', [expiresBefore]);
    return r.rowCount ?? 0;
  }
}

export function postgresTenancyStores(db: Db): TenancyStores {
  return {
    tenants: new PostgresTenants(db),
    keys: new PostgresKeys(db),
    usage: new PostgresUsage(db),
    quotas: new PostgresQuotas(db),
    audit: new PostgresAudit(db),
    idempotency: new PostgresIdempotency(db),
  };
}
