/**
 * The tenancy domain's records, as the ports store them. Plain data only: no classes, no methods,
 * so that every adapter (memory, SQLite, PostgreSQL) can hold and return them as rows.
 *
 * Times are epoch milliseconds (UTC). Units are the platform's billing unit: tokens for text,
 * images for image generation, audio seconds for speech, tensors for raw infer.
 */

/** `admin` ⊃ `manage` ⊃ `infer`. A key holding a scope holds every scope below it. */
export type Scope = 'admin' | 'manage' | 'infer';

/** Limits that may be set on a tenant or on a key. Absent = not limited at that level. */
export interface Limits {
  /** Requests in any 60 s (sliding window). */
  requestsPerMinute?: number;
  /** Units in any 60 s (tokens, images, audio seconds, tensors). */
  unitsPerMinute?: number;
  /** Units per calendar month (UTC). */
  monthlyUnits?: number;
  /** Tenant only: turns on a busy model relative to other tenants (default 1). */
  weight?: number;
  /** Tenant only: the most of its requests one model runs at once (others of its wait). */
  concurrency?: number;
}

export interface TenantRecord {
  /** The tenant's name, validated by `parseName`; also its id and the `owner` in `owner/model`. */
  id: string;
  limits: Limits;
  createdAt: number;
}

export interface KeyRecord {
  /** Public, stable id, e.g. `key_3f9c0a1b2c3d4e5f`. Never secret. */
  id: string;
  tenantId: string;
  name: string;
  /** The public part of the raw key (`maas_<prefix>_<secret>`), used to find the record. */
  prefix: string;
  /** Hex HMAC-SHA256(pepper, raw key). The raw key itself is never stored. */
  hash: string;
  /** Normalised: the closure of what was granted, sorted broadest first. */
  scopes: Scope[];
  limits: Limits;
  createdAt: number;
  /** Key id that minted this key, or `bootstrap`. */
  createdBy: string;
  revokedAt: number | null;
}

/** What the rest of the platform knows about a caller after its key was verified. */
export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: readonly Scope[];
  limits: { key: Limits; tenant: Limits };
}

/** One served request. Written once per request that reached a model. */
export interface UsageRecord {
  tenantId: string;
  keyId: string;
  model: string;
  version: string;
  /** Billed units (0 for requests that failed on our side). */
  units: number;
  latencyMs: number;
  /** HTTP status of the answer. */
  status: number;
  at: number;
}

export type UsageDimension = 'day' | 'model' | 'key' | 'tenant';

export interface UsageQuery {
  /** Absent = every tenant (admin only; the Meter enforces that). */
  tenantId?: string;
  /** Inclusive lower bound, epoch ms. */
  from?: number;
  /** Exclusive upper bound, epoch ms. */
  to?: number;
  groupBy: readonly UsageDimension[];
}

/** One aggregated row; dimension fields are present only when grouped by them. */
export interface UsageRow {
  /** UTC calendar day, `YYYY-MM-DD`. */
  day?: string;
  model?: string;
  keyId?: string;
  tenantId?: string;
  requests: number;
  units: number;
  /** Requests answered with a 5xx (served, not billed). */
  errors: number;
  latencyMsTotal: number;
}

export type AuditOutcome = 'success' | 'denied' | 'failed';

export interface AuditEntry {
  id: string;
  at: number;
  /** Who: the acting key and its tenant (`bootstrap` for the first admin key). */
  actorKeyId: string;
  actorTenantId: string;
  /** What, e.g. `key.create`, `key.revoke`, `tenant.create`, `model.upload`. */
  action: string;
  /** The object acted on, e.g. `key:key_3f9c…`, `tenant:acme`. */
  target: string;
  /** Tenant that owns the target; audit queries by non-admins are filtered on it. */
  targetTenantId: string;
  outcome: AuditOutcome;
  /** Short reason for a denial or failure (an error code), never a secret. */
  detail?: string;
}

export interface AuditQuery {
  /** Entries whose actor or target belongs to this tenant. Absent = all (admin). */
  tenantId?: string;
  actorKeyId?: string;
  action?: string;
  from?: number;
  to?: number;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
}

/** A response kept for replay under an `Idempotency-Key`. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** The JSON body as sent. */
  body: unknown;
}

export type IdempotencyBegin =
  | { state: 'started' }
  | { state: 'in_flight'; fingerprint: string }
  | { state: 'completed'; fingerprint: string; response: StoredResponse };

export interface QuotaAllowance {
  /** Monthly units of the tenant; absent = unlimited. */
  tenant?: number;
  /** Monthly units of the key; absent = unlimited. */
  key?: number;
}

export interface QuotaDebitResult {
  ok: boolean;
  /** Units left this month after the debit (or unchanged when refused); absent = unlimited. */
  remaining: { tenant?: number; key?: number };
}

/** `YYYY-MM-DD` of an epoch-ms time, in UTC: the usage day (the `day` dimension of usage rows). */
export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}
