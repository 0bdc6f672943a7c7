/**
 * The zoo on first start: `maas serve` queues every zoo row that has no installed version and
 * trains them in the background, one at a time, cheapest first, in ONE child process (never on the
 * API's event loop; one process so `image-gen` reuses the digit CNN `mnist-cnn` trained), and
 * registers each result with `installZooModel` as public model `zoo~NAME`.
 *
 * Sharing the CPU: the child runs at nice 10 (every thread, see worker.ts), so API requests and
 * user training jobs (nice 0) take the cores whenever they want them; and the zoo starts its next
 * row only when no user training job is running (it yields between rows, it does not pause
 * mid-row).
 *
 * Crash safety: nothing is written to the registry until a row is fully trained, and the registry
 * commits a version atomically. State lives in memory only: a crash or restart mid-training leaves
 * no version and no row, so the next start queues what is still missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { entryUrl, nodeArgs, packageRoot } from '../../common/entry';
import { MaasError } from '../../common/errors';
import { type ZooEntry, zooEntries, zooEntry, zooUnavailable } from '../../models/zoo/index';
import type { ZooMode } from '../config';
import {
  installZooModel,
  ZOO_TENANT,
  type ZooHost,
  type ZooScale,
  type ZooStatusRow,
  zooStatus,
} from '../zoo';
import { formatSeconds, ProgressTracker, SpeedEstimate, type ZooProgress } from './progress';
import type { ZooTrainRequest, ZooWorkerMessage } from './protocol';

export interface ZooServiceSettings {
  mode: ZooMode;
  /** Scratch folder for trained files before they are installed (emptied at start). */
  dir: string;
  /** Nice value of the trainer child (0 normal … 19 lowest). */
  nice: number;
  /** Least time between two progress lines in the server log (ms). */
  logEveryMs: number;
  /** How often a waiting zoo looks again for running user training jobs (ms). */
  pollMs: number;
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

interface Live {
  entry: ZooEntry;
  state: 'queued' | 'training' | 'failed';
  tracker: ProgressTracker | null;
  error: string | null;
}

interface Pending {
  name: string;
  resolve: (m: Extract<ZooWorkerMessage, { type: 'trained' }>) => void;
  reject: (e: Error) => void;
}

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

const expected = (e: ZooEntry, scale: ZooScale): number | null => e.expectedSeconds?.[scale] ?? null;

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
        (expected(a, scale) ?? Infinity) - (expected(b, scale) ?? Infinity),
    );
}

export class ZooService {
  private readonly live = new Map<string, Live>();
  /** This machine's speed against the manifest's measured times (rows trained by this start). */
  private readonly speed = new SpeedEstimate();
  private scale: ZooScale = 'full';
  private child: { process: ChildProcess; exited: Promise<void> } | null = null;
  private pending: Pending | null = null;
  private loop: Promise<void> | null = null;
  private closed = false;
  private readonly abort = new AbortController();
  private log: (line: string) => void = () => {};
  private lastLogAt = 0;

  constructor(
    private readonly host: ZooHost,
    /** User training jobs running now (the zoo waits for 0 before each row). */
    private readonly userJobs: () => number,
    private readonly settings: ZooServiceSettings,
  ) {
    host.registry.explainMissing((owner, name) => this.explainMissing(owner, name));
  }

  get mode(): ZooMode {
    return this.settings.mode;
  }

  /**
   * Queue every row without an installed version (in `auto`, also rows installed at quick scale:
   * they are replaced by full ones) and train them in the background. Returns once queued.
   */
  async start(log: (line: string) => void): Promise<void> {
    if (this.loop || this.closed || this.settings.mode === 'off') return;
    this.log = log;
    this.scale = this.settings.mode === 'quick' ? 'quick' : 'full';
    await rm(this.settings.dir, { recursive: true, force: true });
    await mkdir(this.settings.dir, { recursive: true, mode: 0o700 });
    const installed = new Map((await zooStatus(this.host)).map((r) => [r.name, r]));
    const todo = zooQueue(zooEntries(), installed, this.scale);
    const skipped = zooEntries().filter((e) => zooUnavailable(e) !== null && !installed.get(e.name)?.version);
    for (const e of skipped) log(`zoo ${e.name}: skipped, ${zooUnavailable(e)}`);
    for (const entry of todo)
      this.live.set(entry.name, { entry, state: 'queued', tracker: null, error: null });
    if (todo.length === 0) return;
    log(
      `zoo: ${todo.length} model(s) to train at ${this.scale} scale in the background, in this order (gpt first, then cheapest first): ` +
        `${todo.map((e) => e.name).join(', ')} (GET /api/v1/zoo shows progress)`,
    );
    this.loop = this.run(todo).catch((e: unknown) => log(`zoo: stopped: ${(e as Error).message}`));
  }

  /** Every zoo row: what the registry holds, overlaid with the background training's state. */
  async status(): Promise<ZooRowView[]> {
    const now = Date.now();
    return (await zooStatus(this.host)).map((r) => {
      const l = this.live.get(r.name);
      const installed = r.version !== null;
      const absent: ZooState = r.unavailable ? 'unavailable' : 'missing';
      const state: ZooState =
        l && l.state !== 'failed' ? l.state : installed ? 'ready' : l ? 'failed' : absent;
      return {
        ...r,
        model: `${ZOO_TENANT}~${r.name}`,
        state,
        progress: l && l.state !== 'failed' ? this.progressOf(l, now) : null,
        error: l?.error ?? null,
      };
    });
  }

  private progressOf(l: Live, now: number): ZooProgress {
    if (l.tracker) return l.tracker.view(now);
    const wait = this.secondsUntilReady(l.entry.name, now);
    return { line: null, step: null, steps: null, elapsedSeconds: 0, etaSeconds: wait };
  }

