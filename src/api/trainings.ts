/**
 * /api/v1/trainings: create (validated at once), list, show, cancel, and the event stream —
 * Server-Sent Events resumable with `Last-Event-ID` (or `?after=`), or JSON for polling.
 */
import { fail } from '../common/errors';
import { jobView } from '../platform/training/service';
import { WEBHOOK_EVENTS } from '../platform/webhooks/service';
import { saveTrainingWebhook } from '../platform/webhooks/trainings';
import type { JobEvent } from '../store/training-ports';
import { TERMINAL_STATUSES } from '../store/training-ports';
import { idempotent } from './idempotent';
import { parseWebhookEvents } from './predictions/routes';
import type { RouteContext, RouteSpec } from './route';

const owner = (ctx: RouteContext) => ctx.principal.tenantId;
const base = { surface: 'native' as const, body: 'none' as const, owned: 'id' };
/** Keep-alive comment interval on an idle stream (ms): proxies drop silent connections. */
const KEEPALIVE_MS = 15_000;

function afterOf(ctx: RouteContext): number {
  const raw = ctx.request.headers['last-event-id'] ?? ctx.query.after ?? '0';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    fail('invalid_request', 'Last-Event-ID / after must be a non-negative integer');
  return n;
}

const isTerminal = (e: JobEvent) =>
  e.type === 'status' && TERMINAL_STATUSES.includes(e.data.status as (typeof TERMINAL_STATUSES)[number]);

/** Write events as SSE until the job ends, the client leaves or the server drains. */
async function stream(ctx: RouteContext, id: string, after: number): Promise<void> {
  const { trainings } = ctx.platform;
  const abort = new AbortController();
  ctx.request.raw.on('close', () => abort.abort());
  ctx.reply.hijack();
  const res = ctx.reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  let last = after;
  let idleSince = Date.now();
  while (!abort.signal.aborted && !ctx.state.draining) {
    const events = await trainings.events(owner(ctx), id, last);
    for (const e of events) {
      res.write(
        `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ ...e.data, at: e.createdAt })}\n\n`,
      );
      last = e.seq;
    }
    if (events.some(isTerminal)) break;
    if (events.length) idleSince = Date.now();
    else if (Date.now() - idleSince > KEEPALIVE_MS) {
      res.write(': keep-alive\n\n');
      idleSince = Date.now();
    }
    await trainings.waitForEvent(id, 1000, abort.signal);
  }
  res.end();
}

/** `webhook` and `webhook_events_filter` of a create, checked as a prediction's; the rest is the job's. */
async function webhookOf(ctx: RouteContext) {
  if (typeof ctx.body !== 'object' || ctx.body === null || Array.isArray(ctx.body))
    return { webhook: null, events: [...WEBHOOK_EVENTS], rest: ctx.body };
  const { webhook: raw, webhook_events_filter: filter, ...rest } = ctx.body as Record<string, unknown>;
  const webhook =
    raw === undefined || raw === null ? null : await ctx.platform.webhooks.checkRequest(owner(ctx), raw);
  return { webhook, events: parseWebhookEvents(filter), rest };
}

export const trainingRoutes: RouteSpec[] = [
  {
    ...base,
    owned: null,
    method: 'POST',
    path: '/api/v1/trainings',
    access: 'manage',
    body: 'json',
    status: 201,
    audit: 'training.create',
    summary: 'Start a training: {family, dataset, model, target?, hyperparameters?}',
    // A retried create (same Idempotency-Key and body) is the same job, never a second one.
    handler: (ctx) =>
      idempotent(ctx, async () => {
        const { webhook, events, rest } = await webhookOf(ctx);
        const job = await ctx.platform.trainings.create(owner(ctx), rest, async (created) => {
          if (webhook)
            await saveTrainingWebhook(ctx.platform.store.workItems, created.owner, created.id, {
              url: webhook,
              events,
            });
        });
        ctx.reply.header('location', `/api/v1/trainings/${job.id}`);
        return { ...jobView(job), webhook, webhook_events_filter: events };
      }),
  },
  {
    ...base,
    owned: null,
    method: 'GET',
    path: '/api/v1/trainings',
    access: 'infer',
    summary: 'List trainings, newest first',
    handler: async (ctx) => ({ trainings: (await ctx.platform.trainings.list(owner(ctx))).map(jobView) }),
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/trainings/:id',
    access: 'infer',
    summary: 'One training: status, progress (last checkpoint), result',
    handler: async (ctx) => jobView(await ctx.platform.trainings.get(owner(ctx), ctx.params.id)),
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/trainings/:id/webhooks',
    access: 'infer',
    summary: 'The webhook delivery log of a training: each event, its attempts and their answers',
    handler: async (ctx) => {
      const job = await ctx.platform.trainings.get(owner(ctx), ctx.params.id);
      return { deliveries: await ctx.platform.webhooks.deliveries(job.owner, job.id) };
    },
  },
  {
    ...base,
    method: 'POST',
    path: '/api/v1/trainings/:id/cancel',
    access: 'manage',
    audit: 'training.cancel',
    summary: 'Cancel a queued or running training (the trainer stops at once)',
    handler: async (ctx) => jobView(await ctx.platform.trainings.cancel(owner(ctx), ctx.params.id)),
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/trainings/:id/events',
    access: 'infer',
    summary:
      'Events (progress, epoch, checkpoint, status): SSE with Accept: text/event-stream (resume with Last-Event-ID), else JSON after ?after=',
    handler: async (ctx) => {
      const job = await ctx.platform.trainings.get(owner(ctx), ctx.params.id);
      const after = afterOf(ctx);
      if (String(ctx.request.headers.accept ?? '').includes('text/event-stream')) {
        await stream(ctx, job.id, after);
        return undefined;
      }
      return { events: await ctx.platform.trainings.events(owner(ctx), job.id, after) };
    },
  },
];
