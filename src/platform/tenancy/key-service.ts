import { fail, isMaasError } from '../../common/errors';
import { parseName } from '../../common/names';
import type { KeyStore, TenantStore } from '../../store/tenancy/ports';
import type { KeyRecord, Limits, Principal, Scope } from '../../store/tenancy/types';
import type { AuditLog } from './audit';
import type { Clock } from './clock';
import { generateKey, hashKey, newKeyId, parseKeyPrefix, verifyKeyHash } from './keys';
import type { PrincipalCache } from './principal-cache';
import { authorize, hasScope, narrowLimits, scopeClosure, scopesWithin } from './scopes';
import type { CreateKeyBody } from './validation';

/** A key as shown in lists and answers: no hash, no secret. */
export interface PublicKey {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  limits: Limits;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}

/** The answer to a create: the only time the raw key is ever shown. */
export interface MintedKey extends PublicKey {
  key: string;
}

export interface KeyServiceDeps {
  keys: KeyStore;
  tenants: TenantStore;
  audit: AuditLog;
  clock: Clock;
  /** Server secret mixed into every key hash (≥ 32 bytes), from config; never logged. */
  pepper: Buffer;
  /** Resolved keys; cleared by every revocation (principal-cache.ts). */
  cache: PrincipalCache;
}

/** Attempts at a fresh prefix when one collides (≈ 59-bit prefixes: a retry is already rare). */
const PREFIX_ATTEMPTS = 3;

export function publicKey(record: KeyRecord): PublicKey {
  const { hash: _hash, ...rest } = record;
  return { ...rest, scopes: [...rest.scopes], limits: { ...rest.limits } };
}

/** Mint, resolve, list and revoke API keys; every management call is audited. */
export class KeyService {
  private readonly dummyHash: string;

  constructor(private readonly deps: KeyServiceDeps) {
    if (deps.pepper.length < 32) throw new Error('key pepper must be at least 32 bytes');
    // Hashed against when a prefix is unknown, so a miss costs the same HMAC as a wrong secret.
    this.dummyHash = hashKey(generateKey().raw, deps.pepper);
  }

  /**
   * The auth hook's key resolver: raw key (from `Authorization: Bearer …`) → Principal, or
   * `unauthorized`. A key resolved before comes from the cache, which every revocation and limit
   * change clears, so a revocation still applies to the next request.
   */
  async resolve(raw: string | undefined): Promise<Principal> {
    const cached = raw === undefined ? undefined : this.deps.cache.get(raw);
    if (cached !== undefined) return cached;
    const generation = this.deps.cache.begin();
    const principal = await this.lookup(raw);
    this.deps.cache.set(raw as string, principal, generation);
    return principal;
  }

  /** The store's answer: the key by prefix, its hash checked, its tenant's limits. */
  private async lookup(raw: string | undefined): Promise<Principal> {
    const prefix = raw === undefined ? null : parseKeyPrefix(raw);
    const record = prefix === null ? null : await this.deps.keys.findByPrefix(prefix);
    const matches = verifyKeyHash(raw ?? '', record?.hash ?? this.dummyHash, this.deps.pepper);
    if (record === null || !matches || record.revokedAt !== null) {
      fail('unauthorized', 'missing or invalid API key');
    }
    const tenant = await this.deps.tenants.get(record.tenantId);
    if (tenant === null) fail('unauthorized', 'missing or invalid API key');
    return {
      tenantId: record.tenantId,
      keyId: record.id,
      scopes: record.scopes,
      limits: { key: { ...record.limits }, tenant: { ...tenant.limits } },
    };
  }

