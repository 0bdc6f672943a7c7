/**
 * OpenAI's `/v1/fine_tuning/jobs`, translated onto maas trainings (/api/v1/trainings):
 *
 * - `model` names a maas model family to train on the file: `text-cnn` (text classifier: OpenAI
 *   chat or prompt/completion JSONL, or any text + label dataset), `mlp` (tabular rows with a
 *   `label` column), `cnn` (images). The family learns from scratch. Or `model` is one of the
 *   caller's uploaded decoder folders: LoRA on its attention projections (family `lora`,
 *   hyperparameters `lora_rank`, `lora_alpha`), merged into the new model `ft-lora-…`.
 * - `training_file`: a file id from /v1/files, or any dataset name of the caller (built-ins too).
 *   `validation_file` (LoRA only; families hold out `validation_fraction` of the training file).
 * - `hyperparameters` (or `method.supervised.hyperparameters`): `n_epochs`, `batch_size`,
 *   `learning_rate_multiplier` (× the family's default rate; "auto" = the default), and any of the
 *   family's own (`max_length`, `embed_dim`, ... see GET /docs) under their maas names.
 * - `seed` seeds the split, shuffling and initialisation; `suffix` goes into the model's name.
 * - `fine_tuned_model` (once succeeded) is a maas model name: call it with
 *   /api/v1/models/{name}/predict, or /v1/chat/completions (it answers with the label).
 */
import { randomBytes } from 'node:crypto';
import { fail, isMaasError, MaasError } from '../../common/errors';
import { families, LORA_FAMILY, rulesOf } from '../../models/families/index';
import { idempotent } from '../idempotent';
import { authorizedModel } from '../model-ref';
import type { RouteContext, RouteSpec } from '../route';
import { eventObject, eventSeqOf, fineTunedName, jobObject, trainingIdOf } from './fine-tuning-view';
import { cursorPage, listQuery } from './pages';
import { type Body, objectBody } from './parse';

const CREATE_KEYS = [
  'model',
  'training_file',
  'validation_file',
  'hyperparameters',
  'method',
  'suffix',
  'seed',
  'integrations',
  'metadata',
];
const SUFFIX = /^[a-z0-9][a-z0-9._-]{0,39}$/;
/** OpenAI's hyperparameter names → maas's (the multiplier is handled apart). */
const RENAMED: Record<string, string> = { n_epochs: 'epochs', batch_size: 'batch_size' };
/** maas pointers → the OpenAI request fields they came from. */
const POINTERS: Record<string, string> = {
  family: 'model',
  dataset: 'training_file',
  target: 'training_file',
  'hyperparameters.epochs': 'hyperparameters.n_epochs',
  'hyperparameters.learning_rate': 'hyperparameters.learning_rate_multiplier',
  base: 'model',
  validation_dataset: 'validation_file',
};

const owner = (ctx: RouteContext) => ctx.principal.tenantId;

function refuse(param: string, why: string): never {
  fail('invalid_request', why, { pointer: param });
}

/**
 * A family name trains that family; another name must be one of the caller's models, which is
 * LoRA-tuned (the training service checks it is a decoder folder).
 */
async function familyOf(ctx: RouteContext, model: unknown): Promise<string> {
  if (typeof model !== 'string' || model === '')
    refuse('model', 'model is required (a maas model family, or one of your decoder models)');
  const known = families.standalone();
  if (known.includes(model)) return model;
  // Another tenant's public decoder (`zoo~gpt`) is a base too; the training service checks it.
  // Only "not found" means "not a base": a zoo model still training keeps its 503, an outage its 5xx.
  const notFound = (e: unknown) => {
    if (isMaasError(e) && e.code === 'not_found') return null;
    throw e;
  };
  const ref = await authorizedModel(ctx.platform.registry, ctx.principal, model, 'read').catch(notFound);
  const mine = ref ? await ctx.platform.registry.resolve(ref.owner, ref.name).catch(notFound) : null;
  if (!mine)
    refuse(
      'model',
      `model '${model.slice(0, 80)}' cannot be fine-tuned here: maas trains the families ${known.join(', ')} ` +
        'on your file (text-cnn for chat or prompt/completion examples), and LoRA-tunes language models you uploaded (decoder folders)',
    );
  return LORA_FAMILY;
}

/** `hyperparameters`, from the body or from `method: {type: "supervised", supervised: {...}}`. */
function hyperparametersOf(body: Body): Record<string, unknown> {
  const method = body.method as { type?: unknown; supervised?: { hyperparameters?: unknown } } | undefined;
  if (method !== undefined && method !== null && method.type !== 'supervised')
    refuse('method', "only the 'supervised' method is supported");
  const raw = body.hyperparameters ?? method?.supervised?.hyperparameters ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    refuse('hyperparameters', 'hyperparameters must be an object');
  return raw as Record<string, unknown>;
}

/** OpenAI hyperparameters → the family's (validated by the training service, all in one place). */
function translateHyperparameters(family: string, body: Body): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hyperparametersOf(body))) {
    if (v === 'auto') continue;
    if (k === 'learning_rate_multiplier') {
      const rule = rulesOf(families.get(family)).learning_rate;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
        refuse(
          'hyperparameters.learning_rate_multiplier',
          'learning_rate_multiplier must be a positive number',
        );
      out.learning_rate = (rule.kind === 'number' ? rule.default : 1e-3) * v;
    } else out[RENAMED[k] ?? k] = v;
  }
  if (body.seed !== undefined && body.seed !== null) out.seed = body.seed;
  return out;
}

