/**
 * The two registry reads every served request made: alias → version number (`latest` moves on
 * every upload) and the model row (serving settings). Cached here; every write the registry makes
 * to a model (upload, alias set or deleted, PATCH, delete) clears the cache in this process at
 * once and, over the bus, in the others; a read that straddled a write is not kept (generation),
 * and entries expire after `ttlMs` in case a bus message was lost. Off where processes share a
 * database without a bus (the registry's `cacheVersions`).
 */
import type { Bus } from '../../store/bus';
import type { ModelRecord } from '../../store/ports';

const TOPIC = 'models-changed';

interface Entry<T> {
  value: T;
  until: number;
}

export class ModelLookupCache {
  private readonly versions = new Map<string, Entry<number>>();
  private readonly models = new Map<string, Entry<ModelRecord>>();
  private generation = 0;

  constructor(private readonly options: { enabled: boolean; ttlMs: number; maxEntries: number; bus?: Bus }) {
    options.bus?.subscribe(TOPIC, () => this.clear());
  }

  /** The version `ref` names, from the cache or `load` (a null answer is not cached). */
  version(
    owner: string,
    name: string,
    ref: string,
    load: () => Promise<number | null>,
  ): Promise<number | null> {
    return this.through(this.versions, `${owner}\0${name}\0${ref}`, load);
  }

  model(owner: string, name: string, load: () => Promise<ModelRecord | null>): Promise<ModelRecord | null> {
    return this.through(this.models, `${owner}\0${name}`, load);
  }

  /** A model changed: forget every lookup here and in the other processes. */
  async changed(): Promise<void> {
    this.clear();
    await this.options.bus?.publish(TOPIC, '{}').catch(() => {});
  }

  private async through<T>(
    map: Map<string, Entry<T>>,
    key: string,
    load: () => Promise<T | null>,
  ): Promise<T | null> {
    const hit = map.get(key);
    const now = performance.now();
    if (hit !== undefined && hit.until > now) return hit.value;
    const generation = this.generation;
    const value = await load();
    if (value !== null && this.options.enabled && generation === this.generation) {
      if (map.size >= this.options.maxEntries) map.delete(map.keys().next().value as string);
      map.set(key, { value, until: now + this.options.ttlMs });
    }
    return value;
  }

  private clear(): void {
    this.generation++;
    this.versions.clear();
    this.models.clear();
  }
}
