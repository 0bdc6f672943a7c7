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

export function parseLimits(value: unknown, pointer = 'limits'): Limits {
  if (value === undefined) return {};
  const obj = asObject(value, pointer);
  rejectUnknown(obj, LIMIT_FIELDS, `${pointer}.`);
  const out: Limits = {};
  for (const field of LIMIT_FIELDS) {
    const v = obj[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_LIMIT) {
      fail('invalid_request', `${pointer}.${field} must be an integer from 1 to ${MAX_LIMIT}`, {
        pointer: `${pointer}.${field}`,
      });
    }
    out[field] = v;
  }
  return out;
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

/** `POST /api/v1/tenants` body: `{name, limits?}`. */
export function parseCreateTenant(body: unknown): CreateTenantBody {
  const obj = asObject(body, '');
  rejectUnknown(obj, ['name', 'limits'], '');
  return { name: parseName(obj.name, 'name'), limits: parseLimits(obj.limits) };
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
