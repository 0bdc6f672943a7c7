/**
 * Loaded model versions: one Runner each, loaded on first use (concurrent first requests share
 * one load), unloaded after `idleEvictMs` without requests, and unloaded least-recently-used first
 * when the estimated memory of loaded models would pass `memoryBudgetBytes`. A runner's express
 * lane (a second session, runner.ts) loads only where the budget still has room for it.
 */
import { fail } from '../../common/errors';
import { type SessionOptions, spinWhileRunning } from '../../engine/index';
import type { ServingSettings, VersionRecord } from '../../store/ports';
import type { PlatformMetrics } from '../metrics';
import { InlineFirstSession } from './inline-session';
import { Runner, type RunnerSettings } from './runner';
import { type SpinSetting, spinMicrosFor } from './spin-policy';
import type { ModelSession } from './threaded-session';

export interface PoolSettings {
  idleEvictMs: number;
  memoryBudgetBytes: number;
  session: SessionOptions;
  /** Defaults for models that do not set their own. */
  defaults: RunnerSettings;
  /** Runners get an express lane (express-lane.ts); default off. */
  expressLane?: boolean;
  /** How long the intra-op threads spin while a run is in progress (spin-policy.ts); default 0. */
  spinUs?: SpinSetting;
}

/** Loads a session from a file; injectable so a test can count loads with the real engine. */
export type SessionLoader = (path: string, options: SessionOptions) => Promise<ModelSession>;

/** A loaded model costs roughly its weights twice (file bytes + ORT's arena); plus 1 MiB fixed. */
const estimateMemory = (v: VersionRecord): number => v.sizeBytes * 2 + 1024 * 1024;

export const versionKey = (v: Pick<VersionRecord, 'owner' | 'model' | 'version'>): string =>
  `${v.owner}/${v.model}@${v.version}`;

/** A runner's key: the version's, or a file derived from it (`…#saliency`). */
const runnerKey = (v: VersionRecord, role?: string): string =>
  role ? `${versionKey(v)}#${role}` : versionKey(v);

/** A runner's metric labels. */
const runnerLabels = (v: VersionRecord, role?: string) => ({
  model: v.model,
  version: role ? `${v.version}#${role}` : String(v.version),
});

export function runnerSettings(serving: ServingSettings, defaults: RunnerSettings): RunnerSettings {
  return {
    maxBatchSize: serving.max_batch_size ?? defaults.maxBatchSize,
    maxDelayMs: serving.max_delay_ms ?? defaults.maxDelayMs,
    maxQueue: serving.max_queue ?? defaults.maxQueue,
    // `max_batch_size` is the alias of `max_num_seqs` for decoders (as vLLM's and TGI's names).
    maxNumSeqs: serving.max_num_seqs ?? serving.max_batch_size ?? defaults.maxNumSeqs,
    maxBatchedTokens: serving.max_batched_tokens ?? defaults.maxBatchedTokens,
    scheduling: defaults.scheduling,
  };
}

