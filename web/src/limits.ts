/**
 * The limit fields of tenants and keys, as the API names them (`src/platform/tenancy/validation.ts`):
 * rates and a monthly quota for both; scheduling weight and concurrency for a tenant only.
 */
import type { Limits } from '../../src/sdk/client';

export interface LimitField {
  name: keyof Limits;
  label: string;
  help: string;
}

export const KEY_LIMITS: LimitField[] = [
  { name: 'requestsPerMinute', label: 'Requests / minute', help: 'model calls a minute' },
  { name: 'unitsPerMinute', label: 'Units / minute', help: 'billed units (tokens, pixels, …) a minute' },
  { name: 'monthlyUnits', label: 'Monthly units', help: 'billed units a calendar month' },
];

export const TENANT_LIMITS: LimitField[] = [
  ...KEY_LIMITS,
  { name: 'weight', label: 'Weight', help: 'share of a busy model against other tenants (default 1)' },
  { name: 'concurrency', label: 'Concurrency', help: 'most of its requests one model runs at once' },
];

/** The form's text fields → the `limits` object: empty fields are left out (no limit). */
export function limitsFrom(values: Partial<Record<keyof Limits, string>>, fields: LimitField[]): Limits {
  const out: Limits = {};
  for (const f of fields) {
    const text = values[f.name]?.trim();
    if (text) out[f.name] = Number(text);
  }
  return out;
}

/** `{requestsPerMinute: 60}` → "60 requests / minute"; no limits → "none". */
export function describeLimits(limits: Limits, fields: LimitField[] = TENANT_LIMITS): string {
  const parts = fields
    .filter((f) => limits[f.name] !== undefined)
    .map((f) => `${limits[f.name]} ${f.label.toLowerCase()}`);
  return parts.length ? parts.join(' · ') : 'none';
}