  /**
   * Seconds until `name` is trained: what is left of the current row plus every row up to it,
   * queued rows at their measured time scaled by this machine's observed speed.
   */
  private secondsUntilReady(name: string, now: number): number | null {
    const training = [...this.live.values()].find((l) => l.state === 'training' && l.tracker);
    const factor = this.speed.factor(
      training?.tracker
        ? { expected: expected(training.entry, this.scale), progress: training.tracker.view(now) }
        : undefined,
    );
    let total = 0;
    for (const l of this.live.values()) {
      if (l.state === 'failed') continue;
      const guess = expected(l.entry, this.scale);
      const left =
        l.state === 'training' && l.tracker
          ? l.tracker.view(now).etaSeconds
          : guess === null
            ? null
            : guess * factor;
      if (left === null) return null;
      total += left;
      if (l.entry.name === name) return total;
    }
    return null;
  }

  /**
   * A call on a zoo model still queued or training: 503 + Retry-After instead of 404. One this
   * machine cannot train: 404 that says how to make it available (retrying will not help).
   */
  private explainMissing(owner: string, name: string): Error | null {
    if (owner !== ZOO_TENANT) return null;
    const unavailable = this.unavailableRow(name);
    if (unavailable) return unavailable;
    const l = this.live.get(name);
    if (!l || l.state === 'failed') return null;
    const now = Date.now();
    const wait = this.secondsUntilReady(name, now);
    const p = l.tracker?.view(now);
    const where = p?.step != null ? ` (step ${p.step}/${p.steps})` : '';
    const doing = l.state === 'training' ? `still training${where}` : 'queued for training';
    // One number for the text and Retry-After, so they agree ("about 10 min 38 s" = 638).
    const retryAfter = Math.max(1, Math.ceil(wait ?? UNKNOWN_WAIT_S));
    const eta = wait === null ? '' : `, ready in about ${formatSeconds(retryAfter)}`;
    return new MaasError(
      'not_ready',
      `zoo model '${name}' is ${doing}${eta}; GET /api/v1/zoo shows progress`,
      {
        retryAfterSeconds: retryAfter,
        headers: { 'x-maas-zoo-state': l.state },
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

  private async run(todo: ZooEntry[]): Promise<void> {
    const t0 = Date.now();
    for (const entry of todo) {
      await this.yieldToUserJobs();
      if (this.closed) return;
      await this.trainOne(entry);
    }
    this.child?.process.disconnect();
    if (!this.closed) this.log(`zoo: background training done in ${formatSeconds((Date.now() - t0) / 1000)}`);
  }

  private async yieldToUserJobs(): Promise<void> {
    let told = false;
    while (!this.closed && this.userJobs() > 0) {
      if (!told) this.log('zoo: waiting for user training jobs to finish');
      told = true;
      await sleep(this.settings.pollMs, undefined, { signal: this.abort.signal }).catch(() => {});
    }
  }

  private async trainOne(entry: ZooEntry): Promise<void> {
    const l = this.live.get(entry.name) as Live;
    l.state = 'training';
    const measured = expected(entry, this.scale);
    const guess = measured === null ? null : measured * this.speed.factor();
    l.tracker = new ProgressTracker(Date.now(), guess);
    this.log(
      `zoo ${entry.name}: training (${this.scale}${guess === null ? '' : `, about ${formatSeconds(guess)}`})`,
    );
    try {
      const done = await this.ask({
        type: 'train',
        name: entry.name,
        seed: entry.seed,
        scale: this.scale,
        dir: this.settings.dir,
        nice: this.settings.nice,
      });
      const onnx = await readFile(done.onnxFile);
      const artifact = { onnx, metadata: done.metadata, quality: done.quality };
      const trained = { artifact, seed: entry.seed, seconds: done.seconds, scale: this.scale };
      this.speed.record(measured, done.seconds);
      const { version } = await installZooModel(this.host, entry.name, trained);
      await rm(done.onnxFile, { force: true });
      this.live.delete(entry.name);
      const q = done.quality;
      this.log(
        `zoo ${entry.name}: ready as ${ZOO_TENANT}~${entry.name} version ${version.version} ` +
          `(${q.metric} ${q.value.toFixed(4)}, ${formatSeconds(done.seconds)})`,
      );
    } catch (e) {
      if (this.closed) return;
      const message = (e as Error).message ?? String(e);
      l.state = 'failed';
      l.error = publicError(message);
      this.log(`zoo ${entry.name}: failed: ${message} (the next start tries again)`);
    }
  }

  /** Send one row to the trainer child (started on demand) and wait for its model. */
  private ask(req: ZooTrainRequest): Promise<Extract<ZooWorkerMessage, { type: 'trained' }>> {
    const child = this.child ?? this.spawnChild();
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
        p?.reject(new Error(`the zoo trainer exited unexpectedly (${signal ?? `code ${code}`})`));
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
      const l = this.live.get(m.name);
      l?.tracker?.update(m.line);
      const now = Date.now();
      if (l?.tracker && now - this.lastLogAt >= this.settings.logEveryMs) {
        this.lastLogAt = now;
        const eta = l.tracker.view(now).etaSeconds;
        this.log(`zoo ${m.line}${eta === null ? '' : ` (about ${formatSeconds(eta)} left)`}`);
      }
      return;
    }
    this.pending = null;
    if (m.type === 'trained') p.resolve(m);
    else p.reject(new Error(m.message));
  }

  /** Stop the trainer child (killed: it holds nothing worth saving) and wait for it. Idempotent. */
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
