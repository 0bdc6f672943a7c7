import { fail } from '../../common/errors';
import type { Limits, Principal, Scope } from '../../store/tenancy/types';

/**
 * The scope ladder, broadest first. Each scope implies every scope after it:
 * `admin` (everything, all tenants) ⊃ `manage` (upload, train, deploy, keys, usage of its own
 * tenant) ⊃ `infer` (call models).
 */
export const SCOPE_LADDER: readonly Scope[] = ['admin', 'manage', 'infer'];

const rank = new Map<string, number>(SCOPE_LADDER.map((s, i) => [s, SCOPE_LADDER.length - i]));

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && rank.has(value);
}

/** `['manage']` → `['manage', 'infer']`: what a grant actually allows, broadest first. */
export function scopeClosure(scopes: readonly Scope[]): Scope[] {
  const top = Math.max(0, ...scopes.map((s) => rank.get(s) ?? 0));
  return SCOPE_LADDER.filter((s) => (rank.get(s) ?? 0) <= top);
}

export function hasScope(scopes: readonly Scope[], required: Scope): boolean {
  return scopeClosure(scopes).includes(required);
}

/** True when every scope of `inner` is held by `outer`. */
export function scopesWithin(inner: readonly Scope[], outer: readonly Scope[]): boolean {
  const held = scopeClosure(outer);
  return scopeClosure(inner).every((s) => held.includes(s));
}

/** Who owns the object being acted on. A bare string is the owning tenant id. */
export type ResourceOwner = string | { tenantId: string; public?: boolean };

/**
 * Allow or throw. Order matters: another tenant's object is `not_found` (404) whatever the scope,
 * so that a caller cannot tell "exists but not yours" from "does not exist"; only then is a
 * missing scope `forbidden` (403). A `public` object (e.g. a zoo model) may be read and called
 * (`infer`) by any tenant, but only its owner or an admin may manage it.
 */
export function authorize(principal: Principal, required: Scope, resource?: ResourceOwner): void {
  const isAdmin = hasScope(principal.scopes, 'admin');
  if (resource !== undefined && !isAdmin) {
    const owner = typeof resource === 'string' ? { tenantId: resource } : resource;
    const own = owner.tenantId === principal.tenantId;
    const publicRead = owner.public === true && required === 'infer';
    if (!own && !publicRead) fail('not_found', 'not found');
  }
  if (!hasScope(principal.scopes, required)) {
    fail(
      'forbidden',
      `this action needs the '${required}' scope; the key has ${principal.scopes.join(', ')}`,
    );
  }
}

const LIMIT_FIELDS = ['requestsPerMinute', 'unitsPerMinute', 'monthlyUnits'] as const;

/**
 * Limits for a key minted by `parent`: never looser than the parent's own key limits. A limit the
 * parent has and the request omits is inherited; one the request sets above the parent's is
 * refused (`forbidden`), as minting a broader key would be.
 */
export function narrowLimits(parent: Limits, requested: Limits): Limits {
  const out: Limits = {};
  for (const field of LIMIT_FIELDS) {
    const cap = parent[field];
    const want = requested[field];
    if (cap !== undefined && want !== undefined && want > cap) {
      fail('forbidden', `limits.${field} ${want} exceeds the minting key's own limit ${cap}`);
    }
    const value = want ?? cap;
    if (value !== undefined) out[field] = value;
  }
  return out;
}
