/**
 * The zoo on first start, in a deployment of any size: each process that trains (`MAAS_ROLE`
 * `all` or `worker`) queues every zoo row that has no installed version as a training job of the
 * `zoo` tenant (jobs.ts: once per row, however many processes start together), and claims zoo
 * jobs with the store's lease protocol, one at a time, cheapest first, training them in ONE
 * child process of its own (never on the API's event loop; one process so `image-gen` reuses the
 * digit CNN `mnist-cnn` trained there), and registers each result once as public model
 * `zoo~NAME` (the registry's unique source-job index). Progress goes to the job's events, so
 * every API process shows it (view.ts).
 *
 * Sharing the CPU: the child runs at nice 10 (every thread, see worker.ts), so API requests and
 * user training jobs (nice 0) take the cores whenever they want them; and a process claims its
 * next zoo job only when none of its user training jobs runs (it yields between rows).
 *
 * Crash safety: nothing is written to the registry until a row is fully trained, and the registry
 * commits a version atomically. A zoo row has no checkpoints of its own (rows train in seconds to
 * a few minutes): a trainer child that dies is retried from the row's start, up to
 * `maxRetries` times; a process that dies leaves its job's lease to run out, and the next claim
 * (another worker, or the next start) trains the row again from its start.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { hostname, setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { entryUrl, nodeArgs, packageRoot } from '../../common/entry';
import { MaasError } from '../../common/errors';
import { type ZooEntry, zooEntries, zooEntry, zooUnavailable } from '../../models/zoo/index';
import type { JobRecord, TrainingRepository } from '../../store/training-ports';
import type { ZooMode } from '../config';
import {
  installZooModel,
  ZOO_TENANT,
  type ZooHost,
  type ZooScale,
  type ZooStatusRow,
  zooStatus,
} from '../zoo';
import { enqueueZooRow, ZOO_FAMILY, zooJobSpec } from './jobs';
import { formatSeconds, ProgressTracker, type ZooProgress } from './progress';
import type { ZooTrainRequest, ZooWorkerMessage } from './protocol';
import { expectedSeconds, zooJobStates } from './view';

export interface ZooServiceSettings {
  mode: ZooMode;
  /** Scratch folder for trained files before they are installed (emptied at start). */
  dir: string;
  /** Nice value of the trainer child (0 normal … 19 lowest). */
  nice: number;
  /** Least time between two progress lines in the server log (ms). */
  logEveryMs: number;
  /** How often an idle runner looks for claimable zoo jobs, and a waiting one for user jobs (ms). */
  pollMs: number;
  /** How long a claim holds without a heartbeat (ms): MAAS_TRAIN_LEASE_MS, as user jobs. */
  leaseMs: number;
  /** Times a row is retried after its trainer child died without a word (MAAS_TRAIN_MAX_RETRIES). */
  maxRetries: number;
}

/** What the zoo needs of the platform: the registry, tenants, and the shared training jobs. */
interface ZooServiceHost extends ZooHost {
  trainings: TrainingRepository;
}

/** `unavailable`: not installed, and this machine cannot train it (its data package is missing). */
export type ZooState = 'missing' | 'unavailable' | 'queued' | 'training' | 'ready' | 'failed';

/** One zoo row as `GET /api/v1/zoo` shows it. */
export interface ZooRowView extends ZooStatusRow {
  /** How every tenant calls it: `zoo~NAME`. */
  model: string;
  state: ZooState;
  /** While queued or training. */
  progress: ZooProgress | null;
  /** Why the last background training failed (null otherwise). */
  error: string | null;
}

interface Pending {
  name: string;
  resolve: (m: Extract<ZooWorkerMessage, { type: 'trained' }>) => void;
  reject: (e: Error) => void;
}

/** The trainer child died without reporting (killed, out of memory): retried, not failed at once. */
class TrainerDied extends Error {}

/** The job this process trains now. */
interface Current {
  job: JobRecord;
  /** The claim no longer holds (cancelled, or taken over after the lease ran out). */
  lost: boolean;
  tracker: ProgressTracker;
  lastStoredAt: number;
}

/** Least time between two progress events stored per job (ms): the store is the progress channel. */
const STORE_PROGRESS_EVERY_MS = 500;

