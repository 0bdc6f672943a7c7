/**
 * Resolved API keys, cached so an authenticated request costs no database read and no HMAC:
 * token → Principal for `ttlMs`. Any change that could make an entry wrong (a key revoked, a
 * tenant's limits changed) clears the whole cache in this process at once and, over the bus,
 * in every other process of the deployment; the TTL bounds the damage of a lost bus message.
 * Only tokens that resolved are kept, so unknown keys cannot fill it. Off where processes share
 * a database without a bus (they would not hear each other's revocations).
 */
import type { Bus } from '../../store/bus';
import type { Principal } from '../../store/tenancy/types';
import type { Clock } from './clock';

export interface PrincipalCacheOptions {
  enabled: boolean;
  ttlMs: number;
  maxEntries: number;
  clock: Clock;
  bus?: Bus;
}

const TOPIC = 'keys-changed';

export class PrincipalCache {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();
  /** Bumped by every change: a lookup that started before it must not store its answer. */
  private generation = 0;

  constructor(private readonly options: PrincipalCacheOptions) {
    options.bus?.subscribe(TOPIC, () => this.clear());
  }

  get(token: string): Principal | undefined {
    const hit = this.entries.get(token);
    if (hit === undefined) return undefined;
    if (hit.until <= this.options.clock.now()) {
      this.entries.delete(token);
      return undefined;
    }
    return hit.principal;
  }

  /** The generation a lookup starts in; pass it to `set`. */
  begin(): number {
    return this.generation;
  }

  set(token: string, principal: Principal, generation: number): void {
    if (!this.options.enabled || generation !== this.generation) return;
    if (this.entries.size >= this.options.maxEntries)
      this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, { principal, until: this.options.clock.now() + this.options.ttlMs });
  }

  /** A key or tenant changed: forget everything here, and tell the other processes. */
  async changed(): Promise<void> {
    this.clear();
    await this.options.bus?.publish(TOPIC, '{}');
  }

  private clear(): void {
    this.generation++;
    this.entries.clear();
  }
}
