/**
 * The tenancy domain: tenants, scoped API keys, rate limits, quotas, usage metering, audit and
 * idempotency. `createTenancy` wires the services over a set of store ports; the platform's
 * auth hook calls `keys.resolve`, routes call `authorize`, inference calls `admission.admit` /
 * `admission.settle` and `meter.record`, creates go through `idempotency.run`.
 */

import type { Bus } from '../../store/bus';
import type { RateLimiter, TenancyStores } from '../../store/tenancy/ports';
import { Admission } from './admission';
import { AuditLog } from './audit';
import { type Clock, systemClock } from './clock';
import { Idempotency } from './idempotency';
import { KeyService } from './key-service';
import { DEFAULT_FLUSH, Meter } from './metering';
import { PrincipalCache } from './principal-cache';
import { SlidingWindowRateLimiter } from './sliding-window';
import { TenantService } from './tenant-service';

export { createMemoryStores, type MemoryStores } from '../../store/memory/index';
export type * from '../../store/tenancy/ports';
export type * from '../../store/tenancy/types';
export { dayOf } from '../../store/tenancy/types';
export { Admission } from './admission';
export { AuditLog } from './audit';
export { type Clock, ManualClock, monthOf, systemClock } from './clock';
export { formatDuration } from './headers';
export { Idempotency, parseIdempotencyKey, requestFingerprint, withoutRawKey } from './idempotency';
export { KeyService, type MintedKey } from './key-service';
export { constantTimeEqual, generateKey } from './keys';
export { billedUnits, Meter } from './metering';
export { authorize } from './scopes';
export { SlidingWindowRateLimiter } from './sliding-window';
export { TenantService } from './tenant-service';
export { parseCreateKey, parseCreateTenant, parseTenantLimits } from './validation';

/** How long a resolved key is trusted without the store (ms) when no change was announced. */
const KEY_CACHE_TTL_MS = 5_000;
const KEY_CACHE_ENTRIES = 10_000;

export interface TenancyOptions {
  stores: TenancyStores;
  /** Server secret for key hashes, ≥ 32 bytes (config `MAAS_KEY_PEPPER`); never logged. */
  pepper: Buffer;
  /** Default: in-process sliding-window log. Multi-process deployments pass a shared (Redis) limiter. */
  limiter?: RateLimiter;
  clock?: Clock;
  /** How often buffered usage records are written (ms; default 100). */
  usageFlushMs?: number;
  /**
   * Where key revocations are announced to the other processes. Without one, resolved keys are
   * cached only when `cacheKeys` says this process is alone on its database.
   */
  bus?: Bus;
  /** Cache resolved keys (default true); off for several processes on one database without a bus. */
  cacheKeys?: boolean;
}

export interface Tenancy {
  stores: TenancyStores;
  limiter: RateLimiter;
  clock: Clock;
  audit: AuditLog;
  keys: KeyService;
  tenants: TenantService;
  admission: Admission;
  meter: Meter;
  idempotency: Idempotency;
}

export function createTenancy(options: TenancyOptions): Tenancy {
  const clock = options.clock ?? systemClock;
  const { stores } = options;
  const limiter = options.limiter ?? new SlidingWindowRateLimiter(clock);
  const audit = new AuditLog(stores.audit, clock);
  const cache = new PrincipalCache({
    enabled: options.cacheKeys ?? true,
    ttlMs: KEY_CACHE_TTL_MS,
    maxEntries: KEY_CACHE_ENTRIES,
    clock,
    bus: options.bus,
  });
  return {
    stores,
    limiter,
    clock,
    audit,
    keys: new KeyService({
      keys: stores.keys,
      tenants: stores.tenants,
      audit,
      clock,
      pepper: options.pepper,
      cache,
    }),
    tenants: new TenantService({ tenants: stores.tenants, audit, clock, cache }),
    admission: new Admission({ limiter, quotas: stores.quotas, clock }),
    meter: new Meter(stores.usage, clock, {
      afterMs: options.usageFlushMs ?? DEFAULT_FLUSH.afterMs,
      maxRecords: DEFAULT_FLUSH.maxRecords,
    }),
    idempotency: new Idempotency(stores.idempotency, clock),
  };
}