const workerPath = fileURLToPath(entryUrl('zoo-worker', new URL('./worker.ts', import.meta.url)));
const root = fileURLToPath(packageRoot);
/** Until a row has progress: a guess for Retry-After (s). */
const UNKNOWN_WAIT_S = 30;

/**
 * A trainer's error as every key may read it (GET /api/v1/zoo): file paths replaced, length
 * bounded. The server log keeps the whole message.
 */
export const publicError = (message: string): string =>
  message.replace(/(^|[\s'"(=])(?:[A-Za-z]:)?[\\/][^\s'"),]*/g, '$1<path>').slice(0, 300);

/**
 * The rows a start trains: those with no installed version (at full scale, also those installed
 * at quick scale), except rows this machine cannot train (`available()` false); by queue rank
 * (gpt first, rows on optional data last), then cheapest first.
 */
export function zooQueue(
  entries: readonly ZooEntry[],
  installed: ReadonlyMap<string, Pick<ZooStatusRow, 'version' | 'scale'>>,
  scale: ZooScale,
): ZooEntry[] {
  return entries
    .filter((e) => {
      if (zooUnavailable(e) !== null) return false;
      const r = installed.get(e.name);
      return !r || r.version === null || (scale === 'full' && r.scale === 'quick');
    })
    .sort(
      (a, b) =>
        (a.queueRank ?? 1) - (b.queueRank ?? 1) ||
        (expectedSeconds(a, scale) ?? Infinity) - (expectedSeconds(b, scale) ?? Infinity),
    );
}

export class ZooService {
  private scale: ZooScale = 'full';
  private child: { process: ChildProcess; exited: Promise<void> } | null = null;
  private pending: Pending | null = null;
  private current: Current | null = null;
  private loop: Promise<void> | null = null;
  private closed = false;
  private readonly abort = new AbortController();
  private log: (line: string) => void = () => {};
  private lastLogAt = 0;
  /** Zoo jobs of rows this machine cannot train (their data package is missing): left to others. */
  private readonly cannotTrain = new Set<string>();

  constructor(
    private readonly host: ZooServiceHost,
    /** User training jobs running in this process now (the zoo waits for 0 before each row). */
    private readonly userJobs: () => number,
    private readonly settings: ZooServiceSettings,
  ) {
    host.registry.explainMissing((owner, name) => this.explainMissing(owner, name));
  }

  get mode(): ZooMode {
    return this.settings.mode;
  }

  /**
   * Queue (as zoo jobs) every row without an installed version (in `auto`, also rows installed at
   * quick scale: they are replaced by full ones), then claim and train zoo jobs in the background.
   * Returns once queued. A process of role `api` never calls it.
   */
  async start(log: (line: string) => void): Promise<void> {
    if (this.loop || this.closed || this.settings.mode === 'off') return;
    this.log = log;
    this.scale = this.settings.mode === 'quick' ? 'quick' : 'full';
    await rm(this.settings.dir, { recursive: true, force: true });
    await mkdir(this.settings.dir, { recursive: true, mode: 0o700 });
    await this.enqueue(log);
    this.loop = this.run().catch((e: unknown) => log(`zoo: stopped: ${(e as Error).message}`));
  }

  private async enqueue(log: (line: string) => void): Promise<void> {
    const installed = new Map((await zooStatus(this.host)).map((r) => [r.name, r]));
    const todo = zooQueue(zooEntries(), installed, this.scale);
    const skipped = zooEntries().filter((e) => zooUnavailable(e) !== null && !installed.get(e.name)?.version);
    for (const e of skipped) log(`zoo ${e.name}: skipped, ${zooUnavailable(e)}`);
    if (todo.length === 0) return;
    await this.host.tenancy.tenants.ensure(ZOO_TENANT);
    for (const entry of todo)
      await enqueueZooRow(
        this.host.trainings,
        entry,
        this.scale,
        (installed.get(entry.name)?.version ?? null) !== null,
      );
    log(
      `zoo: ${todo.length} model(s) to train at ${this.scale} scale in the background, in this order (gpt first, then cheapest first): ` +
        `${todo.map((e) => e.name).join(', ')} (GET /api/v1/zoo shows progress)`,
    );
  }

  /** Every zoo row: what the registry holds, overlaid with the state of its zoo job. */
  async status(): Promise<ZooRowView[]> {
    const jobs = await zooJobStates(this.host.trainings, Date.now());
    return (await zooStatus(this.host)).map((r) => {
      const j = jobs.get(r.name);
      const installed = r.version !== null;
      const absent: ZooState = r.unavailable ? 'unavailable' : 'missing';
      const state: ZooState =
        j && j.state !== 'failed' ? j.state : installed ? 'ready' : j ? 'failed' : absent;
      return {
        ...r,
        model: `${ZOO_TENANT}~${r.name}`,
        state,
        progress: j?.progress ?? null,
        error: j?.error ? publicError(j.error) : null,
      };
    });
  }

  /**
   * A call on a zoo model still queued or training: 503 + Retry-After instead of 404. One this
   * machine cannot train: 404 that says how to make it available (retrying will not help).
   */
  private async explainMissing(owner: string, name: string): Promise<Error | null> {
    if (owner !== ZOO_TENANT) return null;
    const unavailable = this.unavailableRow(name);
    if (unavailable) return unavailable;
    const j = (await zooJobStates(this.host.trainings, Date.now())).get(name);
    if (!j || j.state === 'failed') return null;
    const p = j.progress;
    const where = p?.step != null ? ` (step ${p.step}/${p.steps})` : '';
    const doing = j.state === 'training' ? `still training${where}` : 'queued for training';
    const wait = p?.etaSeconds ?? null;
    // One number for the text and Retry-After, so they agree ("about 10 min 38 s" = 638).
    const retryAfter = Math.max(1, Math.ceil(wait ?? UNKNOWN_WAIT_S));
    const eta = wait === null ? '' : `, ready in about ${formatSeconds(retryAfter)}`;
    return new MaasError(
      'not_ready',
      `zoo model '${name}' is ${doing}${eta}; GET /api/v1/zoo shows progress`,
      {
        retryAfterSeconds: retryAfter,
        headers: { 'x-maas-zoo-state': j.state },
      },
    );
  }

  private unavailableRow(name: string): Error | null {
    let why: string | null = null;
    try {
      why = zooUnavailable(zooEntry(name));
    } catch {
      return null; // not a zoo row at all: the plain 404
    }
    if (why === null) return null;
    return new MaasError(
      'not_found',
      `zoo model '${name}' is not installed and this machine cannot train it (${why})`,
      { headers: { 'x-maas-zoo-state': 'unavailable' } },
    );
  }

  /** Claim zoo jobs one at a time, for as long as the process runs (another may enqueue or die). */
  private async run(): Promise<void> {
    let since: number | null = null;
    while (!this.closed) {
      await this.yieldToUserJobs();
      if (this.closed) return;
      const job = await this.claim();
      if (job) {
        since ??= Date.now();
        // A store error while settling one row (the database briefly unreachable) must not end
        // the loop: its lease lapses and this or another worker claims the row again.
        await this.runJob(job).catch((e: unknown) =>
          this.log(`zoo ${job.model}: ${(e as Error).message}; the row will be claimed again`),
        );
        continue;
      }
      if (since !== null) {
        // The queue is empty: free the trainer's memory until a job comes again.
        this.child?.process.disconnect();
        this.log(`zoo: background training done in ${formatSeconds((Date.now() - since) / 1000)}`);
        since = null;
      }
      await sleep(this.settings.pollMs, undefined, { signal: this.abort.signal }).catch(() => {});
    }
  }

  private async claim(): Promise<JobRecord | null> {
    const now = Date.now();
    return this.host.trainings
      .claimNext(now, now + this.settings.leaseMs, {
        exclude: [...this.cannotTrain],
        families: [ZOO_FAMILY],
      })
      .catch((e: unknown) => {
        this.log(`zoo: claiming a job failed: ${(e as Error).message}`);
        return null;
      });
  }

  private async yieldToUserJobs(): Promise<void> {
    let told = false;
    while (!this.closed && this.userJobs() > 0) {
      if (!told) this.log('zoo: waiting for user training jobs to finish');
      told = true;
      await sleep(this.settings.pollMs, undefined, { signal: this.abort.signal }).catch(() => {});
    }
  }

  private async runJob(job: JobRecord): Promise<void> {
    const spec = zooJobSpec(job);
    const entry = spec ? zooEntryOrNull(spec.row) : null;
    if (!spec || !entry) {
      await this.settle(job, 'failed', { error: `not a zoo row this version knows: ${job.model}` });
      return;
    }
    if (zooUnavailable(entry) !== null) {
      // Another worker may have the row's data package: give the job back at once.
      this.cannotTrain.add(job.id);
      await this.host.trainings.heartbeat(job.id, job.attempts, 0).catch(() => {});
      return;
    }
    const measured = expectedSeconds(entry, spec.scale);
    this.current = { job, lost: false, tracker: new ProgressTracker(Date.now(), measured), lastStoredAt: 0 };
    const heartbeat = setInterval(() => void this.beat(), Math.max(50, this.settings.leaseMs / 3));
    const attempt = job.attempts > 1 ? `, attempt ${job.attempts}` : '';
    this.log(
      `zoo ${entry.name}: training (${spec.scale}${measured === null ? '' : `, about ${formatSeconds(measured)} on an idle 2-core machine`}${attempt})`,
    );
    try {
      // Which process trains it (a cluster's operators and tests ask).
      await this.event(job, 'status', {
        status: 'running',
        attempt: job.attempts,
        worker: { host: hostname(), pid: process.pid },
      });
      const done = await this.ask({
        type: 'train',
        name: entry.name,
        seed: spec.seed,
        scale: spec.scale,
        dir: this.settings.dir,
        nice: this.settings.nice,
      });
      await this.install(job, entry, spec.scale, spec.seed, done);
    } catch (e) {
      await this.failed(job, entry, e as Error);
    } finally {
      clearInterval(heartbeat);
      this.current = null;
    }
  }

  private async install(
    job: JobRecord,
    entry: ZooEntry,
    scale: ZooScale,
    seed: number,
    done: Extract<ZooWorkerMessage, { type: 'trained' }>,
  ): Promise<void> {
    const onnx = await readFile(done.onnxFile);
    await rm(done.onnxFile, { force: true });
    // Registering only while this claim holds the job: a taken-over claim leaves it to the holder.
    if (this.current?.lost || !(await this.holds(job))) {
      this.log(`zoo ${entry.name}: trained, but another worker holds the job now`);
      return;
    }
    const artifact = { onnx, metadata: done.metadata, quality: done.quality };
    const trained = { artifact, seed, seconds: done.seconds, scale };
    const { version } = await installZooModel(this.host, entry.name, trained, job.id);
    const q = done.quality;
    await this.settle(job, 'succeeded', {
      result: {
        model: `${ZOO_TENANT}~${entry.name}`,
        version: version.version,
        seconds: done.seconds,
        scale,
        quality: { metric: q.metric, value: q.value },
      },
    });
    this.log(
      `zoo ${entry.name}: ready as ${ZOO_TENANT}~${entry.name} version ${version.version} ` +
        `(${q.metric} ${q.value.toFixed(4)}, ${formatSeconds(done.seconds)})`,
    );
  }

  /** A row that failed: the trainer's own error fails the job; a dead trainer is retried. */
  private async failed(job: JobRecord, entry: ZooEntry, e: Error): Promise<void> {
    const message = e.message ?? String(e);
    if (this.closed) {
      // Stopping: give the job back at once, so the next start (or another worker) resumes it.
      await this.host.trainings.heartbeat(job.id, job.attempts, 0).catch(() => {});
      return;
    }
    if (this.current?.lost) return;
    if (!(e instanceof TrainerDied)) {
      await this.settle(job, 'failed', { error: message });
      this.log(`zoo ${entry.name}: failed: ${message} (the next start tries again)`);
      return;
    }
    const retries = await this.retriesSinceQueued(job);
    if (retries >= this.settings.maxRetries) {
      const error = `${message}; gave up after ${retries + 1} attempts (${this.settings.maxRetries} retries allowed)`;
      await this.settle(job, 'failed', { error });
      this.log(`zoo ${entry.name}: failed: ${error} (the next start tries again)`);
      return;
    }
    await this.event(job, 'retrying', {
      attempt: retries + 1,
      maxRetries: this.settings.maxRetries,
      reason: message,
    });
    this.log(`zoo ${entry.name}: ${message}; retrying (${retries + 1} of ${this.settings.maxRetries})`);
    // Lease 0: claimable again at once, here or by another worker.
    await this.host.trainings.heartbeat(job.id, job.attempts, 0);
  }

  /** `retrying` events since the job was last queued (a requeued job starts its count afresh). */
  private async retriesSinceQueued(job: JobRecord): Promise<number> {
    const events = await this.host.trainings.events(job.id, 0);
    const queued = events.findLastIndex((e) => e.type === 'status' && e.data.status === 'queued');
    return events.slice(queued + 1).filter((e) => e.type === 'retrying').length;
  }

  private async holds(job: JobRecord): Promise<boolean> {
    return this.host.trainings.heartbeat(job.id, job.attempts, Date.now() + this.settings.leaseMs);
  }

  private async beat(): Promise<void> {
    const c = this.current;
    if (!c || c.lost || this.closed) return;
    const held = await this.holds(c.job).catch(() => true);
    if (held || c.lost) return;
    // Cancelled, or taken over by another worker after this one was too slow to renew: stop.
    c.lost = true;
    this.log(`zoo ${c.job.model}: the claim was lost; stopping its trainer`);
    this.child?.process.kill('SIGKILL');
  }

  private async settle(
    job: JobRecord,
    status: 'succeeded' | 'failed',
    fields: { error?: string; result?: Record<string, unknown> },
  ): Promise<void> {
    if (await this.host.trainings.finish(job.id, status, fields, job.attempts))
      await this.event(job, 'status', {
        status,
        ...(fields.error ? { error: fields.error } : {}),
        ...(fields.result ?? {}),
      });
  }

  private async event(job: JobRecord, type: string, data: Record<string, unknown>): Promise<void> {
    await this.host.trainings.addEvent(job.id, type, data);
  }

  /** Send one row to the trainer child (started on demand) and wait for its model. */
  private ask(req: ZooTrainRequest): Promise<Extract<ZooWorkerMessage, { type: 'trained' }>> {
    const child = this.child?.process.connected ? this.child : this.spawnChild();
    return new Promise((resolve, reject) => {
      this.pending = { name: req.name, resolve, reject };
      child.process.send(req);
    });
  }

  private spawnChild(): NonNullable<ZooService['child']> {
    const proc = spawn(process.execPath, nodeArgs(workerPath), {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { PATH: process.env.PATH ?? '' },
    });
    // The main thread at once (threads it starts inherit it); the worker renices the rest.
    if (proc.pid !== undefined) {
      try {
        setPriority(proc.pid, this.settings.nice);
      } catch {
        // Already gone: its exit handler reports it.
      }
    }
    const exited = new Promise<void>((resolve) =>
      proc.once('exit', (code, signal) => {
        if (this.child?.process === proc) this.child = null;
        const p = this.pending;
        this.pending = null;
        p?.reject(new TrainerDied(`the zoo trainer exited unexpectedly (${signal ?? `code ${code}`})`));
        resolve();
      }),
    );
    proc.on('message', (m: ZooWorkerMessage) => this.onMessage(m));
    this.child = { process: proc, exited };
    return this.child;
  }

  private onMessage(m: ZooWorkerMessage): void {
    const p = this.pending;
    if (!p || m.name !== p.name) return;
    if (m.type === 'progress') {
      this.progress(m.line);
      return;
    }
    this.pending = null;
    if (m.type === 'trained') p.resolve(m);
    else p.reject(new Error(m.message));
  }

  /** A trainer line: into the job's events (what every API process shows) and the server log. */
  private progress(line: string): void {
    const c = this.current;
    if (!c || c.lost) return;
    c.tracker.update(line);
    const now = Date.now();
    if (now - c.lastStoredAt >= STORE_PROGRESS_EVERY_MS) {
      c.lastStoredAt = now;
      void this.event(c.job, 'progress', { line }).catch(() => {});
    }
    if (now - this.lastLogAt >= this.settings.logEveryMs) {
      this.lastLogAt = now;
      const eta = c.tracker.view(now).etaSeconds;
      this.log(`zoo ${line}${eta === null ? '' : ` (about ${formatSeconds(eta)} left)`}`);
    }
  }

  /** Stop the trainer child (killed: the job goes back to the queue) and wait for it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    const child = this.child;
    if (child) {
      child.process.kill('SIGKILL');
      await child.exited;
    }
    await this.loop;
    if (this.loop) await rm(this.settings.dir, { recursive: true, force: true });
  }
}

function zooEntryOrNull(name: string): ZooEntry | null {
  try {
    return zooEntry(name);
  } catch {
    return null;
  }
}
