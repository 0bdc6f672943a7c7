import type { IdempotencyStore } from '../tenancy/ports';
import type { IdempotencyBegin, StoredResponse } from '../tenancy/types';

interface Entry {
  fingerprint: string;
  createdAt: number;
  response: StoredResponse | null;
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly rows = new Map<string, Entry>();

  async begin(
    scopeKey: string,
    fingerprint: string,
    now: number,
    expiresBefore: number,
  ): Promise<IdempotencyBegin> {
    const entry = this.rows.get(scopeKey);
    if (entry === undefined || entry.createdAt < expiresBefore) {
      this.rows.set(scopeKey, { fingerprint, createdAt: now, response: null });
      return { state: 'started' };
    }
    if (entry.response === null) return { state: 'in_flight', fingerprint: entry.fingerprint };
    return { state: 'completed', fingerprint: entry.fingerprint, response: structuredClone(entry.response) };
  }

  async complete(scopeKey: string, response: StoredResponse): Promise<void> {
    const entry = this.rows.get(scopeKey);
    if (entry !== undefined) entry.response = structuredClone(response);
  }

  async abandon(scopeKey: string): Promise<void> {
    const entry = this.rows.get(scopeKey);
    if (entry !== undefined && entry.response === null) this.rows.delete(scopeKey);
  }

  async purgeExpired(expiresBefore: number): Promise<number> {
    let deleted = 0;
    for (const [key, entry] of this.rows) {
      if (entry.createdAt < expiresBefore && this.rows.delete(key)) deleted++;
    }
    return deleted;
  }

  dump(): Array<[string, Entry]> {
    return [...this.rows.entries()].map(([k, v]) => [k, structuredClone(v)]);
  }
}
