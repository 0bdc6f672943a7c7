/**
 * Checkpoints through a shared blob store (MAAS_BLOB_STORE=postgres), where workers share no
 * folder: after the trainer writes a checkpoint, the service stores the file as a blob and names
 * its digest in the job's `checkpoint` event; a worker that takes the job over (its first worker
 * died) fetches the last one named into its own job folder before the trainer starts, so the job
 * resumes from it as it would from a shared folder. The events are the record: no table of ours.
 */
import { createReadStream } from 'node:fs';
import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobRecord, TrainingRepository } from '../../store/training-ports';
import type { ArtifactStore } from '../artifacts/artifacts';
import { CHECKPOINT_FILE } from './checkpoint';

export interface CheckpointSharing {
  /** After the trainer wrote `<dir>/checkpoint.bin`: stores it; returns its digest. */
  publish(dir: string): Promise<string>;
  /**
   * Before a claimed job's trainer starts: when `dir` holds no checkpoint, fetches the last one
   * the job's events name. Returns whether one was placed.
   */
  restore(job: JobRecord, dir: string): Promise<boolean>;
}

/** Events read per query while looking for the last checkpoint. */
const PAGE = 500;

/** The digest of the last checkpoint a job published (null: none). */
export async function lastCheckpointDigest(
  trainings: TrainingRepository,
  id: string,
): Promise<string | null> {
  let last: string | null = null;
  for (let after = 0; ; ) {
    const page = await trainings.events(id, after, PAGE);
    for (const e of page)
      if (e.type === 'checkpoint' && typeof e.data.digest === 'string') last = e.data.digest;
    if (page.length < PAGE) return last;
    after = page[page.length - 1]!.seq;
  }
}

export function blobCheckpoints(artifacts: ArtifactStore, trainings: TrainingRepository): CheckpointSharing {
  return {
    async publish(dir) {
      const staged = await artifacts.stage(
        createReadStream(join(dir, CHECKPOINT_FILE)),
        Number.MAX_SAFE_INTEGER,
      );
      await artifacts.commit(staged);
      return staged.digest;
    },
    async restore(job, dir) {
      const target = join(dir, CHECKPOINT_FILE);
      const present = await stat(target).then(
        () => true,
        () => false,
      );
      if (present || job.checkpointStep === 0) return false;
      const digest = await lastCheckpointDigest(trainings, job.id);
      if (!digest) return false;
      await copyFile(await artifacts.local(digest), target);
      return true;
    },
  };
}
