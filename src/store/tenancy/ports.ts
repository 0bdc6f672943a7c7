/**
 * Persistence ports of the tenancy domain. Every method is one statement or one transaction for a
 * SQL adapter; the in-memory adapters in `src/store/memory` implement the same contract for tests and
 * single-process development, and `test/tenancy/conformance.ts` is the suite every adapter passes.
 *
 * All methods are async so that PostgreSQL/Redis adapters fit without changing callers.
 */
import type {
  AuditEntry,
  AuditQuery,
  IdempotencyBegin,
  KeyRecord,
  Limits,
  QuotaAllowance,
  QuotaDebitResult,
  StoredResponse,
  TenantRecord,
  UsageQuery,
  UsageRecord,
  UsageRow,
} from './types';

export interface TenantStore {
  /** Insert; a duplicate id → `conflict`. */
  create(tenant: TenantRecord): Promise<void>;
  get(id: string): Promise<TenantRecord | null>;
  /** Ordered by id. */
  list(): Promise<TenantRecord[]>;
  /** Replace the limits; false when the tenant does not exist. */
  setLimits(id: string, limits: Limits): Promise<boolean>;
}

export interface KeyStore {
  /** Insert; a duplicate id or prefix → `conflict` (the caller retries with a fresh prefix). */
  insert(key: KeyRecord): Promise<void>;
  get(id: string): Promise<KeyRecord | null>;
  /** The lookup path of every authenticated request: one indexed read. */
  findByPrefix(prefix: string): Promise<KeyRecord | null>;
  /** Ordered by createdAt then id; revoked keys included (they show `revokedAt`). */
  list(filter: { tenantId?: string }): Promise<KeyRecord[]>;
  /** Set `revokedAt` if not yet set; true when this call revoked it. */
  revoke(id: string, at: number): Promise<boolean>;
}

export interface UsageStore {
  /**
   * Append a batch of records in one write (one transaction or one statement): the meter buffers
   * served requests and flushes them together, so no request waits on a database write.
   */
  append(records: readonly UsageRecord[]): Promise<void>;
  /**
   * GROUP BY the requested dimensions over [from, to), ORDER BY them in `groupBy` order. No
   * matching record → no rows (also with an empty `groupBy`, where SQL would give one of NULLs).
   */
  aggregate(query: UsageQuery): Promise<UsageRow[]>;
}

export interface QuotaStore {
  /**
   * Check and debit in ONE atomic step: succeeds only if both the tenant's and the key's
   * used-this-month plus `units` stay within their allowances; otherwise nothing changes.
   * `month` is `YYYY-MM` (UTC).
   */
  debit(
    tenantId: string,
    keyId: string,
    units: number,
    month: string,
    allowance: QuotaAllowance,
  ): Promise<QuotaDebitResult>;
  /** Give units back (a reservation larger than the actual use); never below zero. */
  credit(tenantId: string, keyId: string, units: number, month: string): Promise<void>;
  /** Units used this month by the tenant, or by one of its keys. */
  used(month: string, tenantId: string, keyId?: string): Promise<number>;
}

export interface AuditStore {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  query(query: AuditQuery): Promise<AuditEntry[]>;
}

export interface IdempotencyStore {
  /**
   * Atomically claim `scopeKey` for a new request, or report what is there. An entry older than
   * `expiresBefore` (epoch ms) counts as absent and is replaced.
   */
  begin(scopeKey: string, fingerprint: string, now: number, expiresBefore: number): Promise<IdempotencyBegin>;
  /** Store the first answer; later `begin`s replay it. */
  complete(scopeKey: string, response: StoredResponse): Promise<void>;
  /** Forget an in-flight claim whose handler failed, so that a retry can run. */
  abandon(scopeKey: string): Promise<void>;
  /**
   * Delete entries created before `expiresBefore` (epoch ms): housekeeping of keys `begin` would
   * treat as absent anyway. Returns how many it deleted.
   */
  purgeExpired(expiresBefore: number): Promise<number>;
}

/** One bucket to charge in a rate-limit decision. */
export interface RateLimitSpec {
  /** Bucket identity, e.g. `key:key_3f…:requests`. */
  bucket: string;
  /** Policy name shown in headers, e.g. `key-requests`. */
  policy: string;
  /** What one unit of cost counts. */
  dimension: 'requests' | 'units';
  /** Allowed per window, ≥ 1. */
  limit: number;
  windowMs: number;
  /** Units this request costs (1 for request buckets), ≥ 0. */
  cost: number;
}

export interface BucketState {
  bucket: string;
  policy: string;
  dimension: 'requests' | 'units';
  limit: number;
  windowMs: number;
  /** Whole units still available now (after this request's charge when allowed). */
  remaining: number;
  /** ms until the bucket is full again (OpenAI's `x-ratelimit-reset-*`). */
  resetMs: number;
  /**
   * ms until more than `remaining` becomes available (the oldest charge leaves the window): the
   * time within which at most `remaining` can be used, the IETF `RateLimit` field's `t`.
   */
  nextUnitMs: number;
}

export interface RateDecision {
  allowed: boolean;
  buckets: BucketState[];
  /** ms until this same request would be allowed; 0 when allowed. */
  retryAfterMs: number;
  /** Policies that refused the request (empty when allowed). */
  violated: string[];
}

/**
 * A rate limiter: all-or-nothing over several buckets (a request is charged to its key's and its
 * tenant's buckets, or to none). In-process now (`SlidingWindowRateLimiter`); Redis (a sorted set, one Lua script) later.
 */
export interface RateLimiter {
  consume(specs: readonly RateLimitSpec[]): Promise<RateDecision>;
  /** Return `cost` to each bucket (a request that was admitted and then refused elsewhere). */
  refund(specs: readonly RateLimitSpec[]): Promise<void>;
}

/** Every persistence port the domain needs, as one bundle handed to the services. */
export interface TenancyStores {
  tenants: TenantStore;
  keys: KeyStore;
  usage: UsageStore;
  quotas: QuotaStore;
  audit: AuditStore;
  idempotency: IdempotencyStore;
}
