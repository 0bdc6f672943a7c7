/**
 * Who is calling. Routes never look at raw keys: the API edge asks a `KeyResolver` to turn a
 * bearer token into a `Principal` (tenant + scopes), then checks the route's required scope. The
 * tenancy issue adds a store-backed resolver (hashed keys per tenant) behind the same interface.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** `admin`: tenants and other people's keys; `manage`: upload, delete, configure; `infer`: call models. */
export const scopes = ['admin', 'manage', 'infer'] as const;
export type Scope = (typeof scopes)[number];

export interface Principal {
  /** Owner of every record this caller creates or sees. */
  tenant: string;
  /** Stable id of the key (never the key itself); for logs and usage. */
  keyId: string;
  scopes: ReadonlySet<Scope>;
}

export interface KeyResolver {
  /** The principal for a bearer token, or null for an unknown key. Must compare in constant time. */
  resolve(token: string): Promise<Principal | null>;
}

/** The tenant the bootstrap admin key belongs to. */
export const DEFAULT_TENANT = 'default';

/** `admin` implies every scope; otherwise the scope must be held. */
export function hasScope(p: Principal, needed: Scope): boolean {
  return p.scopes.has('admin') || p.scopes.has(needed);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Resolves exactly one key: the admin key. Hash both sides so lengths match for timingSafeEqual. */
export class AdminKeyResolver implements KeyResolver {
  private readonly hash: Buffer;
  constructor(adminKey: string) {
    this.hash = sha256(adminKey);
  }
  async resolve(token: string): Promise<Principal | null> {
    if (!timingSafeEqual(sha256(token), this.hash)) return null;
    return { tenant: DEFAULT_TENANT, keyId: 'admin', scopes: new Set(scopes) };
  }
}

/** Tries resolvers in order (admin key first, then store-backed keys in the next issue). */
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
