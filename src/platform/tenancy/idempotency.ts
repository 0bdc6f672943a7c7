import { createHash } from 'node:crypto';
import { fail } from '../../common/errors';
import type { IdempotencyStore } from '../../store/tenancy/ports';
import type { Principal, StoredResponse } from '../../store/tenancy/types';
import type { Clock } from './clock';

/** How long a first answer is kept for replay: 24 h, as Stripe and the IETF draft suggest. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** `Idempotency-Key` values: 1–255 visible ASCII characters (UUIDs, ULIDs, client ids). */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The header value, validated; undefined when the header is absent. */
export function parseIdempotencyKey(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY_PATTERN.test(value)) {
    fail('invalid_request', 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
      pointer: 'Idempotency-Key',
    });
  }
  return value;
}

/** Sort object keys so that `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface FingerprintedRequest {
  method: string;
  path: string;
  /** Raw bytes or text are hashed as they are; a parsed JSON value is hashed canonically. */
  body?: unknown;
}

/** sha256 hex of method, path and body, each length-framed so no two requests can collide by concatenation. */
export function requestFingerprint(request: FingerprintedRequest): string {
  const body =
    request.body instanceof Uint8Array
      ? request.body
      : Buffer.from(typeof request.body === 'string' ? request.body : canonicalJson(request.body ?? null));
  const hash = createHash('sha256');
  for (const part of [Buffer.from(request.method.toUpperCase()), Buffer.from(request.path), body]) {
    hash.update(`${part.length}:`).update(part);
  }
  return hash.digest('hex');
}

export interface IdempotentResult {
  response: StoredResponse;
  /** True when this is the stored first answer, not a new execution. */
  replayed: boolean;
}

/**
 * `Idempotency-Key` on creates: the first request with a key runs and its answer is stored;
 * a replay (same key, same principal, same fingerprint) gets that answer back without running;
 * the same key with another request → 422 `idempotency_mismatch`; a duplicate while the first is
 * still running → 409 `conflict`. Keys are per principal (tenant + key id), so two callers never
 * see each other's answers. A handler that throws stores nothing, so the client may retry.
 * `toStored` shapes what is kept for replay: a key creation keeps its answer without the raw key
 * (`withoutRawKey`), since the store must never hold one — a replay then shows `key: null`.
 */
export class Idempotency {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly clock: Clock,
    private readonly ttlMs = IDEMPOTENCY_TTL_MS,
  ) {}

  async run(
    principal: Principal,
    idempotencyKey: string,
    request: FingerprintedRequest,
    handler: () => Promise<StoredResponse>,
    toStored: (response: StoredResponse) => StoredResponse = (r) => r,
  ): Promise<IdempotentResult> {
    const scopeKey = `${principal.tenantId}:${principal.keyId}:${idempotencyKey}`;
    const fingerprint = requestFingerprint(request);
    const now = this.clock.now();
    const state = await this.store.begin(scopeKey, fingerprint, now, now - this.ttlMs);
    if (state.state !== 'started') {
      if (state.fingerprint !== fingerprint) {
        fail('idempotency_mismatch', 'this Idempotency-Key was used with a different request');
      }
      if (state.state === 'in_flight') {
        fail('conflict', 'a request with this Idempotency-Key is still in progress', {
          retryAfterSeconds: 1,
        });
      }
      return { response: state.response, replayed: true };
    }
    let response: StoredResponse;
    try {
      response = await handler();
    } catch (error) {
      await this.store.abandon(scopeKey);
      throw error;
    }
    await this.store.complete(scopeKey, toStored(response));
    return { response, replayed: false };
  }

  /**
   * Housekeeping (the leader's sweep): delete the answers past their TTL, which `run` would treat
   * as absent anyway, so the table holds about one TTL of keys. Returns how many it deleted.
   */
  purgeExpired(): Promise<number> {
    return this.store.purgeExpired(this.clock.now() - this.ttlMs);
  }
}

/**
 * The stored form of a key-creation answer: the raw key is shown once and never persisted, so a
 * replay gets the same id and prefix with `key: null` (the client revokes it if the first answer
 * was lost, and mints another).
 */
export function withoutRawKey(response: StoredResponse): StoredResponse {
  const body = response.body;
  if (body === null || typeof body !== 'object' || !('key' in body)) return response;
  return { ...response, body: { ...body, key: null } };
}
