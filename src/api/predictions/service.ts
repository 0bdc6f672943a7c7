/**
 * Asynchronous predictions: durable rows (work items of kind `prediction`) run by an in-process
 * queue of `MAAS_PREDICTION_CONCURRENCY` slots. A prediction is `starting` until a slot claims it
 * with a compare-and-set (`starting` → `processing`, so two processes never run one), then ends
 * `succeeded`, `failed` or `canceled`.
 *
 * Restarts: queued rows survive and are adopted by the next start (and, on a shared database, by
 * any process with a free slot); a row left `processing` by a process that is gone (the embedded
 * server restarted, or no heartbeat for `STALE_MS`) fails with an error saying so. Finished rows,
 * their delivery logs and files are deleted `MAAS_PREDICTION_TTL` after creation.
 *
 * Cancel across processes: the row is the truth. A cancel through any process moves it to
 * `canceled` (a compare-and-set) and publishes `prediction-canceled` on the bus; the process
 * running it stops it at once on the message (Redis pub/sub when MAAS_REDIS_URL is set), and in
 * any case when its poll of the row (every `CANCEL_POLL_MS`) finds it no longer `processing`.
 */
import { randomBytes } from 'node:crypto';
import { fail } from '../../common/errors';
import type { Principal } from '../../platform/auth/auth';
import type { Platform } from '../../platform/platform';
import { purgeFinishedWork } from '../../platform/retention';
import { referencedOutputDigests } from '../../platform/webhooks/outputs';
import type { WorkItem } from '../../store/work-ports';
import { type CreateCharge, releaseCreateCharge } from '../background/admission';
import { type PredictionEvent, runPrediction, webhook } from './run';
import { dataOf, isTerminal, type PredictionData, predictionView, TERMINAL } from './view';

/** A running prediction's row is refreshed this often (ms)... */
const HEARTBEAT_MS = 20_000;
/**
 * ...and read this often, to stop it when another process canceled it (ms): the fallback of the
 * bus message, which Redis delivers at once and an embedded (one-process) bus cannot.
 */
const CANCEL_POLL_MS = 1000;
/** With Redis the bus message stops it at once; the poll is then only the fallback (ms). */
const CANCEL_POLL_WITH_REDIS_MS = 10_000;
/** ...and counts as abandoned by its process after this long without (ms). */
const STALE_MS = 90_000;
const JANITOR_EVERY_MS = 10_000;
const PURGE_EVERY_MS = 60_000;

export interface NewPrediction {
  model: string;
  version: string | null;
  task: PredictionData['task'];
  input: Record<string, unknown>;
  webhook: string | null;
  events: PredictionData['events'];
}

interface Running {
  controller: AbortController;
  done: Promise<WorkItem>;
}

export class PredictionService {
  /** This process, in `data.instance` of the rows it runs. */
  readonly instance = randomBytes(8).toString('hex');
  private readonly queue: { owner: string; id: string }[] = [];
  private readonly queued = new Set<string>();
  private readonly running = new Map<string, Running>();
  private readonly listeners = new Map<string, Set<(e: PredictionEvent) => void>>();
  private janitor: NodeJS.Timeout | null = null;
  private lastPurge = 0;
  private stopped = false;

  private unsubscribe: (() => void) | null = null;

  constructor(private readonly platform: Platform) {}

  private get items() {
    return this.platform.store.workItems;
  }

  /** Stores a prediction admitted at create (`charge`) and queues it. */
  async create(principal: Principal, charge: CreateCharge, p: NewPrediction): Promise<WorkItem> {
    const now = Date.now();
    const data: PredictionData = {
      ...p,
      charge,
      chargedAtCreate: true,
      output: null,
      logs: '',
      error: null,
      principal,
      instance: null,
      startedAt: null,
      completedAt: null,
      files: [],
    };
    const item: WorkItem = {
      kind: 'prediction',
      id: `p_${randomBytes(12).toString('hex')}`,
      owner: principal.tenantId,
      status: 'starting',
      parent: null,
      dueAt: 0,
      createdAt: now,
      updatedAt: now,
      data: data as unknown as Record<string, unknown>,
    };
    await this.items.insert(item);
    this.enqueue(item.owner, item.id);
    return item;
  }

