/**
 * What one process does besides wiring (`openPlatform` only wires), by MAAS_ROLE:
 *
 * - `api`: serves HTTP and never trains (its scheduler is never started; jobs it creates are
 *   claimed by workers).
 * - `worker`: claims training jobs with the store's lease protocol, runs them, registers versions;
 *   serves only /healthz and /readyz.
 * - `all`: both (the embedded default: one process on SQLite and a data folder).
 *
 * Every process that trains also queues the zoo's missing rows as jobs of the `zoo` tenant (once
 * per row however many start together) and claims them like any job (zoo-training/), so N workers
 * train each row once. Among them, one leader (`Platform.leader`: a PostgreSQL advisory lock, or
 * the only process) also runs the housekeeping sweeps (every `SWEEP_EVERY_MS`: orphan files and
 * blobs, expired idempotency keys), so no two sweeps race. A follower asks again every
 * `LEAD_RETRY_MS`, so when the leader dies another takes over.
 */
import type { Platform } from './platform';
import { lastCheckpointDigest } from './training/shared-checkpoints';
import { referencedOutputDigests } from './webhooks/outputs';

/** How often a follower tries to take the lead, and a leader sweeps (ms). */
const LEAD_RETRY_MS = 5_000;
const SWEEP_EVERY_MS = 10 * 60_000;

export interface BackgroundWork {
  /** True once this process has become the leader. */
  leading(): boolean;
  /** Stop the loops (jobs and the zoo stop with `platform.close()`); idempotent. */
  stop(): Promise<void>;
}

export async function startRole(platform: Platform, log: (line: string) => void): Promise<BackgroundWork> {
  if (platform.config.role === 'api') return { leading: () => false, stop: async () => {} };
  platform.trainings.start();
  // Queued (not trained) before `maas serve` prints its listening line. A failure here (the
  // database briefly unreachable) is logged, not fatal: serving and user trainings go on.
  await platform.zoo.start(log).catch((e: unknown) => log(`zoo: not started: ${(e as Error).message}`));
  const leadership = new Leadership(platform, log);
  await leadership.tryLead();
  return leadership;
}

/** What one housekeeping round removed. */
interface Swept {
  /** Orphan model files (or, with a shared blob store, this process's cached copies of them). */
  models: number;
  datasets: number;
  /** Unreferenced blobs of a shared blob store (MAAS_BLOB_STORE=postgres). */
  blobs: number;
  /** Idempotency keys past their 24 h replay window. */
  idempotencyKeys: number;
}

/**
 * Housekeeping: dataset and model files no row references, and stale temp files; with a shared
 * blob store (MAAS_BLOB_STORE=postgres) its unreferenced blobs, models' and datasets' together;
 * and idempotency keys past their replay window.
 */
export async function sweep(platform: Platform): Promise<Swept> {
  const grace = platform.config.sweepGraceMs;
  const models = await platform.registry.collectOrphans(grace);
  const datasets = await platform.datasets.collectOrphans(grace);
  const referenced = new Set([
    ...(await platform.store.models.referencedDigests()),
    ...(await platform.store.datasets.referencedDigests()),
  ]);
  // The last checkpoint of a job not yet ended is what a worker taking it over will fetch.
  if (platform.config.blobStore === 'postgres') {
    for (const status of ['queued', 'running'] as const)
      for (const job of await platform.store.trainings.byStatus(status)) {
        const digest = await lastCheckpointDigest(platform.store.trainings, job.id);
        if (digest) referenced.add(digest);
      }
  }
  // Prediction outputs (images, audio) live in the same shared blob store.
  if (platform.config.blobStore === 'postgres')
    for (const digest of await referencedOutputDigests(platform.store.workItems)) referenced.add(digest);
  const blobs = await platform.artifacts.collectSharedOrphans(referenced, grace);
  const idempotencyKeys = await platform.tenancy.idempotency.purgeExpired();
  return { models: models.length, datasets: datasets.length, blobs: blobs.length, idempotencyKeys };
}

class Leadership implements BackgroundWork {
  private isLeader = false;
  private lastSweep = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /**
   * Until the lock has been asked once: the start's outcome is not a takeover (a cluster process's
   * listening line says `leader`; the embedded default is the only process). A first round that
   * failed (the database down at start) leaves this set, so its later success is not one either.
   */
  private firstRound = true;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly platform: Platform,
    private readonly log: (line: string) => void,
  ) {}

  leading(): boolean {
    return this.isLeader;
  }

  /** One round: take (or keep) the lead; a leader sweeps when due. */
  tryLead(): Promise<void> {
    this.busy = this.busy.then(() => this.round());
    return this.busy;
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    try {
      const lead = await this.platform.leader.tryAcquire();
      const asked = !this.firstRound;
      this.firstRound = false;
      if (lead && !this.isLeader) {
        this.isLeader = true;
        // A follower taking over (the leader died or lost its connection): the operator's only sign.
        if (asked) this.log('took over the leadership: housekeeping runs in this process now');
      }
      if (!lead && this.isLeader) {
        // The lock's connection was lost: another process may lead now. Stop sweeping here.
        this.isLeader = false;
        this.log('leadership lost; housekeeping goes on in the new leader');
      }
      if (this.isLeader && Date.now() - this.lastSweep >= SWEEP_EVERY_MS) {
        this.lastSweep = Date.now();
        const removed = await sweep(this.platform);
        if (Object.values(removed).some((n) => n > 0))
          this.log(
            `housekeeping: removed ${removed.models} model and ${removed.datasets} dataset orphan files, ` +
              `${removed.blobs} orphan blobs, ${removed.idempotencyKeys} expired idempotency keys`,
          );
      }
    } catch (e) {
      this.log(`housekeeping: ${(e as Error).message}`);
    } finally {
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tryLead(), this.isLeader ? LEAD_RETRY_MS * 2 : LEAD_RETRY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.busy;
  }
}
