/**
 * /api/v1/predictions: create a prediction for any task kind, follow it by polling, by SSE or by
 * a signed webhook, cancel it; and the tenant's webhook signing secret.
 *
 *   POST /api/v1/predictions {"model": "bigram", "input": {"prompt": "the "}, "webhook": "https://…"}
 *   → 201 {"id": "p_…", "status": "starting", "urls": {"get": …, "cancel": …, "stream": …}, …}
 *
 * `Prefer: wait` (60 s) or `Prefer: wait=N` (1 to 60) holds the answer until the prediction
 * finishes or N seconds pass; either way the answer is the prediction as it then is (201).
 */
import { createReadStream } from 'node:fs';
import { fail } from '../../common/errors';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../../platform/webhooks/service';
import { admitAtCreate, releaseCreateCharge } from '../background/admission';
import { authorizedModel } from '../model-ref';
import { SseStream } from '../openai/sse';
import type { RouteContext, RouteSpec } from '../route';
import { defaultKind, parseKind } from './kinds';
import { predictionsOf } from './service';
import { dataOf, isTerminal, predictionView } from './view';

const CREATE_KEYS = ['model', 'version', 'input', 'task', 'webhook', 'webhook_events_filter'];
const MAX_WAIT_S = 60;

function strictObject(raw: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail('invalid_request', 'the body must be a JSON object');
  for (const k of Object.keys(raw))
    if (!allowed.includes(k))
      fail('invalid_request', `unknown property '${k.slice(0, 50)}'; allowed: ${allowed.join(', ')}`, {
        pointer: k,
      });
  return raw as Record<string, unknown>;
}

/** `Prefer: wait` → 60 s, `Prefer: wait=5` → 5 s, absent → 0. */
export function preferWait(header: unknown): number {
  if (typeof header !== 'string') return 0;
  const m = /(?:^|[,;\s])wait(?:=([^,;\s]*))?/i.exec(header);
  if (!m) return 0;
  if (m[1] === undefined) return MAX_WAIT_S;
  const n = Number(m[1]);
  if (!/^[0-9]{1,3}$/.test(m[1]) || n < 1 || n > MAX_WAIT_S)
    fail('invalid_request', `Prefer: wait=N takes N from 1 to ${MAX_WAIT_S} seconds`, { pointer: 'Prefer' });
  return n;
}

/** `webhook_events_filter`: a non-empty list of webhook events (default all four). */
export function parseWebhookEvents(raw: unknown): WebhookEvent[] {
  if (raw === undefined || raw === null) return [...WEBHOOK_EVENTS];
  if (
    !Array.isArray(raw) ||
    raw.length === 0 ||
    raw.some((e) => !(WEBHOOK_EVENTS as readonly unknown[]).includes(e))
  )
    fail(
      'invalid_request',
      `webhook_events_filter must be a non-empty list of ${WEBHOOK_EVENTS.join(', ')}`,
      {
        pointer: 'webhook_events_filter',
      },
    );
  return [...new Set(raw as WebhookEvent[])];
}

async function create(ctx: RouteContext) {
  const body = strictObject(ctx.body, CREATE_KEYS);
  const wait = preferWait(ctx.request.headers.prefer);
  if (typeof body.model !== 'string' || body.model.length === 0)
    fail('invalid_request', 'model is required: a model name (or owner~name)', { pointer: 'model' });
  const version = body.version;
  if (version !== undefined && version !== null && typeof version !== 'number' && typeof version !== 'string')
    fail('invalid_request', 'version must be a number or an alias', { pointer: 'version' });
  const input = body.input;
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    fail('invalid_request', 'input must be a JSON object: the body of the task route', { pointer: 'input' });
  const { platform, principal } = ctx;
  const ref = version === undefined || version === null ? undefined : String(version);
  let task = parseKind(body.task);
  if (!platform.tasks.speechModels.get(body.model)) {
    const found = await authorizedModel(platform.registry, principal, body.model, 'read');
    task ??= await defaultKind(platform, { owner: found.owner, model: found.name, ref });
  }
  task ??= 'speak';
  const webhook =
    body.webhook === undefined || body.webhook === null
      ? null
      : await platform.webhooks.checkRequest(principal.tenantId, body.webhook);
  const events = parseWebhookEvents(body.webhook_events_filter);
  // Last, once the request is known to be valid: a refused one is charged nothing.
  const charge = await admitAtCreate(ctx);
  const service = predictionsOf(platform);
  const item = await service
    .create(principal, charge, {
      model: body.model,
      version: ref ?? null,
      task,
      input: input as Record<string, unknown>,
      webhook,
      events,
    })
    .catch(async (e: unknown) => {
      // No row holds the reservation: give its unit back before the error answers.
      await releaseCreateCharge(platform, principal, charge).catch(() => undefined);
      throw e;
    });
  const answer = wait > 0 ? await service.wait(item.owner, item.id, wait * 1000) : item;
  ctx.reply.header('location', `/api/v1/predictions/${item.id}`);
  return predictionView(answer);
}

