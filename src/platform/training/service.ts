/**
 * Training jobs as a service. A job is a durable row (queued → running → succeeded | failed |
 * cancelled). A scheduler claims jobs up to `concurrency` (queued ones, or running ones whose
 * lease expired because their server died), runs each in a CHILD process (never on the API's
 * event loop), extends the lease by heartbeat while it runs, stores the events it emits, and on
 * success registers the exported model as a new version — exactly once, even when a crash
 * happens between registration and the status update (the version's lineage names the job).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entryUrl, nodeArgs, packageRoot } from '../../common/entry';
import { fail } from '../../common/errors';
import { LORA_FAMILY } from '../../models/families/index';
import type { Bus } from '../../store/bus';
import type { Store, VersionRecord } from '../../store/ports';
import type { JobEvent, JobRecord, JobStatus } from '../../store/training-ports';
import { TERMINAL_STATUSES } from '../../store/training-ports';
import type { Registry } from '../registry/registry';
import { ZOO_FAMILY } from '../zoo-training/jobs';
import { retryDelayMs } from './backoff';
import { baseOf, decoderBaseOf, parseBaseRef } from './base-model';
import type { DatasetService } from './datasets';
import { parseJobRequest } from './job-request';
import type { TrainingOutcome, WorkerJob, WorkerMessage } from './protocol';
import { registerOnce } from './results';
import type { CheckpointSharing } from './shared-checkpoints';

export interface TrainingSettings {
  /** Jobs running at once (2 cores: 1). */
  concurrency: number;
  /**
   * Jobs one tenant may have running at once across every worker (absent: no cap beyond
   * `concurrency`); the queue is fair across tenants either way.
   */
  perTenantLimit?: number;
  /** How long a claim holds without a heartbeat (ms); a dead server's jobs resume after it. */
  leaseMs: number;
  /** How often the scheduler looks for claimable jobs (ms). */
  pollMs: number;
  /**
   * Times a job is retried from its last checkpoint after its trainer process died without
   * reporting (SIGKILL, out of memory); the next crash fails it. Errors the trainer reports
   * (a bad dataset, bad hyperparameters) fail the job at once: retrying would fail the same way.
   */
  maxRetries: number;
  /** Wait before retry n: a random 50–100 % of min(max, base · 2^(n−1)) ms (see backoff.ts). */
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  /** Jitter source, [0, 1) (tests may pin it). */
  random?: () => number;
  /** ORT threads per trainer. */
  threads: number;
  /** Where job folders (checkpoints) live. */
  dir: string;
  /** With a shared blob store: checkpoints stored there, so another worker can resume a job. */
  checkpoints?: CheckpointSharing;
}

const JOB_ID = /^trn_[0-9a-f]{24}$/;
const workerPath = fileURLToPath(entryUrl('training-worker', new URL('./worker.ts', import.meta.url)));
const root = fileURLToPath(packageRoot);

export function parseJobId(id: unknown): string {
  if (typeof id !== 'string' || !JOB_ID.test(id)) fail('not_found', 'training not found');
  return id;
}

/** The job as the API shows it. */
export function jobView(j: JobRecord) {
  const { owner: _owner, leaseUntil: _lease, ...rest } = j;
  return rest;
}

/** Told of each event a job stores (after it is stored). */
export type TrainingEventListener = (
  job: Pick<JobRecord, 'id' | 'owner'>,
  type: string,
  data: Record<string, unknown>,
) => Promise<void>;

interface Running {
  job: JobRecord;
  child: ChildProcess;
  heartbeat: NodeJS.Timeout;
  settled: boolean;
  /** Killed by cancel or a lost lease: messages it sent before dying are dropped, not recorded. */
  stopped: boolean;
  /** Registering the result: the lease is held (heartbeats go on) until it is done. */
  finalizing: Promise<void> | null;
  /** Messages are handled one after another, so events keep the order the trainer sent them. */
  inbox: Promise<void>;
}

export class TrainingService {
  private readonly running = new Map<string, Running>();
  private readonly bus = new EventEmitter();
  private timer: NodeJS.Timeout | null = null;
  /** Wake-ups at the end of retry backoffs (the poll would find the jobs too, up to pollMs later). */
  private readonly wakeups = new Set<NodeJS.Timeout>();
  private ticking = false;
  private closed = false;
  /** Claims jobs only once started: a process of role `api` never does. */
  private started = false;
  private readonly unsubscribe: () => void;
  private listener: TrainingEventListener | null = null;

