/**
 * Entry of a trainer child process (`node --import tsx worker.ts`): waits for one `start`
 * message, trains, reports events / checkpoints / the outcome over IPC, exits. When the parent
 * dies (kill -9 of the server), the IPC channel closes and this process exits with it, so a
 * restarted server never finds two trainers on one job.
 */
import { isMaasError } from '../../common/errors';
import { toCatalogError } from '../../models/common/engine-errors';
import { runLoraJob } from './lora-run';
import type { ParentMessage, WorkerMessage } from './protocol';
import { runTraining } from './trainer';

function send(m: WorkerMessage): void {
  // The parent died (kill -9 of the server): the write fails; stop rather than train for no one.
  if (process.connected) process.send?.(m, undefined, {}, (e) => e && process.exit(3));
}

process.on('disconnect', () => process.exit(3));

process.once('message', (m: ParentMessage) => {
  if (m.type !== 'start') process.exit(2);
  // A LoRA job (a decoder folder as base) has its own loop; every other job is a family's.
  (m.job.decoder ? runLoraJob(m.job, send) : runTraining(m.job, send)).then(
    (outcome) => {
      send({ type: 'done', outcome });
      process.disconnect?.();
    },
    (thrown: unknown) => {
      const e = toCatalogError(thrown);
      const code = isMaasError(e) ? e.code : 'internal';
      const pointer = isMaasError(e) && e.extras.pointer ? ` (${e.extras.pointer})` : '';
      send({ type: 'failed', code, message: `${(e as Error).message ?? String(e)}${pointer}` });
      process.disconnect?.();
    },
  );
});