  /**
   * `POST /api/v1/keys`. Needs `manage`; a key may mint only within its own tenant (another
   * tenant → 404, as if it did not exist) unless it is `admin`, never a scope it lacks, and
   * never looser limits than its own.
   */
  async mint(actor: Principal, body: CreateKeyBody): Promise<MintedKey> {
    const tenantId = body.tenant ?? actor.tenantId;
    const event = { action: 'key.create', target: `key:${body.name}`, targetTenantId: tenantId };
    return this.deps.audit.track(actor, event, async () => {
      authorize(actor, 'manage', tenantId);
      if (!scopesWithin(body.scopes, actor.scopes)) {
        fail('forbidden', `cannot mint a key with scopes ${body.scopes.join(', ')} broader than your own`);
      }
      const isAdmin = hasScope(actor.scopes, 'admin');
      const limits = isAdmin ? { ...body.limits } : narrowLimits(actor.limits.key, body.limits);
      if ((await this.deps.tenants.get(tenantId)) === null) fail('not_found', 'not found');
      return this.insert(tenantId, body.name, body.scopes, limits, actor.keyId);
    });
  }

  /**
   * The first admin key of an installation (`maas keys create --bootstrap` on the server's own
   * machine). Refused once any active admin key exists: after that, keys are minted by keys.
   */
  async bootstrapAdmin(tenantId: string, name: string): Promise<MintedKey> {
    const actor = { tenantId: parseName(tenantId, 'tenant'), keyId: 'bootstrap' };
    const event = { action: 'key.bootstrap', target: `key:${name}`, targetTenantId: tenantId };
    return this.deps.audit.track(actor, event, async () => {
      const existing = await this.deps.keys.list({});
      if (existing.some((k) => k.revokedAt === null && k.scopes.includes('admin'))) {
        fail('conflict', 'an active admin key already exists; mint further keys with it');
      }
      if ((await this.deps.tenants.get(tenantId)) === null) fail('not_found', 'not found');
      return this.insert(tenantId, parseName(name, 'name'), ['admin'], {}, 'bootstrap');
    });
  }

  /** `GET /api/v1/keys`: own tenant's keys (`manage`); an admin may list one tenant or all. */
  async list(actor: Principal, filter: { tenantId?: string } = {}): Promise<PublicKey[]> {
    const isAdmin = hasScope(actor.scopes, 'admin');
    const tenantId = filter.tenantId ?? (isAdmin ? undefined : actor.tenantId);
    authorize(actor, 'manage', tenantId);
    const records = await this.deps.keys.list(tenantId === undefined ? {} : { tenantId });
    return records.map(publicKey);
  }

  /**
   * `DELETE /api/v1/keys/{id}`: effective at once (the next `resolve` refuses it). Another
   * tenant's key → 404; a key broader than the caller's → 403.
   */
  async revoke(actor: Principal, keyId: string): Promise<PublicKey> {
    const record = await this.deps.keys.get(keyId);
    const targetTenantId = record?.tenantId ?? actor.tenantId;
    const event = { action: 'key.revoke', target: `key:${keyId}`, targetTenantId };
    return this.deps.audit.track(actor, event, async () => {
      if (record === null) fail('not_found', 'not found');
      authorize(actor, 'manage', record.tenantId);
      if (!scopesWithin(record.scopes, actor.scopes)) {
        fail('forbidden', 'cannot revoke a key broader than your own');
      }
      const at = this.deps.clock.now();
      await this.deps.keys.revoke(keyId, at);
      await this.deps.cache.changed();
      const after = await this.deps.keys.get(keyId);
      return publicKey(after ?? { ...record, revokedAt: at });
    });
  }

  private async insert(
    tenantId: string,
    name: string,
    scopes: Scope[],
    limits: Limits,
    createdBy: string,
  ): Promise<MintedKey> {
    for (let attempt = 1; ; attempt++) {
      const { raw, prefix } = generateKey();
      const record: KeyRecord = {
        id: newKeyId(),
        tenantId,
        name,
        prefix,
        hash: hashKey(raw, this.deps.pepper),
        scopes: scopeClosure(scopes),
        limits,
        createdAt: this.deps.clock.now(),
        createdBy,
        revokedAt: null,
      };
      try {
        await this.deps.keys.insert(record);
        return { ...publicKey(record), key: raw };
      } catch (error) {
        const retry = isMaasError(error) && error.code === 'conflict' && attempt < PREFIX_ATTEMPTS;
        if (!retry) throw error;
      }
    }
  }
}