async function list(ctx: RouteContext) {
  const raw = ctx.query.limit;
  const limit = raw === undefined ? 50 : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    fail('invalid_request', 'limit must be an integer from 1 to 500', { pointer: 'limit' });
  const service = predictionsOf(ctx.platform);
  const owner = ctx.principal.tenantId;
  let before: { createdAt: number; id: string } | undefined;
  if (ctx.query.cursor !== undefined) {
    const at = await service.get(owner, ctx.query.cursor).catch(() =>
      fail('invalid_request', 'cursor must be the id of a prediction from a previous page', {
        pointer: 'cursor',
      }),
    );
    before = { createdAt: at.createdAt, id: at.id };
  }
  const page = await ctx.platform.store.workItems.list('prediction', owner, { limit: limit + 1, before });
  const results = page.slice(0, limit).map((p) => predictionView(p));
  return {
    results,
    next: page.length > limit ? `/api/v1/predictions?cursor=${results.at(-1)?.id}&limit=${limit}` : null,
  };
}

/** SSE: `output` (a token {index, text} of a generation, or the whole output), `logs`, then `done`. */
async function stream(ctx: RouteContext) {
  const service = predictionsOf(ctx.platform);
  const owner = ctx.principal.tenantId;
  const item = await service.get(owner, ctx.params.id);
  const sse = new SseStream(ctx.reply);
  if (isTerminal(item.status)) {
    if (item.status === 'succeeded') sse.send(dataOf(item).output, 'output');
    sse.send(predictionView(item), 'done');
    sse.end();
    return sse.stream;
  }
  const off = service.subscribe(item.id, (e) => {
    // Every event's data is JSON, a log line too ("data: \"running generate…\"").
    sse.send(typeof e.data === 'string' ? JSON.stringify(e.data) : e.data, e.type);
    if (e.type === 'done') {
      off();
      sse.end();
    }
  });
  sse.stream.once('close', off);
  // Finished between the read and the subscription, or running on another process: the row says.
  const poll = setInterval(() => {
    service
      .get(owner, item.id)
      .then((now) => {
        if (!isTerminal(now.status)) return;
        clearInterval(poll);
        off();
        if (sse.open) {
          sse.send(predictionView(now), 'done');
          sse.end();
        }
      })
      // Gone (purged) or the store failing: end the stream rather than reject unhandled.
      .catch(() => {
        clearInterval(poll);
        off();
        if (sse.open) sse.end();
      });
  }, 1000);
  sse.stream.once('close', () => clearInterval(poll));
  return sse.stream;
}

async function file(ctx: RouteContext) {
  const item = await predictionsOf(ctx.platform).get(ctx.principal.tenantId, ctx.params.id);
  const n = Number(ctx.params.n);
  const f = Number.isInteger(n) ? dataOf(item).files[n] : undefined;
  if (!f) fail('not_found', `prediction '${item.id}' has no file ${String(ctx.params.n).slice(0, 10)}`);
  const path = await ctx.platform.outputs.local(f.digest);
  ctx.reply.header('content-type', f.contentType);
  ctx.reply.header('content-length', String(f.bytes));
  return createReadStream(path);
}

const base = { surface: 'native' as const, body: 'none' as const, access: 'infer' as const, owned: 'id' };
const P = '/api/v1/predictions';

export const predictionRoutes: RouteSpec[] = [
  {
    ...base,
    owned: null,
    method: 'POST',
    path: P,
    body: 'json',
    jsonLimit: 'data',
    status: 201,
    summary:
      'Create an asynchronous prediction: {model, version, input, task, webhook, webhook_events_filter}; Prefer: wait[=N] waits up to N s (60)',
    handler: create,
  },
  {
    ...base,
    owned: null,
    method: 'GET',
    path: P,
    summary: 'Your predictions, newest first; cursor, limit',
    handler: list,
  },
  {
    ...base,
    method: 'GET',
    path: `${P}/:id`,
    summary: 'One prediction: status, output, logs, error, metrics',
    handler: async (ctx) =>
      predictionView(await predictionsOf(ctx.platform).get(ctx.principal.tenantId, ctx.params.id)),
  },
  {
    ...base,
    method: 'POST',
    path: `${P}/:id/cancel`,
    summary: 'Cancel a queued or running prediction',
    handler: async (ctx) =>
      predictionView(await predictionsOf(ctx.platform).cancel(ctx.principal.tenantId, ctx.params.id)),
  },
  {
    ...base,
    method: 'GET',
    path: `${P}/:id/stream`,
    summary: 'Server-sent events of a prediction: output (tokens as they come), logs, done',
    handler: stream,
  },
  {
    ...base,
    method: 'GET',
    path: `${P}/:id/files/:n`,
    summary: 'A file of a prediction’s output (an image, a WAV)',
    handler: file,
  },
  {
    ...base,
    method: 'GET',
    path: `${P}/:id/webhooks`,
    summary: 'The webhook delivery log of a prediction: each event, its attempts and their answers',
    handler: async (ctx) => {
      const item = await predictionsOf(ctx.platform).get(ctx.principal.tenantId, ctx.params.id);
      return { deliveries: await ctx.platform.webhooks.deliveries(item.owner, item.id) };
    },
  },
  {
    ...base,
    owned: null,
    method: 'POST',
    path: '/api/v1/webhooks/secret',
    access: 'manage',
    audit: 'webhook.rotate_secret',
    summary:
      'Create or rotate your webhook signing secret (whsec_…), shown only in this answer; the previous one signs too for 24 h',
    handler: async (ctx) => {
      const { secret, rotated } = await ctx.platform.webhooks.rotateSecret(ctx.principal.tenantId);
      return { secret, rotated, previous_valid_for_seconds: rotated ? 86_400 : 0 };
    },
  },
];
