import { fail } from './errors';

/** Names of models, datasets, tenants and keys: lower-case, no path separators, ≤ 63 chars. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Content digests as stored and shown: `sha256:` + 64 hex digits. */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/**
 * Validate a user-supplied name at parse time. `..` is refused even though the pattern would
 * allow dots, so that no name can ever mean "parent folder".
 */
export function parseName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value) || value.includes('..')) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    fail('invalid_name', `${field} ${shown} must match ${NAME_PATTERN.source} and not contain '..'`, {
      pointer: field,
    });
  }
  return value;
}

export function parseDigest(value: unknown, field = 'digest'): string {
  if (typeof value !== 'string' || !DIGEST_PATTERN.test(value)) {
    fail('invalid_name', `${field} must look like sha256:<64 hex digits>`, { pointer: field });
  }
  return value;
}
