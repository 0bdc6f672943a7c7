import { fail } from '../../common/errors';
import { parseName } from '../../common/names';
import type { Limits, Scope } from '../../store/tenancy/types';
import { isScope, SCOPE_LADDER } from './scopes';

/**
 * Parsers for create bodies. Unknown properties are refused by name (no mass assignment of
 * tenant, role or quota): `{"name":"a","role":"admin"}` → 400 "unknown property 'role'",
 * pointer `role`.
 */

/** Largest limit accepted (units/month): 10^12 stays exact in a double and in SQLite INTEGER. */
const MAX_LIMIT = 1e12;
const LIMIT_FIELDS = ['requestsPerMinute', 'unitsPerMinute', 'monthlyUnits'] as const;
/** Scheduling limits (see platform/serving/fair-queue.ts): a tenant's, not a key's. */
const TENANT_FIELDS = { weight: 1000, concurrency: 1_000_000 } as const;

export interface CreateTenantBody {
  name: string;
  limits: Limits;
}

export interface CreateKeyBody {
  /** Absent = the caller's own tenant. */
  tenant?: string;
  name: string;
  scopes: Scope[];
  limits: Limits;
}

function asObject(value: unknown, pointer: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('invalid_request', `${pointer || 'body'} must be a JSON object`, { pointer: pointer || '/' });
  }
  return value as Record<string, unknown>;
}

function rejectUnknown(obj: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const pointer = `${prefix}${key}`;
      fail('invalid_request', `unknown property '${pointer}'; allowed: ${allowed.join(', ')}`, { pointer });
    }
  }
}

/** A key's limits, or with `tenant` a tenant's (which may also set `weight` and `concurrency`). */
export function parseLimits(value: unknown, pointer = 'limits', tenant = false): Limits {
  if (value === undefined) return {};
  const obj = asObject(value, pointer);
  const tenantFields = Object.keys(TENANT_FIELDS) as (keyof typeof TENANT_FIELDS)[];
  if (!tenant) {
    const misplaced = tenantFields.find((f) => obj[f] !== undefined);
    if (misplaced)
      fail('invalid_request', `${pointer}.${misplaced} is a tenant limit; set it on the tenant, not a key`, {
        pointer: `${pointer}.${misplaced}`,
      });
  }
  rejectUnknown(obj, tenant ? [...LIMIT_FIELDS, ...tenantFields] : LIMIT_FIELDS, `${pointer}.`);
  const out: Limits = {};
  for (const field of LIMIT_FIELDS) {
    if (obj[field] !== undefined) out[field] = integer(obj[field], `${pointer}.${field}`, MAX_LIMIT);
  }
  for (const field of tenantFields) {
    if (obj[field] !== undefined)
      out[field] = integer(obj[field], `${pointer}.${field}`, TENANT_FIELDS[field]);
  }
  return out;
}

function integer(v: unknown, pointer: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    fail('invalid_request', `${pointer} must be an integer from 1 to ${max}`, { pointer });
  }
  return v as number;
}

export function parseScopes(value: unknown, pointer = 'scopes'): Scope[] {
  if (!Array.isArray(value) || value.length === 0) {
    fail('invalid_request', `${pointer} must be a non-empty array of ${SCOPE_LADDER.join(', ')}`, {
      pointer,
    });
  }
  return value.map((s, i) => {
    if (!isScope(s)) {
      fail('invalid_request', `${pointer}[${i}] must be one of ${SCOPE_LADDER.join(', ')}`, {
        pointer: `${pointer}[${i}]`,
      });
    }
    return s;
  });
}

/** `PATCH /api/v1/tenants/{id}` body: `{limits}` (replaces the tenant's limits). */
export function parseTenantLimits(body: unknown): Limits {
  const obj = asObject(body, '');
  rejectUnknown(obj, ['limits'], '');
  if (obj.limits === undefined) fail('invalid_request', 'limits is required', { pointer: 'limits' });
  return parseLimits(obj.limits, 'limits', true);
}

/** `POST /api/v1/tenants` body: `{name, limits?}`. */
export function parseCreateTenant(body: unknown): CreateTenantBody {
  const obj = asObject(body, '');
  rejectUnknown(obj, ['name', 'limits'], '');
  return { name: parseName(obj.name, 'name'), limits: parseLimits(obj.limits, 'limits', true) };
}

/** `POST /api/v1/keys` body: `{tenant?, name, scopes, limits?}`. */
export function parseCreateKey(body: unknown): CreateKeyBody {
  const obj = asObject(body, '');
  rejectUnknown(obj, ['tenant', 'name', 'scopes', 'limits'], '');
  const parsed: CreateKeyBody = {
    name: parseName(obj.name, 'name'),
    scopes: parseScopes(obj.scopes),
    limits: parseLimits(obj.limits),
  };
  if (obj.tenant !== undefined) parsed.tenant = parseName(obj.tenant, 'tenant');
  return parsed;
}
