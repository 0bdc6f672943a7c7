/**
 * OpenAI's `/v1/batches`: a JSONL file of requests to `/v1/chat/completions`, `/v1/completions` or
 * `/v1/embeddings` (uploaded with `purpose: "batch"`), answered in the background into an output
 * and an error file (service.ts).
 *
 *   POST /v1/batches {"input_file_id": "file-…", "endpoint": "/v1/chat/completions", "completion_window": "24h"}
 *   → {"id": "batch_…", "object": "batch", "status": "validating", "request_counts": {"total": 0, …}, …}
 */
import { fail, isMaasError } from '../../common/errors';
import type { WorkItem } from '../../store/work-ports';
import { listQuery } from '../openai/pages';
import type { RouteContext, RouteSpec } from '../route';
import { BATCH_ENDPOINTS, type BatchEndpoint } from './run';
import { batchData, batchesOf } from './service';

const s = (ms: number | undefined) => (ms === undefined ? null : Math.floor(ms / 1000));

function batchObject(item: WorkItem) {
  const d = batchData(item);
  return {
    id: item.id,
    object: 'batch' as const,
    endpoint: d.endpoint,
    errors: d.errors ? { object: 'list', data: d.errors } : null,
    input_file_id: d.inputFileId,
    completion_window: '24h',
    status: item.status,
    output_file_id: d.outputFileId,
    error_file_id: d.errorFileId,
    created_at: s(item.createdAt),
    in_progress_at: s(d.times.in_progress),
    expires_at: s(item.createdAt + 24 * 3_600_000),
    finalizing_at: s(d.times.finalizing),
    completed_at: s(d.times.completed),
    failed_at: s(d.times.failed),
    expired_at: s(d.times.expired),
    cancelling_at: s(d.times.cancelling),
    cancelled_at: s(d.times.cancelled),
    request_counts: { total: d.total, completed: d.next - d.failed, failed: d.failed },
    metadata: d.metadata,
  };
}

function parseCreate(raw: unknown) {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail('invalid_request', 'the body must be a JSON object');
  const body = raw as Record<string, unknown>;
  for (const k of Object.keys(body))
    if (!['input_file_id', 'endpoint', 'completion_window', 'metadata'].includes(k))
      fail('invalid_request', `unknown property '${k.slice(0, 50)}'`, { pointer: k.slice(0, 50) });
  if (typeof body.input_file_id !== 'string' || body.input_file_id.length === 0)
    fail('invalid_request', 'input_file_id is required', { pointer: 'input_file_id' });
  if (!(BATCH_ENDPOINTS as readonly unknown[]).includes(body.endpoint))
    fail('invalid_request', `endpoint must be one of ${BATCH_ENDPOINTS.join(', ')}`, { pointer: 'endpoint' });
  if (body.completion_window !== '24h')
    fail('invalid_request', "completion_window must be '24h'", { pointer: 'completion_window' });
  const metadata = body.metadata ?? null;
  if (
    metadata !== null &&
    (typeof metadata !== 'object' ||
      Array.isArray(metadata) ||
      Object.keys(metadata).length > 16 ||
      Object.values(metadata).some((v) => typeof v !== 'string' || v.length > 512))
  )
    fail('invalid_request', 'metadata must be an object of at most 16 string values', {
      pointer: 'metadata',
    });
  return {
    inputFileId: body.input_file_id as string,
    endpoint: body.endpoint as BatchEndpoint,
    metadata: metadata as Record<string, string> | null,
  };
}

async function create(ctx: RouteContext) {
  const req = parseCreate(ctx.body);
  const file = await ctx.platform.datasets
    .get(ctx.principal.tenantId, req.inputFileId)
    .catch((e: unknown) => {
      if (isMaasError(e) && e.code === 'not_found') return null;
      throw e;
    });
  // As OpenAI answers an unknown file: 400, the same for another tenant's file as for none.
  if (!file || file.builtin)
    fail('invalid_request', `no such file: '${req.inputFileId.slice(0, 64)}'`, { pointer: 'input_file_id' });
  if (file.format !== 'batch')
    fail('invalid_request', "the input file must be uploaded with purpose 'batch'", {
      pointer: 'input_file_id',
    });
  // A tenant over its rate limit or quota hears it now, not from every line's error; the lines
  // are charged one by one as they run, as requests of the synchronous route.
  ctx.reply.headers(await ctx.platform.tenancy.admission.check(ctx.principal));
  const service = batchesOf(ctx.platform);
  // The loop starts with the first batch (a server that never batches runs no loop).
  service.start();
  return batchObject(await service.create(ctx.principal, req.endpoint, req.inputFileId, req.metadata));
}

/**
 * A page of the stored batches, newest first (they survive a restart): `after` is the last id of
 * the previous page; one row more than asked says whether `has_more`. An unknown `after` (another
 * tenant's, or purged) reads as the end of the list.
 */
async function list(ctx: RouteContext) {
  const q = listQuery(ctx.query, 100);
  const owner = ctx.principal.tenantId;
  const items = ctx.platform.store.workItems;
  const after = q.after === undefined ? null : await items.get('batch', owner, q.after);
  const rows =
    q.after !== undefined && after === null
      ? []
      : await items.list('batch', owner, {
          limit: q.limit + 1,
          before: after ? { createdAt: after.createdAt, id: after.id } : undefined,
        });
  const data = rows.slice(0, q.limit).map(batchObject);
  return {
    object: 'list' as const,
    data,
    has_more: rows.length > q.limit,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  };
}

const base = {
  surface: 'openai' as const,
  body: 'none' as const,
  access: 'infer' as const,
  owned: 'batch_id',
};

export const batchRoutes: RouteSpec[] = [
  {
    ...base,
    owned: null,
    method: 'POST',
    path: '/v1/batches',
    body: 'json',
    summary:
      'OpenAI: run a JSONL file of /v1/chat/completions, /v1/completions or /v1/embeddings requests in the background',
    handler: create,
  },
  {
    ...base,
    owned: null,
    method: 'GET',
    path: '/v1/batches',
    summary: 'OpenAI: your batches, newest first; after, limit',
    handler: list,
  },
  {
    ...base,
    method: 'GET',
    path: '/v1/batches/:batch_id',
    summary: 'OpenAI: one batch, with request_counts and its output and error files',
    handler: async (ctx) =>
      batchObject(await batchesOf(ctx.platform).get(ctx.principal.tenantId, ctx.params.batch_id)),
  },
  {
    ...base,
    method: 'POST',
    path: '/v1/batches/:batch_id/cancel',
    summary: 'OpenAI: cancel a batch (the requests answered so far are kept in its files)',
    handler: async (ctx) => {
      const service = batchesOf(ctx.platform);
      service.start();
      return batchObject(await service.cancel(ctx.principal.tenantId, ctx.params.batch_id));
    },
  },
];
