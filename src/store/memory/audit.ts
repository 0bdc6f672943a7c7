import type { AuditStore } from '../tenancy/ports';
import type { AuditEntry, AuditQuery } from '../tenancy/types';

export class MemoryAuditStore implements AuditStore {
  private readonly rows: AuditEntry[] = [];

  async append(entry: AuditEntry): Promise<void> {
    this.rows.push(structuredClone(entry));
  }

  async query(query: AuditQuery): Promise<AuditEntry[]> {
    const limit = query.limit ?? 100;
    const out: AuditEntry[] = [];
    // Appended in time order, so walking backwards yields newest first.
    for (let i = this.rows.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.rows[i];
      if (
        query.tenantId !== undefined &&
        e.actorTenantId !== query.tenantId &&
        e.targetTenantId !== query.tenantId
      ) {
        continue;
      }
      if (query.actorKeyId !== undefined && e.actorKeyId !== query.actorKeyId) continue;
      if (query.action !== undefined && e.action !== query.action) continue;
      if (query.from !== undefined && e.at < query.from) continue;
      if (query.to !== undefined && e.at >= query.to) continue;
      out.push(structuredClone(e));
    }
    return out;
  }

  dump(): AuditEntry[] {
    return this.rows.map((r) => structuredClone(r));
  }
}
