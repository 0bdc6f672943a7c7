import type { TenancyStores } from '../tenancy/ports';
import { MemoryAuditStore } from './audit';
import { MemoryIdempotencyStore } from './idempotency';
import { MemoryQuotaStore } from './quotas';
import { MemoryStore } from './store';
import { MemoryKeyStore, MemoryTenantStore } from './tenants';
import { MemoryUsageStore } from './usage';

export {
  MemoryAuditStore,
  MemoryIdempotencyStore,
  MemoryKeyStore,
  MemoryQuotaStore,
  MemoryTenantStore,
  MemoryUsageStore,
};

export interface MemoryStores extends TenancyStores {
  tenants: MemoryTenantStore;
  keys: MemoryKeyStore;
  usage: MemoryUsageStore;
  quotas: MemoryQuotaStore;
  audit: MemoryAuditStore;
  idempotency: MemoryIdempotencyStore;
  /** Everything every store holds, as plain data. */
  dump(): Record<string, unknown>;
}

/** A full set of in-memory adapters: for tests and single-process development. */
export function createMemoryStores(): MemoryStores {
  const stores = {
    tenants: new MemoryTenantStore(),
    keys: new MemoryKeyStore(),
    usage: new MemoryUsageStore(),
    quotas: new MemoryQuotaStore(),
    audit: new MemoryAuditStore(),
    idempotency: new MemoryIdempotencyStore(),
  };
  return {
    ...stores,
    dump: () => ({
      tenants: stores.tenants.dump(),
      keys: stores.keys.dump(),
      usage: stores.usage.dump(),
      quotas: stores.quotas.dump(),
      audit: stores.audit.dump(),
      idempotency: stores.idempotency.dump(),
    }),
  };
}

/** A whole `Store` in memory (models, tenancy, training, work items): for tests and development. */
export function openMemoryStore(): MemoryStore {
  return new MemoryStore(createMemoryStores());
}