  /**
   * `notices` carries "job X has a new event" between processes (the job may run on another
   * worker than the one whose SSE stream follows it); the events themselves are in the store.
   */
  constructor(
    private readonly store: Store,
    private readonly datasets: DatasetService,
    private readonly registry: Registry,
    private readonly settings: TrainingSettings,
    private readonly notices: Bus,
    private readonly log: (msg: string) => void = () => {},
  ) {
    this.bus.setMaxListeners(0);
    this.unsubscribe = notices.subscribe('training-event', (id) => this.bus.emit(id));
  }

  /** Start claiming and running jobs (a role that trains calls it once the server is up). */
  start(): void {
    if (this.timer || this.closed) return;
    this.started = true;
    this.timer = setInterval(() => void this.tick(), this.settings.pollMs);
    this.timer.unref();
    void this.tick();
  }

  /**
   * `beforeQueued` runs with the new job's id before its row exists (its webhook is kept there), so
   * no worker can claim the job before it, and a failure there leaves no job behind.
   */
  async create(
    owner: string,
    body: unknown,
    beforeQueued: (job: { owner: string; id: string }) => Promise<void> = async () => {},
  ): Promise<JobRecord> {
    const { family, dataset, target, model, hyperparameters } = await parseJobRequest(
      body,
      (name) => this.datasets.resolve(owner, name),
      (name, ref) => this.resolveBase(owner, name, ref),
    );
    const id = `trn_${randomBytes(12).toString('hex')}`;
    await beforeQueued({ owner, id });
    const job = await this.store.trainings.create({
      owner,
      id,
      family,
      dataset: dataset.name,
      datasetDigest: dataset.digest,
      target,
      model,
      hyperparameters,
    });
    await this.event(job, 'status', { status: 'queued' });
    void this.tick();
    return job;
  }

  /**
   * A base model the owner may start from: its own, or another tenant's public one named
   * `owner~name` (the zoo's `zoo~gpt`), which reads as not found when it is not public.
   */
  private async resolveBase(owner: string, name: string, ref?: string): Promise<VersionRecord> {
    const at = name.indexOf('~');
    if (at < 0) return this.registry.resolve(owner, name, ref);
    const [other, model] = [name.slice(0, at), name.slice(at + 1)];
    if (other !== owner) {
      const record = await this.registry.modelRecord(other, model).catch(() => null);
      if (record?.public !== true) fail('not_found', `model '${name}' not found`, { pointer: 'base' });
    }
    return this.registry.resolve(other, model, ref);
  }

  async get(owner: string, id: string): Promise<JobRecord> {
    return (await this.store.trainings.get(owner, parseJobId(id))) ?? fail('not_found', 'training not found');
  }

  /** Trainers running in this process now (the zoo's background training waits for 0). */
  activeJobs(): number {
    return this.running.size;
  }

  list(owner: string): Promise<JobRecord[]> {
    return this.store.trainings.list(owner);
  }

  /** Stop a job: a queued one never starts; a running one's trainer is killed at once. */
  async cancel(owner: string, id: string): Promise<JobRecord> {
    const job = await this.get(owner, id);
    if (TERMINAL_STATUSES.includes(job.status)) fail('conflict', `the training is already ${job.status}`);
    if (await this.store.trainings.finish(job.id, 'cancelled', {})) {
      const r = this.running.get(job.id);
      if (r) this.stop(r);
      // A queued job has no trainer whose exit would clean its folder: leave none behind.
      else await rm(this.jobDir(job.id), { recursive: true, force: true });
      await this.event(job, 'status', { status: 'cancelled' });
    }
    return this.get(owner, id);
  }

  /** Events after `after`, in order (the job must be the owner's). */
  async events(owner: string, id: string, after: number): Promise<JobEvent[]> {
    const job = await this.get(owner, id);
    return this.store.trainings.events(job.id, after);
  }

  /** Process id of the job's trainer while one runs here (null otherwise): for operators and tests. */
  trainerPid(id: string): number | null {
    return this.running.get(id)?.child.pid ?? null;
  }