function checkUnsupported(body: Body, family: string): void {
  for (const k of Object.keys(body))
    if (!CREATE_KEYS.includes(k)) refuse(k.slice(0, 50), `unknown property '${k.slice(0, 50)}'`);
  if (family !== LORA_FAMILY && body.validation_file !== undefined && body.validation_file !== null)
    refuse('validation_file', 'validation_file is not supported: maas holds out a share of training_file');
  if (Array.isArray(body.integrations) ? body.integrations.length > 0 : body.integrations != null)
    refuse('integrations', 'integrations are not supported');
  if (body.metadata !== undefined && body.metadata !== null)
    refuse('metadata', 'metadata is not stored by maas');
}

/** The training service's errors, said in terms of the OpenAI request (a missing file is a 400). */
function asOpenAIError(e: unknown): unknown {
  if (!isMaasError(e)) return e;
  const pointer = e.extras.pointer;
  const param = pointer === undefined ? undefined : (POINTERS[pointer] ?? pointer);
  if (param === 'training_file' && e.code === 'not_found')
    return new MaasError('invalid_request', `invalid training_file: ${e.message}`, { pointer: param });
  if (e.code === 'unprocessable' || param !== pointer)
    return new MaasError(e.code === 'unprocessable' ? 'invalid_request' : e.code, e.message, {
      ...e.extras,
      pointer: param,
    });
  return e;
}

async function createJob(ctx: RouteContext) {
  const body = objectBody(ctx.body);
  const family = await familyOf(ctx, body.model);
  checkUnsupported(body, family);
  const suffix = body.suffix === undefined || body.suffix === null ? undefined : body.suffix;
  if (suffix !== undefined && (typeof suffix !== 'string' || !SUFFIX.test(suffix)))
    refuse('suffix', 'suffix must be 1 to 40 of a-z, 0-9, ".", "_", "-" (it becomes part of a model name)');
  if (typeof body.training_file !== 'string' || body.training_file === '')
    refuse('training_file', 'training_file is required (a file id from /v1/files)');
  const lora = family === LORA_FAMILY;
  const validation = typeof body.validation_file === 'string' ? body.validation_file : undefined;
  const request = {
    family,
    ...(lora ? { base: body.model } : {}),
    dataset: body.training_file,
    ...(lora && validation ? { validation_dataset: validation } : {}),
    model: fineTunedName(family, suffix, randomBytes(4).toString('hex')),
    hyperparameters: translateHyperparameters(family, body),
  };
  const job = await ctx.platform.trainings.create(owner(ctx), request).catch((e: unknown) => {
    throw asOpenAIError(e);
  });
  return jobObject(job, owner(ctx));
}

async function listJobs(ctx: RouteContext) {
  const jobs = (await ctx.platform.trainings.list(owner(ctx))).map((j) => jobObject(j, owner(ctx)));
  return cursorPage(jobs, listQuery(ctx.query, 100));
}

async function listEvents(ctx: RouteContext) {
  const job = await ctx.platform.trainings.get(owner(ctx), trainingIdOf(ctx.params.job_id));
  const q = listQuery(ctx.query, 1000);
  const before = q.after === undefined ? Number.POSITIVE_INFINITY : eventSeqOf(job.id, q.after);
  // Newest first, as OpenAI lists them; `after` pages toward older events.
  const older = (await ctx.platform.trainings.events(owner(ctx), job.id, 0))
    .filter((e) => e.seq < before)
    .reverse();
  const data = older.slice(0, q.limit).map((e) => eventObject(job.id, e));
  return { object: 'list' as const, data, has_more: older.length > data.length };
}

const base = { surface: 'openai' as const, body: 'none' as const, owned: 'job_id' };

export const fineTuningRoutes: RouteSpec[] = [
  {
    ...base,
    owned: null,
    method: 'POST',
    path: '/v1/fine_tuning/jobs',
    access: 'manage',
    body: 'json',
    audit: 'fine_tuning.create',
    summary:
      'OpenAI: fine-tune = a maas training (model: text-cnn | mlp | cnn, or your decoder model for LoRA; training_file; validation_file (LoRA); hyperparameters n_epochs, batch_size, learning_rate_multiplier, lora_rank, lora_alpha; seed; suffix)',
    // A retried create (same Idempotency-Key and body) is the same job, never a second one.
    handler: (ctx) => idempotent(ctx, () => createJob(ctx)),
  },
  {
    ...base,
    owned: null,
    method: 'GET',
    path: '/v1/fine_tuning/jobs',
    access: 'infer',
    summary: 'OpenAI: list fine-tuning jobs (your trainings), newest first; after, limit',
    handler: listJobs,
  },
  {
    ...base,
    method: 'GET',
    path: '/v1/fine_tuning/jobs/:job_id',
    access: 'infer',
    summary: 'OpenAI: one fine-tuning job (fine_tuned_model once succeeded)',
    handler: async (ctx) =>
      jobObject(await ctx.platform.trainings.get(owner(ctx), trainingIdOf(ctx.params.job_id)), owner(ctx)),
  },
  {
    ...base,
    method: 'POST',
    path: '/v1/fine_tuning/jobs/:job_id/cancel',
    access: 'manage',
    audit: 'fine_tuning.cancel',
    summary: 'OpenAI: cancel a queued or running fine-tuning job',
    handler: async (ctx) =>
      jobObject(await ctx.platform.trainings.cancel(owner(ctx), trainingIdOf(ctx.params.job_id)), owner(ctx)),
  },
  {
    ...base,
    method: 'GET',
    path: '/v1/fine_tuning/jobs/:job_id/events',
    access: 'infer',
    summary: 'OpenAI: the job’s events, newest first (status, step metrics, epoch validation, checkpoints)',
    handler: listEvents,
  },
];
