/** Any failure → one sentence a person can act on (never a blank page, never a stack trace). */
import { MaasApiError } from '../../src/sdk/client';

export function explainError(e: unknown): string {
  if (e instanceof MaasApiError) {
    if (e.status === 0) return 'Cannot reach the maas server. Is it running?';
    if (e.status === 401) return `The key was not accepted (wrong, revoked or expired): ${e.message}`;
    if (e.status === 403) return `Your key's scopes do not allow this: ${e.message}`;
    if (e.status === 429)
      return `Too many requests: ${e.message}${e.retryAfterSeconds ? ` (try again in ${e.retryAfterSeconds} s)` : ''}`;
    return `${e.message} (HTTP ${e.status}${e.code ? `, ${e.code}` : ''})`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** A 401 on any page ends the session: the key no longer works. */
export const isSignedOut = (e: unknown): boolean => e instanceof MaasApiError && e.status === 401;
