/**
 * The native /api/v1 surface: models, versions (upload), aliases. Errors are problem+json.
 * Every handler scopes lookups to `principal.tenant` (another tenant's model only when public, and
 * only to read or call it: see model-ref.ts); names are validated before any use.
 */
import type { Readable } from 'node:stream';
import { fail } from '../common/errors';
import type { UploadOptions } from '../platform/registry/registry';
import type { ServingSettings, VersionRecord } from '../store/ports';
import { idempotent } from './idempotent';
import { authorizedModel, callableId, parseListScope, sharedModels } from './model-ref';
import type { RouteContext, RouteSpec } from './route';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const servingKeys = [
  'max_batch_size',
  'max_delay_ms',
  'max_queue',
  'timeout_ms',
  'max_num_seqs',
  'max_batched_tokens',
] as const;
const servingLimits: Record<(typeof servingKeys)[number], [number, number]> = {
  max_batch_size: [1, 65_536],
  max_num_seqs: [1, 1024],
  max_batched_tokens: [16, 65_536],
  max_delay_ms: [0, 10_000],
  max_queue: [1, 1_000_000],
  timeout_ms: [1, 3_600_000],
};

/** Strict: unknown keys → 400 (no mass assignment), each value an integer in its range. */
export function parseServing(raw: Record<string, unknown>, where: string): ServingSettings {
  const out: ServingSettings = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = k as (typeof servingKeys)[number];
    if (!servingKeys.includes(key)) fail('invalid_request', `${where}: unknown setting '${k.slice(0, 50)}'`);
    const n = typeof v === 'string' ? Number(v) : v;
    const [lo, hi] = servingLimits[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) {
      fail('invalid_request', `${where}.${k} must be an integer in [${lo}, ${hi}]`, {
        pointer: `${where}.${k}`,
      });
    }
    out[key] = n;
  }
  return out;
}

function optionalText(v: unknown, field: string, max = 2000): string | null | undefined {
  if (v === undefined || v === null) return v;
  if (typeof v !== 'string' || v.length > max)
    fail('invalid_request', `${field} must be a string of ≤ ${max} chars`);
  return v;
}

/**
 * Upload options come as query parameters: the body is the raw ONNX file, or an archive of a model
 * folder (`variant` then picks its graph: `q4`, `quantized`, …).
 */
function uploadOptions(query: Record<string, string>): UploadOptions {
  const { task, description, metadata, variant, ...rest } = query;
  const serving = parseServing(rest, 'query');
  let meta: Record<string, unknown> | undefined;
  if (metadata !== undefined) {
    try {
      meta = JSON.parse(metadata);
    } catch {
      fail('invalid_request', 'metadata must be a JSON object');
    }
    if (!isObject(meta)) fail('invalid_request', 'metadata must be a JSON object');
  }
  return {
    task: optionalText(task, 'task', 100),
    description: optionalText(description, 'description'),
    metadata: meta,
    serving,
    variant: optionalText(variant, 'variant', 40) ?? undefined,
  };
}

const owner = (ctx: RouteContext) => ctx.principal.tenantId;
/** The `:name` model, own or (for reads) public `owner~name`; see model-ref.ts. */
const model = (ctx: RouteContext, intent: 'read' | 'manage') =>
  authorizedModel(ctx.platform.registry, ctx.principal, ctx.params.name, intent);

/** Own models, then (scope=all) other tenants' public ones, each with the id to call it by. */
async function listModels(ctx: RouteContext) {
  const scope = parseListScope(ctx.query.scope);
  const own = await ctx.platform.registry.listModels(owner(ctx));
  const shared = await sharedModels(ctx.platform.registry, ctx.principal, scope);
  return { models: [...own, ...shared].map((m) => ({ id: callableId(m, ctx.principal), ...m })) };
}

/**
 * A version as the API shows it: an uploaded ONNX version also carries `trainable` and
 * `missing_ops` (recorded at upload in its metadata) at the top level; older versions have neither.
 */
function versionView(v: VersionRecord) {
  const { trainable, missing_ops } = v.metadata;
  return trainable === undefined ? v : { ...v, trainable, missing_ops };
}

async function upload(ctx: RouteContext) {
  const length = Number(ctx.request.headers['content-length']);
  if (length > ctx.platform.config.maxUploadBytes) {
    fail('payload_too_large', `model files are limited to ${ctx.platform.config.maxUploadBytes} bytes`);
  }
  const ref = await model(ctx, 'manage');
  const options = uploadOptions(ctx.query);
  const body = ctx.body as Readable;
  const version = await ctx.platform.registry.upload(ref.owner, ref.name, body, options);
  ctx.reply.header('location', `/api/v1/models/${version.model}/versions/${version.version}`);
  return versionView(version);
}