  /** Resolves at the job's next event, or after `ms`, whichever comes first. */
  waitForEvent(id: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.bus.off(id, done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.bus.once(id, done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Also tells `listener` of every event stored (the job's webhook, platform/webhooks/trainings.ts).
   * One listener; a failing one never fails the job.
   */
  onEvent(listener: TrainingEventListener): void {
    this.listener = listener;
  }

  private async event(job: JobRecord, type: string, data: Record<string, unknown>): Promise<void> {
    await this.store.trainings.addEvent(job.id, type, data);
    // Readers poll the store every second anyway: a lost wake-up only delays them.
    await this.notices.publish('training-event', job.id).catch(() => {});
    await this.listener?.(job, type, data).catch((e: unknown) =>
      this.log(`training ${job.id}: webhook not queued: ${(e as Error).message}`),
    );
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.closed || !this.started) return;
    this.ticking = true;
    try {
      while (!this.closed && this.running.size < this.settings.concurrency) {
        const now = Date.now();
        const job = await this.store.trainings.claimNext(now, now + this.settings.leaseMs, {
          exclude: [...this.running.keys()],
          // Zoo jobs have their own runner (a niced child that yields to user jobs).
          excludeFamilies: [ZOO_FAMILY],
          perTenantLimit: this.settings.perTenantLimit,
        });
        if (!job) break;
        await this.launch(job);
      }
    } catch (e) {
      this.log(`training scheduler: ${(e as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  private jobDir(id: string): string {
    return join(this.settings.dir, parseJobId(id));
  }

  private async launch(job: JobRecord): Promise<void> {
    const dir = this.jobDir(job.id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Taken over from a worker that died: its last checkpoint, from the shared blob store.
    await this.settings.checkpoints
      ?.restore(job, dir)
      .catch((e: unknown) => this.log(`training ${job.id}: no checkpoint fetched: ${(e as Error).message}`));
    const dataset = await this.datasets.resolve(job.owner, job.dataset).catch(() => null);
    if (!dataset || dataset.digest !== job.datasetDigest) {
      await this.settle(job, 'failed', { error: `dataset '${job.dataset}' is gone or was replaced` });
      return;
    }
    const start = await this.startingPoint(job).catch((e: unknown) => e as Error);
    if (start instanceof Error) {
      await this.settle(job, 'failed', { error: start.message });
      return;
    }
    // Cancelled while the lines above awaited (the job was claimed but had no trainer to stop yet),
    // or the lease ran out meanwhile and another worker took the job: start nothing, so no
    // 'running' event follows 'cancelled'. Holding it, the lease is renewed from here.
    if (!(await this.store.trainings.heartbeat(job.id, job.attempts, Date.now() + this.settings.leaseMs))) {
      await rm(dir, { recursive: true, force: true });
      return;
    }
    const child = spawn(process.execPath, nodeArgs(workerPath), {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { PATH: process.env.PATH ?? '' },
    });
    const heartbeat = setInterval(() => void this.beat(job.id), Math.max(50, this.settings.leaseMs / 3));
    const r: Running = {
      job,
      child,
      heartbeat,
      settled: false,
      stopped: false,
      finalizing: null,
      inbox: Promise.resolve(),
    };
    this.running.set(job.id, r);
    await this.event(job, 'status', {
      status: 'running',
      attempt: job.attempts,
      fromStep: job.checkpointStep,
    });
    const wjob: WorkerJob = {
      id: job.id,
      family: job.family,
      source: dataset.source,
      target: job.target,
      hyperparameters: job.hyperparameters as WorkerJob['hyperparameters'],
      dir,
      threads: this.settings.threads,
      ...start,
    };
    child.on('message', (m: WorkerMessage) => {
      r.inbox = r.inbox
        .then(() => this.onMessage(r, m))
        .catch((e: unknown) => this.log(`training ${job.id}: ${(e as Error).message}`));
    });
    child.on('exit', (code, signal) => void this.onExit(r, code, signal));
    child.send({ type: 'start', job: wjob });
  }

  /**
   * A fine-tuning job's base model, pinned to the version resolved at creation, on this machine
   * (a file, or a LoRA job's decoder folder), and a LoRA job's validation chats.
   */
  private async startingPoint(job: JobRecord): Promise<Pick<WorkerJob, 'base' | 'decoder' | 'validation'>> {
    const hp = job.hyperparameters;
    if (typeof hp.base !== 'string') return {};
    const { name, ref } = parseBaseRef(hp.base);
    const record = await this.resolveBase(job.owner, name, ref).catch(() => null);
    if (!record) throw new Error(`base model ${hp.base} is gone`);
    if (job.family !== LORA_FAMILY)
      return { base: { ...baseOf(record), file: await this.registry.localPath(record) } };
    const decoder = decoderBaseOf(record, name);
    const out: Pick<WorkerJob, 'decoder' | 'validation'> = {};
    if (decoder.gpt) {
      const file = await this.registry.localPath(record);
      out.decoder = { ...decoder, folder: '', gptFile: file, gptMetadata: record.metadata };
    } else {
      const graph = await this.registry.modelPath(record);
      out.decoder = { ...decoder, folder: graph.slice(0, graph.length - decoder.graphPath.length) };
    }
    if (typeof hp.validation_dataset === 'string') {
      const v = await this.datasets.resolve(job.owner, hp.validation_dataset).catch(() => null);
      if (!v) throw new Error(`validation dataset '${hp.validation_dataset}' is gone`);
      out.validation = v.source;
    }
    return out;
  }

  private async beat(id: string): Promise<void> {
    const r = this.running.get(id);
    if (!r || this.closed) return;
    const held = await this.store.trainings
      .heartbeat(id, r.job.attempts, Date.now() + this.settings.leaseMs)
      .catch(() => true);
    // Cancelled (or finished) elsewhere, or taken over by another worker after our lease ran out
    // (this process was too slow to renew it): stop the trainer; the claim holder goes on.
    if (!held) this.stop(r);
  }

  private async onMessage(r: Running, m: WorkerMessage): Promise<void> {
    // A cancelled job's story ends with its 'cancelled' status: late progress from the dying
    // trainer (already in the IPC pipe when it was killed) must not follow it.
    if (r.stopped) return;
    if (m.type === 'event') await this.event(r.job, m.event, m.data);
    else if (m.type === 'checkpoint') {
      const digest = await this.settings.checkpoints?.publish(this.jobDir(r.job.id)).catch((e: unknown) => {
        this.log(`training ${r.job.id}: checkpoint not shared: ${(e as Error).message}`);
        return undefined;
      });
      // The claim was taken over meanwhile: record nothing for a job this worker no longer holds.
      if (!(await this.store.trainings.setCheckpoint(r.job.id, r.job.attempts, m.step))) {
        this.stop(r);
        return;
      }
      await this.event(r.job, 'checkpoint', digest ? { step: m.step, digest } : { step: m.step });
    } else if (m.type === 'failed' || m.type === 'done') {
      r.settled = true;
      r.finalizing = (
        m.type === 'failed'
          ? this.settle(r.job, 'failed', { error: m.message })
          : this.succeed(r.job, m.outcome)
      ).catch((e: unknown) =>
        this.settle(r.job, 'failed', { error: `registering the result failed: ${(e as Error).message}` }),
      );
    }
  }

  private async onExit(r: Running, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    // The child exits right after reporting; keep the lease until the result is recorded.
    await r.inbox;
    if (r.finalizing) await r.finalizing;
    clearInterval(r.heartbeat);
    this.running.delete(r.job.id);
    if (!r.settled && !this.closed) await this.crashed(r.job, signal ?? `exit code ${code}`);
    // Stopped because the job ended (cancelled): its checkpoint will never be resumed.
    if (r.stopped && !this.closed) {
      const current = await this.store.trainings.get(r.job.owner, r.job.id);
      if (current && TERMINAL_STATUSES.includes(current.status))
        await rm(this.jobDir(r.job.id), { recursive: true, force: true });
    }
    if (!this.closed) void this.tick();
  }

  /**
   * The trainer died without a word. Like a lease-based queue's stalled job: give the job back so
   * the next claim resumes it from its checkpoint, up to `maxRetries` times, after a backoff. The
   * backoff is the lease itself: the job stays `running` with its lease ending when the wait
   * does, so no claim (here, or by the next server after a restart) takes it earlier, a cancel in
   * the meantime simply ends it, and nothing of the wait lives only in this process's memory.
   * The `retrying` events are the durable count, so a server restart does not reset it.
   */
  private async crashed(job: JobRecord, how: string): Promise<void> {
    const current = await this.store.trainings.get(job.owner, job.id);
    // Ended meanwhile, or another worker holds a later claim: not ours to retry.
    if (current?.status !== 'running' || current.attempts !== job.attempts) return;
    const reason = `the trainer process exited unexpectedly (${how})`;
    const retries = await this.store.trainings.countEvents(job.id, 'retrying');
    if (retries >= this.settings.maxRetries) {
      const tries = retries + 1;
      await this.settle(job, 'failed', {
        error: `${reason}; gave up after ${tries} attempt${tries === 1 ? '' : 's'} (${this.settings.maxRetries} retries allowed)`,
      });
      return;
    }
    const attempt = retries + 1;
    const delayMs = retryDelayMs(
      attempt,
      { baseMs: this.settings.retryBackoffMs, maxMs: this.settings.retryBackoffMaxMs },
      this.settings.random,
    );
    const retryAt = Date.now() + delayMs;
    this.log(`training ${job.id}: ${reason}; retrying from step ${current.checkpointStep} in ${delayMs} ms`);
    await this.event(job, 'retrying', {
      attempt,
      maxRetries: this.settings.maxRetries,
      reason,
      fromStep: current.checkpointStep,
      delayMs,
      retryAt: new Date(retryAt).toISOString(),
    });
    // claimNext takes a running job once lease_until < now: 0 frees it at once.
    await this.store.trainings.heartbeat(job.id, job.attempts, delayMs > 0 ? retryAt : 0);
    if (delayMs > 0 && !this.closed) this.wakeAt(delayMs);
  }

  /** Look for claimable jobs in `ms` (+1: the lease must be strictly past). */
  private wakeAt(ms: number): void {
    const t = setTimeout(() => {
      this.wakeups.delete(t);
      void this.tick();
    }, ms + 1);
    t.unref();
    this.wakeups.add(t);
  }

  private async settle(
    job: JobRecord,
    status: JobStatus,
    fields: { error?: string; result?: Record<string, unknown> },
  ): Promise<void> {
    if (await this.store.trainings.finish(job.id, status, fields, job.attempts))
      await this.event(job, 'status', {
        status,
        ...(fields.error ? { error: fields.error } : {}),
        ...(fields.result ?? {}),
      });
    else if (await this.heldByAnother(job)) return; // its folder may be the new holder's (shared)
    await rm(this.jobDir(job.id), { recursive: true, force: true });
  }

  /** Whether a later claim than `job`'s holds the job now (another worker took it over). */
  private async heldByAnother(job: JobRecord): Promise<boolean> {
    const current = await this.store.trainings.get(job.owner, job.id);
    return current?.status === 'running' && current.attempts !== job.attempts;
  }

  private async succeed(job: JobRecord, outcome: TrainingOutcome): Promise<void> {
    // Registering only while this claim holds the job: a worker whose lease was taken over leaves
    // the result to the new holder (which registers it once, see registerOnce).
    if (!(await this.store.trainings.heartbeat(job.id, job.attempts, Date.now() + this.settings.leaseMs))) {
      // Its folder stays: with a shared folder it is the new holder's working folder too.
      this.log(`training ${job.id}: finished, but another worker holds the job now; it registers the result`);
      return;
    }
    const version = await registerOnce(this.registry, job, this.jobDir(job.id), outcome);
    const metrics = { ...outcome.metrics };
    delete metrics.confusion;
    await this.settle(job, 'succeeded', {
      result: { model: job.model, version, metrics, timing: outcome.timing },
    });
  }

  private stop(r: Running): void {
    r.settled = true;
    r.stopped = true;
    clearInterval(r.heartbeat);
    r.child.kill('SIGKILL');
  }

  /** Stop the scheduler and trainers; their jobs stay `running` and resume on the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (this.timer) clearInterval(this.timer);
    for (const t of this.wakeups) clearTimeout(t);
    this.wakeups.clear();
    const all = [...this.running.values()];
    const exits = all.map(
      (r) =>
        new Promise<void>((resolve) => {
          if (r.child.exitCode !== null || r.child.signalCode !== null) resolve();
          else r.child.once('exit', () => resolve());
          this.stop(r);
        }),
    );
    // Release the leases so the next start resumes at once rather than after the lease.
    for (const r of all) await this.store.trainings.heartbeat(r.job.id, r.job.attempts, 0).catch(() => {});
    await Promise.all(exits);
  }
}
