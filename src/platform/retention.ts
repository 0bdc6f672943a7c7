/**
 * Retention of finished background work kept as work items (docs/predictions.md, "Retention"):
 * OpenAI batches and webhook deliveries (of predictions and of trainings) would otherwise grow
 * without bound. Both use the prediction TTL (`MAAS_PREDICTION_TTL`), so one setting says how long
 * anything finished is kept:
 *
 *   - a finished batch (completed, failed, expired, cancelled) goes with its child rows once its
 *     24 h completion window has closed and the TTL has passed after it, so a batch that ends
 *     late in its window is still kept at least the TTL after it ended;
 *   - a finished delivery (delivered, failed) goes the TTL after it was queued; pending ones stay
 *     while they are retried.
 *
 * A batch's output and error files are `/v1/files` of their own and stay until deleted.
 */
import type { WorkItemRepository } from '../store/work-ports';

/** A batch runs at most this long after creation (OpenAI's `completion_window`, 24 h). */
export const BATCH_WINDOW_MS = 24 * 3_600_000;
const FINISHED_BATCH = ['completed', 'failed', 'expired', 'cancelled'] as const;
const FINISHED_DELIVERY = ['delivered', 'failed'] as const;

interface Purged {
  batches: number;
  deliveries: number;
}

/** Deletes the batches and deliveries past their retention at `now` (epoch ms). */
export async function purgeFinishedWork(
  items: Pick<WorkItemRepository, 'purge'>,
  ttlMs: number,
  now: number,
): Promise<Purged> {
  const batches = await items.purge('batch', FINISHED_BATCH, now - BATCH_WINDOW_MS - ttlMs);
  const deliveries = await items.purge('delivery', FINISHED_DELIVERY, now - ttlMs);
  return { batches, deliveries };
}
