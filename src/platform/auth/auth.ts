/**
 * Who is calling. Routes never look at raw keys: the API edge asks a `KeyResolver` to turn a
 * bearer token into a `Principal` (tenant + scopes), then checks the route's required scope. The
 * store-backed resolver (hashed keys per tenant, `keyServiceResolver`) is chained after the admin key.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMaasError } from '../../common/errors';
import type { Principal } from '../../store/tenancy/types';
import type { KeyService } from '../tenancy/key-service';
/**
 * One Principal, one Scope, one `hasScope` for the whole platform: the tenancy domain's
 * (`{tenantId, keyId, scopes, limits}`), re-exported here for the API edge.
 */
import { SCOPE_LADDER } from '../tenancy/scopes';

export type { Principal, Scope } from '../../store/tenancy/types';
export { hasScope } from '../tenancy/scopes';

/** `admin`: tenants and other tenants' keys; `manage`: upload, delete, configure; `infer`: call models. */
export const scopes = SCOPE_LADDER;

export interface KeyResolver {
  /** The principal for a bearer token, or null for an unknown key. Must compare in constant time. */
  resolve(token: string): Promise<Principal | null>;
}

/** The tenant the bootstrap admin key belongs to. */
export const DEFAULT_TENANT = 'default';

// One-shot `hash` (no Hash object): the admin key is checked on every request.
const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer');

/** Resolves exactly one key: the admin key. Hash both sides so lengths match for timingSafeEqual. */
export class AdminKeyResolver implements KeyResolver {
  private readonly hash: Buffer;
  constructor(adminKey: string) {
    this.hash = sha256(adminKey);
  }
  async resolve(token: string): Promise<Principal | null> {
    if (!timingSafeEqual(sha256(token), this.hash)) return null;
    // The bootstrap admin is never rate limited: it must be able to repair limits that lock others out.
    return { tenantId: DEFAULT_TENANT, keyId: 'admin', scopes: [...scopes], limits: { key: {}, tenant: {} } };
  }
}

/** The store-backed keys (hashed, per tenant) as a resolver: an unknown or revoked key is null. */
export function keyServiceResolver(keys: KeyService): KeyResolver {
  return {
    resolve: (token) =>
      keys.resolve(token).then(
        (p) => p,
        (e: unknown) => {
          if (isMaasError(e) && e.code === 'unauthorized') return null;
          throw e;
        },
      ),
  };
}

/** Tries resolvers in order: the admin key first, then the store-backed keys. */
export class ChainedKeyResolver implements KeyResolver {
  constructor(private readonly resolvers: readonly KeyResolver[]) {}
  async resolve(token: string): Promise<Principal | null> {
    for (const r of this.resolvers) {
      const p = await r.resolve(token);
      if (p) return p;
    }
    return null;
  }
}

export const ADMIN_KEY_FILE = 'admin.key';

/**
 * The admin key: the configured one, else the one saved in the data folder, else a new random one
 * (256 bits) saved with mode 0600. `generated` is true only on the start that created it, so the
 * caller prints it exactly once.
 */
export async function ensureAdminKey(
  dataDir: string,
  configured: string | null,
): Promise<{ key: string; generated: boolean }> {
  if (configured) return { key: configured, generated: false };
  const file = join(dataDir, ADMIN_KEY_FILE);
  const saved = await readFile(file, 'utf8').then(
    (s) => s.trim(),
    () => null,
  );
  if (saved) return { key: saved, generated: false };
  const key = `maas_${randomBytes(32).toString('base64url')}`;
  await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { key, generated: true };
}

export const PEPPER_FILE = 'key.pepper';

/**
 * The server secret mixed into every key hash (32 random bytes): the configured one, else the one
 * saved in the data folder (mode 0600), else a new one. Losing it invalidates every stored key.
 */
export async function ensurePepper(dataDir: string, configured: string | null): Promise<Buffer> {
  if (configured) return Buffer.from(configured, 'utf8');
  const file = join(dataDir, PEPPER_FILE);
  const saved = await readFile(file, 'utf8').then(
    (s) => s.trim(),
    () => null,
  );
  if (saved) return Buffer.from(saved, 'base64url');
  const pepper = randomBytes(32);
  await writeFile(file, `${pepper.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return pepper;
}
