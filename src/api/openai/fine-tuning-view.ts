/**
 * How a maas training looks through OpenAI's fine-tuning API: the job object and its events.
 * The ids translate one to one, so nothing extra is stored: `trn_<24 hex>` ⇄ `ftjob-<24 hex>`,
 * and the events of a job are `ftevent-<24 hex>-<seq>`.
 *
 *   {"id": "ftjob-9a1c...", "object": "fine_tuning.job", "model": "text-cnn", "status": "running",
 *    "training_file": "file-3f9c...", "fine_tuned_model": null, "hyperparameters":
 *    {"n_epochs": 3, "batch_size": 16, "learning_rate_multiplier": 2}, ...}
 *   {"id": "ftevent-9a1c...-12", "object": "fine_tuning.job.event", "level": "info", "type":
 *    "metrics", "message": "Step 40/60: training loss=0.4121", "data": {"step": 40, ...}}
 */
import { fail } from '../../common/errors';
import { families, rulesOf } from '../../models/families/index';
import type { JobEvent, JobRecord } from '../../store/training-ports';
import { seconds } from './pages';

const HEX_ID = /^[0-9a-f]{24}$/;

export const jobIdOf = (trainingId: string) => `ftjob-${trainingId.slice(4)}`;

/** `ftjob-<hex>` → `trn_<hex>`; anything else is no job of anyone's (404). */
export function trainingIdOf(jobId: string): string {
  const hex = jobId.startsWith('ftjob-') ? jobId.slice(6) : '';
  if (!HEX_ID.test(hex)) fail('not_found', 'fine-tuning job not found', { pointer: 'fine_tuning_job_id' });
  return `trn_${hex}`;
}

/** The fine-tuned model's name: `ft-<family>[-<suffix>]-<8 hex>` (a plain maas model name). */
export function fineTunedName(family: string, suffix: string | undefined, hex: string): string {
  return ['ft', family, ...(suffix ? [suffix] : []), hex].join('-');
}

function suffixOf(job: Omit<JobRecord, 'owner'>): string | null {
  const head = `ft-${job.family}-`;
  if (!job.model.startsWith(head)) return null;
  const middle = job.model.slice(head.length, -9);
  return middle === '' ? null : middle;
}

export function openAIHyperparameters(job: Pick<JobRecord, 'family' | 'hyperparameters'>) {
  const hp = job.hyperparameters;
  const baseRate = rulesOf(families.get(job.family)).learning_rate;
  const defaultRate = baseRate.kind === 'number' ? baseRate.default : 1e-3;
  return {
    n_epochs: Number(hp.epochs),
    batch_size: Number(hp.batch_size),
    // 6 significant digits: 3e-3 / 1e-3 reads 3, not 2.9999999999999996.
    learning_rate_multiplier: Number((Number(hp.learning_rate) / defaultRate).toPrecision(6)),
    ...(hp.lora_rank === undefined
      ? {}
      : { lora_rank: Number(hp.lora_rank), lora_alpha: Number(hp.lora_alpha) }),
  };
}

export function jobObject(job: Omit<JobRecord, 'owner'>, organization: string) {
  const hyperparameters = openAIHyperparameters(job);
  return {
    id: jobIdOf(job.id),
    object: 'fine_tuning.job' as const,
    created_at: seconds(job.createdAt),
    finished_at: job.finishedAt ? seconds(job.finishedAt) : null,
    // maas validates files when the job is created, so a job is never seen in `validating_files`.
    status: job.status,
    // A fine-tuned upload (LoRA) names its base model, as OpenAI's jobs do.
    model:
      typeof job.hyperparameters.base === 'string'
        ? job.hyperparameters.base.replace(/:\d+$/, '')
        : job.family,
    fine_tuned_model: job.status === 'succeeded' ? job.model : null,
    organization_id: organization || 'maas',
    training_file: job.dataset,
    validation_file:
      typeof job.hyperparameters.validation_dataset === 'string'
        ? job.hyperparameters.validation_dataset
        : null,
    hyperparameters,
    method: { type: 'supervised' as const, supervised: { hyperparameters } },
    seed: Number(job.hyperparameters.seed),
    user_provided_suffix: suffixOf(job),
    // A classifier learns examples, not tokens; the result's metrics are in the events.
    trained_tokens: null,
    result_files: [] as string[],
    error:
      job.status === 'failed'
        ? { code: 'training_failed', message: job.error ?? 'the training failed', param: null }
        : null,
    estimated_finish: null,
    integrations: [],
    metadata: null,
  };
}

type Described = { level: 'info' | 'warn' | 'error'; type: 'message' | 'metrics'; message: string };
const num = (v: unknown, digits = 4) => (typeof v === 'number' ? v.toFixed(digits) : String(v));

