import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Raw API keys: `maas_<prefix>_<secret>`, e.g. `maas_7KcQ2vLx9a_V1t…` (48 chars).
 * - prefix: 10 base62 chars (≈ 59 bits), public, indexed: finds the record in one read.
 * - secret: 32 base62 chars (≈ 190 bits ≥ the 128 required), never stored anywhere.
 * The store keeps only HMAC-SHA256(pepper, whole raw key): a leaked database alone cannot be
 * brute-forced without the pepper, and a recognisable `maas_` lets secret scanners find leaks.
 */
export const KEY_PREFIX_CHARS = 10;
export const KEY_SECRET_CHARS = 32;
const KEY_PATTERN = /^maas_([0-9A-Za-z]{10})_([0-9A-Za-z]{32})$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Unbiased base62: bytes ≥ 248 (= 4 × 62) are rejected so every char is equally likely. */
export function randomBase62(length: number, random: (n: number) => Buffer = randomBytes): string {
  let out = '';
  while (out.length < length) {
    for (const byte of random(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

export interface GeneratedKey {
  raw: string;
  prefix: string;
}

export function generateKey(): GeneratedKey {
  const prefix = randomBase62(KEY_PREFIX_CHARS);
  return { raw: `maas_${prefix}_${randomBase62(KEY_SECRET_CHARS)}`, prefix };
}

/** The prefix of a well-formed raw key, or null (then the request is simply unauthorised). */
export function parseKeyPrefix(raw: string): string | null {
  const match = KEY_PATTERN.exec(raw);
  return match ? match[1] : null;
}

/** Hex HMAC-SHA256 of the raw key under the server's pepper (≥ 32 bytes, from config). */
export function hashKey(raw: string, pepper: Buffer): string {
  return createHmac('sha256', pepper).update(raw, 'utf8').digest('hex');
}

/**
 * Compare two secrets in time independent of where they differ. Lengths are not secret here
 * (both sides are fixed-size digests), but unequal lengths must not throw.
 */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Does `raw` hash to `storedHash`? Both digests are compared with `timingSafeEqual`. */
export function verifyKeyHash(raw: string, storedHash: string, pepper: Buffer): boolean {
  const computed = Buffer.from(hashKey(raw, pepper), 'hex');
  return constantTimeEqual(computed, Buffer.from(storedHash, 'hex'));
}

/** A public key id, e.g. `key_3f9c0a1b2c3d4e5f` (64 random bits; not a secret). */
export function newKeyId(): string {
  return `key_${randomBytes(8).toString('hex')}`;
}
