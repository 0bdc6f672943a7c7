/**
 * The zoo's training state as every process sees it: read from the zoo tenant's jobs and their
 * events in the shared store (never from one process's memory), so two API processes behind a
 * load balancer show the same state, progress and ETA whichever process trains the row.
 */
import { type ZooEntry, zooEntries } from '../../models/zoo/index';
import type { JobEvent, JobRecord, TrainingRepository } from '../../store/training-ports';
import { ZOO_TENANT, type ZooScale } from '../zoo';
import { isActive, zooJobSpec } from './jobs';
import { ProgressTracker, SpeedEstimate, type ZooProgress } from './progress';

/** The state of one row's newest job (the active one if there is one). */
interface ZooJobState {
  state: 'queued' | 'training' | 'failed';
  /** While queued or training. */
  progress: ZooProgress | null;
  /** The failed job's error (whole: callers shorten it for API readers). */
  error: string | null;
}

export const expectedSeconds = (e: ZooEntry | undefined, scale: ZooScale): number | null =>
  e?.expectedSeconds?.[scale] ?? null;

/** The row's job: the active one, else the newest. `jobs` is newest first (the store's `list`). */
function jobPerRow(jobs: readonly JobRecord[]): Map<string, JobRecord> {
  const rows = new Map<string, JobRecord>();
  for (const j of jobs) {
    const spec = zooJobSpec(j);
    if (!spec) continue;
    const seen = rows.get(spec.row);
    if (!seen || (!isActive(seen) && isActive(j))) rows.set(spec.row, j);
  }
  return rows;
}

/** This deployment's speed against the manifest's measured times: every zoo job that succeeded. */
function speedOf(jobs: readonly JobRecord[], entries: Map<string, ZooEntry>): SpeedEstimate {
  const speed = new SpeedEstimate();
  for (const j of jobs) {
    const spec = zooJobSpec(j);
    const seconds = j.result?.seconds;
    if (!spec || j.status !== 'succeeded' || typeof seconds !== 'number') continue;
    speed.record(expectedSeconds(entries.get(spec.row), spec.scale), seconds);
  }
  return speed;
}

/** Progress of a running job: its latest run's start and the progress lines logged since. */
function trackerOf(events: readonly JobEvent[], guess: number | null, now: number): ProgressTracker {
  let start = events.findLastIndex((e) => e.type === 'status' && e.data.status === 'running');
  const startedAt = start >= 0 ? Date.parse(events[start].createdAt) : now;
  if (start < 0) start = 0;
  const tracker = new ProgressTracker(startedAt, guess);
  for (const e of events.slice(start))
    if (e.type === 'progress' && typeof e.data.line === 'string') tracker.update(e.data.line);
  return tracker;
}

/**
 * Every row that has a zoo job, by row name: queued, training (with progress and ETA) or failed.
 * Queued rows wait for the running ones and the rows before them (claim order: oldest first),
 * each at its measured time scaled by the speed this deployment has shown.
 */
export async function zooJobStates(
  trainings: TrainingRepository,
  now: number,
): Promise<Map<string, ZooJobState>> {
  const jobs = await trainings.list(ZOO_TENANT);
  const entries = new Map(zooEntries().map((e) => [e.name, e]));
  const speed = speedOf(jobs, entries);
  const perRow = jobPerRow(jobs);
  const trackers = new Map<string, { tracker: ProgressTracker; expected: number | null }>();
  for (const [row, j] of perRow) {
    if (!training(j, now)) continue;
    const spec = zooJobSpec(j) as NonNullable<ReturnType<typeof zooJobSpec>>;
    const expected = expectedSeconds(entries.get(row), spec.scale);
    const tracker = trackerOf(
      await trainings.events(j.id, 0),
      expected === null ? null : expected * speed.factor(),
      now,
    );
    trackers.set(row, { tracker, expected });
  }
  // The first running row with a counter refines the speed for the queued ones (as before).
  const current = [...trackers.values()].find((t) => t.tracker.view(now).step !== null);
  const factor = speed.factor(
    current ? { expected: current.expected, progress: current.tracker.view(now) } : undefined,
  );

  const states = new Map<string, ZooJobState>();
  const active = [...perRow.entries()]
    .filter(([, j]) => isActive(j))
    .sort(
      ([, a], [, b]) =>
        rank(a) - rank(b) || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
    );
  let wait: number | null = 0;
  for (const [row, j] of active) {
    const t = trackers.get(row);
    const spec = zooJobSpec(j) as NonNullable<ReturnType<typeof zooJobSpec>>;
    const guess = expectedSeconds(entries.get(row), spec.scale);
    const left = t ? t.tracker.view(now).etaSeconds : guess === null ? null : guess * factor;
    wait = wait === null || left === null ? null : wait + left;
    states.set(row, {
      state: t ? 'training' : 'queued',
      progress: t
        ? t.tracker.view(now)
        : {
            line: null,
            step: null,
            steps: null,
            elapsedSeconds: 0,
            etaSeconds: wait === null ? null : round1(wait),
          },
      error: null,
    });
  }
  for (const [row, j] of perRow)
    if (j.status === 'failed') states.set(row, { state: 'failed', progress: null, error: j.error });
  return states;
}

/**
 * Whether a trainer holds the job now. A running job whose lease ran out (its worker died, or its
 * trainer child crashed and the job was given back) waits to be claimed again: it shows as queued.
 */
const training = (j: JobRecord, now: number) => j.status === 'running' && j.leaseUntil >= now;

/** Running rows first (they finish first), then the queue in claim order. */
const rank = (j: JobRecord) => (j.status === 'running' ? 0 : 1);
const round1 = (x: number) => Math.round(x * 10) / 10;