  async get(owner: string, id: string): Promise<WorkItem> {
    const item = await this.items.get('prediction', owner, id);
    return item ?? fail('not_found', `no prediction '${id.slice(0, 64)}'`, { pointer: 'id' });
  }

  /** Resolves when the prediction is finished, or after `ms` with its state then. */
  async wait(owner: string, id: string, ms: number): Promise<WorkItem> {
    const item = await this.get(owner, id);
    if (isTerminal(item.status) || ms <= 0) return item;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms);
      const off = this.subscribe(id, (e) => {
        if (e.type === 'done') finish();
      });
      // On a shared database another process may run it: look at the row now and then.
      const poll = setInterval(() => {
        // A store error here is a missed look, not a crash: the next tick or the timer settles it.
        this.items
          .get('prediction', owner, id)
          .then((r) => {
            if (!r || isTerminal(r.status)) finish();
          })
          .catch(() => undefined);
      }, 1000);
      function finish() {
        clearTimeout(timer);
        clearInterval(poll);
        off();
        resolve();
      }
    });
    return this.get(owner, id);
  }

  subscribe(id: string, listener: (e: PredictionEvent) => void): () => void {
    const set = this.listeners.get(id) ?? new Set();
    this.listeners.set(id, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  /** Cancels a queued or running prediction; a finished one is returned as it is. */
  async cancel(owner: string, id: string): Promise<WorkItem> {
    // A few rounds: a queued row another process claims meanwhile is canceled as running.
    for (let round = 0; round < 3; round++) {
      const item = await this.get(owner, id);
      if (isTerminal(item.status)) return item;
      const local = this.running.get(id);
      if (local) {
        local.controller.abort();
        await local.done;
        return this.get(owner, id);
      }
      const canceled = await this.cancelFrom(item);
      if (canceled) return canceled;
    }
    return this.get(owner, id);
  }

  /**
   * Cancels `item` if its row is still in the state it was read in (a compare-and-set), so that
   * the create charge is given back exactly once: here for a queued one, at its claim for a
   * running one (which runs on another process and stops on the bus message or its next poll).
   */
  private async cancelFrom(item: WorkItem): Promise<WorkItem | null> {
    const d = dataOf(item);
    const canceled: WorkItem = {
      ...item,
      status: 'canceled',
      updatedAt: Date.now(),
      data: { ...item.data, completedAt: Date.now(), logs: `${d.logs}canceled\n` },
    };
    if (!(await this.items.update(canceled, [item.status]))) return null;
    if (item.status === 'starting') await this.release(item);
    else await this.platform.bus.publish('prediction-canceled', item.id).catch(() => undefined);
    this.emit(item.id, { type: 'done', data: predictionView(canceled) });
    await webhook(this.platform, canceled, 'completed');
    return canceled;
  }

  /** Adopts rows left by an earlier start and starts the janitor and webhook deliveries. */
  async start(): Promise<void> {
    this.stopped = false;
    this.unsubscribe ??= this.platform.bus.subscribe('prediction-canceled', (id) => this.stopLocal(id));
    await this.platform.webhooks.start();
    await this.tidy();
    this.janitor ??= setInterval(() => void this.tidy().catch(() => undefined), JANITOR_EVERY_MS);
    this.janitor.unref();
  }

  /** Stops taking work; running predictions fail (`the server stopped`), queued ones wait for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.janitor) clearInterval(this.janitor);
    this.janitor = null;
    const all = [...this.running.values()];
    for (const r of all) r.controller.abort();
    await Promise.all(all.map((r) => r.done.catch(() => undefined)));
  }

  private enqueue(owner: string, id: string): void {
    if (this.queued.has(id) || this.running.has(id)) return;
    this.queued.add(id);
    this.queue.push({ owner, id });
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.platform.config.predictionConcurrency) {
      const next = this.queue.shift();
      if (!next) return;
      this.queued.delete(next.id);
      const controller = new AbortController();
      const done = this.claimAndRun(next.owner, next.id, controller.signal);
      this.running.set(next.id, { controller, done });
      void done
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(next.id);
          this.pump();
        });
    }
  }

  private async claimAndRun(owner: string, id: string, signal: AbortSignal): Promise<WorkItem> {
    const item = await this.get(owner, id);
    if (item.status !== 'starting') return item;
    const now = Date.now();
    const claimed: WorkItem = {
      ...item,
      status: 'processing',
      updatedAt: now,
      data: { ...item.data, instance: this.instance, startedAt: now, charge: null },
    };
    if (!(await this.items.update(claimed, ['starting']))) return item;
    // The route's own admission charges the run's units from here (background/admission.ts).
    await this.release(item);
    let lastBeat = now;
    const heartbeat = setInterval(
      () =>
        void this.items
          .get('prediction', owner, id)
          .then(async (r) => {
            // Canceled (or failed as abandoned) by another process: stop the work here.
            if (r?.status !== 'processing') return this.stopLocal(id);
            if (Date.now() - lastBeat < HEARTBEAT_MS) return;
            lastBeat = Date.now();
            await this.items.update({ ...r, updatedAt: lastBeat }, ['processing']);
          })
          // A missed beat is retried by the next one; the staleness window allows several.
          .catch(() => undefined),
      this.platform.config.redisUrl ? CANCEL_POLL_WITH_REDIS_MS : CANCEL_POLL_MS,
    );
    heartbeat.unref();
    try {
      return await runPrediction(this.platform, claimed, signal, {
        save: (i) => this.items.update(i, ['processing']),
        emit: (pid, e) => this.emit(pid, e),
        stopping: () => this.stopped,
      });
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Stops a prediction running in this process (canceled elsewhere); nothing when it is not here. */
  private stopLocal(id: string): void {
    this.running.get(id)?.controller.abort();
  }

  /** Gives back the unit `item` reserved at create (called once: after the CAS that ends its wait). */
  private async release(item: WorkItem): Promise<void> {
    const d = dataOf(item);
    if (!d.charge) return;
    // A failed give-back costs the tenant one unit at most; it must not fail the prediction.
    await releaseCreateCharge(this.platform, d.principal, d.charge).catch(() => undefined);
  }

  private emit(id: string, e: PredictionEvent): void {
    for (const l of this.listeners.get(id) ?? []) l(e);
  }

  /** Fails abandoned runs, adopts queued rows, and purges expired ones. */
  private async tidy(): Promise<void> {
    const embedded = this.platform.config.databaseUrl === null;
    for (const item of await this.items.byStatus('prediction', ['processing'], 1000)) {
      const d = dataOf(item);
      if (this.running.has(item.id)) continue;
      const gone = (embedded && d.instance !== this.instance) || Date.now() - item.updatedAt > STALE_MS;
      if (!gone) continue;
      await this.items.update(
        {
          ...item,
          status: 'failed',
          updatedAt: Date.now(),
          data: {
            ...item.data,
            completedAt: Date.now(),
            logs: `${d.logs}failed: the server restarted while this prediction was running\n`,
            error: {
              status: 503,
              code: 'not_ready',
              detail: 'the server restarted while this prediction was running; create it again',
            },
          },
        },
        ['processing'],
      );
    }
    for (const item of await this.items.byStatus('prediction', ['starting'], 1000))
      this.enqueue(item.owner, item.id);
    if (Date.now() - this.lastPurge >= PURGE_EVERY_MS) {
      this.lastPurge = Date.now();
      await this.purgeExpired();
      // Batches and webhook deliveries (of trainings too) share the predictions' retention.
      await purgeFinishedWork(this.items, this.platform.config.predictionTtlMs, Date.now());
    }
  }

  /** Finished predictions past MAAS_PREDICTION_TTL: rows, delivery logs, then unreferenced files. */
  async purgeExpired(): Promise<number> {
    const cutoff = Date.now() - this.platform.config.predictionTtlMs;
    const expiring = (await this.items.byStatus('prediction', TERMINAL, 10_000)).filter(
      (p) => p.createdAt < cutoff,
    );
    if (expiring.length === 0) return 0;
    const removed = await this.items.purge('prediction', TERMINAL, cutoff);
    const kept = await referencedOutputDigests(this.items);
    for (const p of expiring)
      for (const f of dataOf(p).files)
        if (!kept.has(f.digest)) await this.platform.outputs.remove(f.digest).catch(() => undefined);
    return removed;
  }
}

const services = new WeakMap<Platform, PredictionService>();

/** The platform's prediction service (one per platform, created on first use). */
export function predictionsOf(platform: Platform): PredictionService {
  const s = services.get(platform) ?? new PredictionService(platform);
  services.set(platform, s);
  return s;
}