/** One row per status: what OpenAI's event stream says at that point. */
const statusMessages: Record<string, (d: Record<string, unknown>, job: string) => Described> = {
  queued: (_d, job) => ({ level: 'info', type: 'message', message: `Created fine-tuning job: ${job}` }),
  running: (d) => ({
    level: 'info',
    type: 'message',
    message:
      Number(d.fromStep) > 0
        ? `Fine-tuning job resumed from step ${d.fromStep} (attempt ${d.attempt})`
        : 'Fine-tuning job started',
  }),
  succeeded: (d) => ({
    level: 'info',
    type: 'message',
    message: `The job has successfully completed. New fine-tuned model: ${d.model} (version ${d.version})`,
  }),
  failed: (d) => ({ level: 'error', type: 'message', message: `Fine-tuning failed: ${d.error}` }),
  cancelled: () => ({ level: 'info', type: 'message', message: 'Fine-tuning job cancelled' }),
};

/** One row per training event type (src/platform/training/trainer.ts emits them). */
const eventMessages: Record<string, (d: Record<string, unknown>, job: string) => Described> = {
  status: (d, job) =>
    statusMessages[String(d.status)]?.(d, job) ?? {
      level: 'info',
      type: 'message',
      message: String(d.status),
    },
  progress: (d) => ({
    level: 'info',
    type: 'metrics',
    message: `Step ${d.step}/${d.totalSteps}: training loss=${num(d.loss)}${
      typeof d.accuracy === 'number' ? `, accuracy=${num(d.accuracy, 3)}` : ''
    }`,
  }),
  epoch: (d) => {
    const v = (d.validation ?? {}) as Record<string, unknown>;
    const metric = Object.keys(v).find((k) => k !== 'loss');
    return {
      level: 'info',
      type: 'metrics',
      message: `Epoch ${d.epoch}/${d.epochs}: ${
        typeof d.train_loss === 'number' ? `training loss=${num(d.train_loss)}, ` : ''
      }validation loss=${num(v.loss)}${metric ? `, ${metric}=${num(v[metric], 3)}` : ''}`,
    };
  },
  checkpoint: (d) => ({ level: 'info', type: 'message', message: `Checkpoint saved at step ${d.step}` }),
  resumed: (d) => ({
    level: 'info',
    type: 'message',
    message: `Resumed from the checkpoint at step ${d.step}`,
  }),
  retrying: (d) => ({
    level: 'warn',
    type: 'message',
    message: `${d.reason}; retry ${d.attempt} of ${d.maxRetries} from the checkpoint at step ${d.fromStep}${
      typeof d.delayMs === 'number' && d.delayMs > 0 ? ` in ${(d.delayMs / 1000).toFixed(1)} s` : ''
    }`,
  }),
};

/** OpenAI's names for the metrics in `data` (train_loss, valid_loss, ...), as its clients plot them. */
function metricsData(type: string, d: Record<string, unknown>): Record<string, unknown> {
  if (type === 'progress')
    return {
      step: d.step,
      total_steps: d.totalSteps,
      train_loss: d.loss,
      ...(typeof d.accuracy === 'number' ? { train_accuracy: d.accuracy } : {}),
    };
  if (type === 'epoch') {
    const v = (d.validation ?? {}) as Record<string, unknown>;
    const extra = Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => k !== 'loss')
        .map(([k, x]) => [`valid_${k}`, x]),
    );
    const train = typeof d.train_loss === 'number' ? { train_loss: d.train_loss } : {};
    return { step: d.step, epoch: d.epoch, ...train, valid_loss: v.loss, ...extra };
  }
  return d;
}

export function eventIdOf(trainingId: string, seq: number): string {
  return `ftevent-${trainingId.slice(4)}-${seq}`;
}

/** `ftevent-<hex>-<seq>` of this job → seq; anything else → 400 (a cursor from another list). */
export function eventSeqOf(trainingId: string, eventId: string): number {
  const head = `ftevent-${trainingId.slice(4)}-`;
  const seq = eventId.startsWith(head) ? Number(eventId.slice(head.length)) : Number.NaN;
  if (!Number.isInteger(seq) || seq < 1)
    fail('invalid_request', 'after must be an event id of this job', { pointer: 'after' });
  return seq;
}

export function eventObject(trainingId: string, e: JobEvent) {
  const job = jobIdOf(trainingId);
  const described = eventMessages[e.type]?.(e.data, job) ?? {
    level: 'info' as const,
    type: 'message' as const,
    message: e.type,
  };
  return {
    id: eventIdOf(trainingId, e.seq),
    object: 'fine_tuning.job.event' as const,
    created_at: seconds(e.createdAt),
    ...described,
    data: metricsData(e.type, e.data),
  };
}