export class RunnerPool {
  private readonly runners = new Map<string, Runner>();
  private readonly loading = new Map<string, Promise<Runner>>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly settings: PoolSettings,
    private readonly metrics: PlatformMetrics,
    private readonly load: SessionLoader = (path, options) => InlineFirstSession.create(path, options),
  ) {
    // Sweep often enough that an idle model is unloaded within ~1/4 of its idle limit.
    this.sweeper = setInterval(
      () => this.evictIdle(),
      Math.max(20, Math.min(settings.idleEvictMs / 4, 10_000)),
    );
    this.sweeper.unref();
    metrics.loadedModels.collect(() => [[{}, this.runners.size]]);
    metrics.modelMemory.collect(() => [[{}, this.memoryInUse()]]);
  }

  get loaded(): string[] {
    return [...this.runners.keys()];
  }

  isLoaded(v: VersionRecord, role?: string): boolean {
    return this.runners.has(runnerKey(v, role));
  }

  /** A request given up before it reached a runner: its client went away, or its deadline passed, while the model loaded. */
  noteDropped(
    v: VersionRecord,
    role: string | undefined,
    reason: 'client_closed' | 'deadline_exceeded',
  ): void {
    this.metrics.dropped.inc({ ...runnerLabels(v, role), reason });
  }

  /** Bytes of express lanes being loaded (not yet in their runners' estimates). */
  private expressLoading = 0;

  memoryInUse(): number {
    let n = 0;
    for (const r of this.runners.values()) n += r.memoryEstimate;
    return n;
  }

  /**
   * The runner for a version, loading it if needed; `serving` settings apply on every call. With a
   * `role`, the runner of an ONNX file derived from the version (e.g. its saliency graph: `v` then
   * carries that file's digest, size and signature); it shares the version's lifetime.
   */
  async acquire(v: VersionRecord, path: string, serving: ServingSettings, role?: string): Promise<Runner> {
    if (this.closed) fail('not_ready', 'the server is shutting down');
    const key = runnerKey(v, role);
    const settings = runnerSettings(serving, this.settings.defaults);
    const ready = this.runners.get(key);
    if (ready) {
      ready.settings = settings;
      return ready;
    }
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.loadRunner(key, v, path, settings, role).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async loadRunner(
    key: string,
    v: VersionRecord,
    path: string,
    settings: RunnerSettings,
    role?: string,
  ): Promise<Runner> {
    const need = estimateMemory(v);
    if (need > this.settings.memoryBudgetBytes) {
      fail('engine_unavailable', `model needs ~${need} bytes, over the memory budget`, {
        retryAfterSeconds: 60,
      });
    }
    this.makeRoom(need);
    const spin = spinMicrosFor(this.settings.spinUs ?? 0, v, role !== undefined);
    const options = { ...this.settings.session, ...spinWhileRunning(spin) };
    const session = await this.load(path, options);
    const labels = runnerLabels(v, role);
    // The express lane's second copy of the model, only while the budget has room for it. One
    // thread inside an op: a light request's row is little work, and split across threads it
    // waits at every op for a thread that the main run (and the machine's other work) holds; on
    // a loaded 2-core machine its one-row runs took as long as the main 16-row ones (measured).
    // Lanes still loading hold their room (`expressLoading`), so that two models starting to
    // compete at once do not both take the last copy's worth of the budget.
    const loadExpress = async () => {
      const room = this.settings.memoryBudgetBytes - this.memoryInUse() - this.expressLoading;
      if (this.closed || need > room) return null;
      this.expressLoading += need;
      try {
        return await this.load(path, { ...options, intraOpThreads: 1 });
      } finally {
        this.expressLoading -= need;
      }
    };
    const runner = new Runner(key, session, v.signature, settings, need, this.metrics, labels, {
      loadExpress: this.settings.expressLane ? loadExpress : undefined,
    });
    this.runners.set(runner.id, runner);
    this.metrics.loads.inc(labels);
    return runner;
  }

  /** Unload idle runners, least recently used first, until `need` more bytes fit the budget. */
  private makeRoom(need: number): void {
    const idle = [...this.runners.values()].filter((r) => !r.busy).sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.memoryInUse() + need > this.settings.memoryBudgetBytes && idle.length > 0) {
      void this.unloadRunner(idle.shift()!, 'memory');
    }
  }

  private evictIdle(): void {
    const now = Date.now();
    for (const r of this.runners.values()) {
      if (!r.busy && now - r.lastUsed >= this.settings.idleEvictMs) void this.unloadRunner(r, 'idle');
    }
  }

  private async unloadRunner(r: Runner, reason: string): Promise<void> {
    if (this.runners.get(r.id) !== r) return;
    this.runners.delete(r.id);
    this.metrics.evictions.inc({ reason });
    await r.close();
  }

  /** Unload one version (deleted from the registry) and the runners of its derived files. */
  async unload(v: Pick<VersionRecord, 'owner' | 'model' | 'version'>): Promise<void> {
    const key = versionKey(v);
    const mine = [...this.runners.values()].filter((r) => r.id === key || r.id.startsWith(`${key}#`));
    await Promise.all(mine.map((r) => this.unloadRunner(r, 'deleted')));
  }

  /** Idempotent: stop sweeping and release every session. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    await Promise.all([...this.runners.values()].map((r) => this.unloadRunner(r, 'shutdown')));
  }
}
