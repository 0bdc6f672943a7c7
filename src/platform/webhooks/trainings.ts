/**
 * Webhooks for training jobs: `POST /api/v1/trainings` takes `webhook` and `webhook_events_filter`
 * as a prediction does, kept as a work item of kind `training_webhook` keyed by the job's id, and
 * the job's events go out through the same signed, retried, SSRF-guarded deliveries and delivery
 * log (WebhookService) as a prediction's:
 *
 *   status running                    → start
 *   progress, epoch, checkpoint       → output (progress at most every `PROGRESS_EVERY_MS` per job)
 *   log, retrying                     → logs
 *   status succeeded/failed/cancelled → completed
 *
 * Each delivery's body is the training as `GET /api/v1/trainings/{id}` shows it, with the event
 * that caused it: `{..., "event": {"type": "checkpoint", "data": {"step": 200}}}`.
 */
import type { JobRecord, TrainingRepository } from '../../store/training-ports';
import type { WorkItemRepository } from '../../store/work-ports';
import type { TrainingEventListener } from '../training/service';
import type { WebhookEvent, WebhookService } from './service';

const KIND = 'training_webhook';
/** A job's `progress` events reach its webhook at most this often (ms); the others always. */
const PROGRESS_EVERY_MS = 1000;

interface TrainingWebhook {
  url: string;
  events: WebhookEvent[];
}

/** Which webhook event a training event is (null: none). */
function webhookEventOf(type: string, data: Record<string, unknown>): WebhookEvent | null {
  if (type === 'status') {
    if (data.status === 'running') return 'start';
    return ['succeeded', 'failed', 'cancelled'].includes(data.status as string) ? 'completed' : null;
  }
  if (type === 'progress' || type === 'epoch' || type === 'checkpoint') return 'output';
  if (type === 'log' || type === 'retrying') return 'logs';
  return null;
}

/** Keeps job `jobId`'s webhook (called once, as the job is created). */
export async function saveTrainingWebhook(
  items: WorkItemRepository,
  owner: string,
  jobId: string,
  hook: TrainingWebhook,
): Promise<void> {
  const now = Date.now();
  await items.insert({
    kind: KIND,
    id: jobId,
    owner,
    status: 'active',
    parent: null,
    dueAt: 0,
    createdAt: now,
    updatedAt: now,
    data: { ...hook },
  });
}

/** The job's webhook and event filter, if it has one. */
export async function trainingWebhookOf(
  items: WorkItemRepository,
  owner: string,
  jobId: string,
): Promise<TrainingWebhook | null> {
  const row = await items.get(KIND, owner, jobId);
  return row ? (row.data as unknown as TrainingWebhook) : null;
}

/**
 * The listener that queues a job's events for its webhook; `view` is the job as the API shows it.
 */
export function trainingWebhookListener(
  items: WorkItemRepository,
  trainings: Pick<TrainingRepository, 'get'>,
  webhooks: Pick<WebhookService, 'enqueue'>,
  view: (job: JobRecord) => Record<string, unknown>,
): TrainingEventListener {
  const lastProgress = new Map<string, number>();
  return async (job, type, data) => {
    const event = webhookEventOf(type, data);
    if (!event) return;
    if (type === 'progress') {
      const now = Date.now();
      if (now - (lastProgress.get(job.id) ?? 0) < PROGRESS_EVERY_MS) return;
      lastProgress.set(job.id, now);
    }
    if (event === 'completed') lastProgress.delete(job.id);
    const hook = await trainingWebhookOf(items, job.owner, job.id);
    if (!hook?.events.includes(event)) return;
    const current = await trainings.get(job.owner, job.id);
    if (!current) return;
    await webhooks.enqueue(job.owner, job.id, hook.url, event, { ...view(current), event: { type, data } });
  };
}
