import { fail } from '../../common/errors';
import type { KeyStore, TenantStore } from '../tenancy/ports';
import type { KeyRecord, Limits, TenantRecord } from '../tenancy/types';

/**
 * In-memory adapters hand out copies (`structuredClone`) on every read and keep copies on every
 * write, as a database would: a caller mutating a returned record changes nothing stored.
 */

export class MemoryTenantStore implements TenantStore {
  private readonly rows = new Map<string, TenantRecord>();

  async create(tenant: TenantRecord): Promise<void> {
    if (this.rows.has(tenant.id)) fail('conflict', `tenant '${tenant.id}' already exists`);
    this.rows.set(tenant.id, structuredClone(tenant));
  }

  async get(id: string): Promise<TenantRecord | null> {
    const row = this.rows.get(id);
    return row ? structuredClone(row) : null;
  }

  async list(): Promise<TenantRecord[]> {
    return [...this.rows.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => structuredClone(r));
  }

  async setLimits(id: string, limits: Limits): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row) return false;
    row.limits = structuredClone(limits);
    return true;
  }

  /** Everything held, as plain data (for inspection and the raw-key leak test). */
  dump(): TenantRecord[] {
    return [...this.rows.values()].map((r) => structuredClone(r));
  }
}

export class MemoryKeyStore implements KeyStore {
  private readonly rows = new Map<string, KeyRecord>();
  private readonly byPrefix = new Map<string, string>();

  async insert(key: KeyRecord): Promise<void> {
    if (this.rows.has(key.id)) fail('conflict', `key id '${key.id}' already exists`);
    if (this.byPrefix.has(key.prefix)) fail('conflict', 'key prefix already in use');
    this.rows.set(key.id, structuredClone(key));
    this.byPrefix.set(key.prefix, key.id);
  }

  async get(id: string): Promise<KeyRecord | null> {
    const row = this.rows.get(id);
    return row ? structuredClone(row) : null;
  }

  async findByPrefix(prefix: string): Promise<KeyRecord | null> {
    const id = this.byPrefix.get(prefix);
    return id === undefined ? null : this.get(id);
  }

  async list(filter: { tenantId?: string }): Promise<KeyRecord[]> {
    return [...this.rows.values()]
      .filter((k) => filter.tenantId === undefined || k.tenantId === filter.tenantId)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
      .map((k) => structuredClone(k));
  }

  async revoke(id: string, at: number): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.revokedAt !== null) return false;
    row.revokedAt = at;
    return true;
  }

  dump(): KeyRecord[] {
    return [...this.rows.values()].map((r) => structuredClone(r));
  }
}
