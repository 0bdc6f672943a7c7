/**
 * Zoo rows as ordinary training jobs of the `zoo` tenant (family `zoo`), so a deployment of N
 * processes trains each row once: any process that trains claims them with the store's lease
 * protocol, the registry's unique source-job index registers each result once, and every API
 * process reads the same progress from the jobs and their events.
 *
 * A row's job id is derived from the row and the scale (`zooJobId`), so enqueueing is one insert
 * on the primary key (`createOnce`): processes starting together on one empty database enqueue
 * each row once, with no check-then-insert race. A later start requeues a row's job that failed
 * (or succeeded but whose version is gone), as the in-memory zoo retried missing rows at each start.
 */
import { createHash } from 'node:crypto';
import { type ZooEntry, zooEntries } from '../../models/zoo/index';
import type { JobRecord, JobStatus, NewJob, TrainingRepository } from '../../store/training-ports';
import { ZOO_TENANT, type ZooScale } from '../zoo';

/** The family of zoo jobs: user training never claims it, the zoo runner claims only it. */
export const ZOO_FAMILY = 'zoo';

/** What a zoo job trains (its `hyperparameters`). */
interface ZooJobSpec {
  row: string;
  scale: ZooScale;
  seed: number;
}

/**
 * The same in every process: `trn_` + the row's place in the queue order (4 hex digits) + 20 hex
 * digits of sha256("zoo:<row>:<scale>"). Jobs queued in the same millisecond are claimed by id
 * (the claim order is creation time, then id), so the place keeps gpt first, then cheapest first.
 */
export function zooJobId(row: string, scale: ZooScale): string {
  const place = queuePlace(row, scale);
  const hash = createHash('sha256').update(`zoo:${row}:${scale}`).digest('hex');
  return `trn_${place.toString(16).padStart(4, '0')}${hash.slice(0, 20)}`;
}

/** The row's index among every registered row in queue order (by rank, then cheapest first). */
function queuePlace(row: string, scale: ZooScale): number {
  const seconds = (e: ZooEntry) => e.expectedSeconds?.[scale] ?? Infinity;
  const order = zooEntries()
    .slice()
    .sort(
      (a, b) =>
        (a.queueRank ?? 1) - (b.queueRank ?? 1) || seconds(a) - seconds(b) || a.name.localeCompare(b.name),
    );
  const i = order.findIndex((e) => e.name === row);
  return i < 0 ? 0xffff : Math.min(i, 0xfffe);
}

function zooJob(entry: ZooEntry, scale: ZooScale): NewJob {
  const spec: ZooJobSpec = { row: entry.name, scale, seed: entry.seed };
  return {
    owner: ZOO_TENANT,
    id: zooJobId(entry.name, scale),
    family: ZOO_FAMILY,
    dataset: `zoo:${entry.name}`,
    datasetDigest: null,
    target: null,
    model: entry.name,
    hyperparameters: { ...spec },
  };
}

/** The row, scale and seed a zoo job trains; null for a job that is not a zoo job. */
export function zooJobSpec(job: JobRecord): ZooJobSpec | null {
  const hp = job.hyperparameters;
  if (job.owner !== ZOO_TENANT || job.family !== ZOO_FAMILY) return null;
  if (typeof hp.row !== 'string' || (hp.scale !== 'quick' && hp.scale !== 'full')) return null;
  return { row: hp.row, scale: hp.scale, seed: typeof hp.seed === 'number' ? hp.seed : 1 };
}

export const isActive = (j: JobRecord): boolean => j.status === 'queued' || j.status === 'running';

/** What one start did for one row: created its job, put it back in the queue, or neither. */
type Enqueued = 'created' | 'requeued' | 'already';

/**
 * Queue `entry` at `scale`. `hasVersion`: whether the row has any installed version (a succeeded
 * job whose version was deleted since is requeued; one whose version stands is not).
 */
export async function enqueueZooRow(
  trainings: TrainingRepository,
  entry: ZooEntry,
  scale: ZooScale,
  hasVersion: boolean,
): Promise<Enqueued> {
  const job = zooJob(entry, scale);
  if (await trainings.createOnce(job)) {
    await trainings.addEvent(job.id, 'status', { status: 'queued' });
    return 'created';
  }
  const from: JobStatus[] = hasVersion ? ['failed', 'cancelled'] : ['failed', 'cancelled', 'succeeded'];
  if (await trainings.requeue(job.id, from)) {
    await trainings.addEvent(job.id, 'status', { status: 'queued', requeued: true });
    return 'requeued';
  }
  return 'already';
}