function patchBody(body: unknown) {
  if (!isObject(body)) fail('invalid_request', 'the body must be a JSON object');
  for (const k of Object.keys(body)) {
    if (!['task', 'description', 'serving', 'public'].includes(k))
      fail('invalid_request', `unknown property '${k.slice(0, 50)}'`);
  }
  if (body.serving !== undefined && !isObject(body.serving))
    fail('invalid_request', 'serving must be an object');
  if (body.public !== undefined && typeof body.public !== 'boolean')
    fail('invalid_request', 'public must be true or false', { pointer: 'public' });
  return {
    ...(body.public !== undefined ? { public: body.public as boolean } : {}),
    ...(body.task !== undefined ? { task: optionalText(body.task, 'task', 100) } : {}),
    ...(body.description !== undefined ? { description: optionalText(body.description, 'description') } : {}),
    ...(body.serving !== undefined
      ? { serving: parseServing(body.serving as Record<string, unknown>, 'serving') }
      : {}),
  };
}

const base = { surface: 'native' as const, body: 'none' as const, owned: 'name' };
const M = '/api/v1/models/:name';

export const nativeRoutes: RouteSpec[] = [
  {
    ...base,
    owned: null,
    method: 'GET',
    path: '/api/v1/models',
    access: 'infer',
    summary:
      "List models: ?scope=all (default) your models, then other tenants' public ones; ?scope=own yours only. Each has id (what to call it: name, or owner~name for another tenant's) and owner",
    handler: listModels,
  },
  {
    ...base,
    method: 'GET',
    path: M,
    access: 'infer',
    summary: 'A model with its versions and aliases',
    handler: async (ctx) => {
      const ref = await model(ctx, 'read');
      return ctx.platform.registry.getModel(ref.owner, ref.name);
    },
  },
  {
    ...base,
    method: 'PATCH',
    path: M,
    access: 'manage',
    body: 'json',
    summary:
      'Update task, description, public (true: readable and callable by every tenant as owner~name) or serving settings (max_batch_size, max_delay_ms, max_queue, timeout_ms, max_num_seqs, max_batched_tokens)',
    audit: 'model.update',
    handler: async (ctx) => {
      const patch = patchBody(ctx.body);
      const ref = await model(ctx, 'manage');
      return ctx.platform.registry.updateModel(ref.owner, ref.name, patch);
    },
  },
  {
    ...base,
    method: 'DELETE',
    path: M,
    access: 'manage',
    status: 204,
    summary: 'Delete a model, its versions and aliases',
    audit: 'model.delete',
    handler: async (ctx) => {
      const ref = await model(ctx, 'manage');
      await ctx.platform.registry.deleteModel(ref.owner, ref.name);
    },
  },
  {
    ...base,
    method: 'POST',
    path: `${M}/versions`,
    access: 'manage',
    body: 'binary',
    status: 201,
    summary:
      'Upload a new version: the raw ONNX file as the body, under any Content-Type (application/octet-stream, or none as `curl -T` sends) (creates the model)',
    audit: 'model.upload',
    handler: (ctx) => idempotent(ctx, () => upload(ctx)),
  },
  {
    ...base,
    method: 'GET',
    path: `${M}/versions`,
    access: 'infer',
    summary: 'List versions',
    handler: async (ctx) => {
      const ref = await model(ctx, 'read');
      return { versions: (await ctx.platform.registry.getModel(ref.owner, ref.name)).versions };
    },
  },
  {
    ...base,
    method: 'GET',
    path: `${M}/versions/:version`,
    access: 'infer',
    summary:
      'One version (a number or an alias such as latest); uploaded ONNX versions show trainable and missing_ops (ops the engine cannot import for explain and fine-tuning)',
    handler: async (ctx) => {
      const ref = await model(ctx, 'read');
      return versionView(await ctx.platform.registry.resolve(ref.owner, ref.name, ctx.params.version));
    },
  },
  {
    ...base,
    method: 'DELETE',
    path: `${M}/versions/:version`,
    access: 'manage',
    status: 204,
    summary: 'Delete a version (its aliases go with it)',
    audit: 'version.delete',
    handler: async (ctx) => {
      const ref = await model(ctx, 'manage');
      await ctx.platform.registry.deleteVersion(ref.owner, ref.name, ctx.params.version);
    },
  },
  {
    ...base,
    method: 'PUT',
    path: `${M}/aliases/:alias`,
    access: 'manage',
    body: 'json',
    summary: 'Point an alias (e.g. prod) at a version: {"version": 3}',
    audit: 'alias.set',
    handler: async (ctx) => {
      const body = ctx.body;
      if (!isObject(body) || Object.keys(body).some((k) => k !== 'version')) {
        fail('invalid_request', 'the body must be {"version": <number or alias>}');
      }
      const ref = typeof body.version === 'number' ? String(body.version) : body.version;
      if (typeof ref !== 'string') fail('invalid_request', 'version must be a number or an alias');
      const target = await model(ctx, 'manage');
      const version = await ctx.platform.registry.setAlias(target.owner, target.name, ctx.params.alias, ref);
      return { alias: ctx.params.alias, version };
    },
  },
  {
    ...base,
    method: 'DELETE',
    path: `${M}/aliases/:alias`,
    access: 'manage',
    status: 204,
    summary: 'Remove an alias',
    audit: 'alias.delete',
    handler: async (ctx) => {
      const ref = await model(ctx, 'manage');
      await ctx.platform.registry.deleteAlias(ref.owner, ref.name, ctx.params.alias);
    },
  },
];
