/**
 * The OpenAI-compatible surface `/v1`: each route translates OpenAI's wire format onto the task
 * service (the same core the native /api/v1 task routes use) and renders errors in OpenAI's shape.
 * `model` names a model of the caller's tenant (`name` or `name:version`), another tenant's public
 * model (`owner~name`, as `/v1/models` lists it) or a built-in speech model (`tts`, `tts-1`,
 * `espeak-ng`, `flite`).
 */
import { fail } from '../../common/errors';
import { disconnectSignal } from '../common';
import { audioUnits, metered, speechBound, tokenBound } from '../metered';
import { callableId, parseListScope, sharedModels } from '../model-ref';
import type { RouteContext, RouteSpec } from '../route';
import { chatCompletions, completions } from './completions';
import {
  objectBody,
  optionalInteger,
  optionalNumber,
  optionalString,
  parseSize,
  requiredString,
  targetOf,
} from './parse';

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/**
 * Own models and the built-in speech models, then (unless `?scope=own`) other tenants' public
 * models as `owner~name`, `owned_by` their tenant — the ids a request's `model` accepts.
 */
async function listModels(ctx: RouteContext) {
  const scope = parseListScope(ctx.query.scope);
  const tenant = ctx.principal.tenantId;
  const own = (await ctx.platform.tasks.listModels(tenant)).filter(
    (m) => scope === 'all' || m.kind === 'registered',
  );
  const shared = await sharedModels(ctx.platform.registry, ctx.principal, scope);
  return {
    object: 'list',
    data: [
      ...own.map((m) => modelObject(m.id, m.createdAt, m.kind === 'builtin' ? 'maas' : tenant || 'maas')),
      ...shared.map((m) => modelObject(callableId(m, ctx.principal), m.createdAt, m.owner)),
    ],
  };
}

const modelObject = (id: string, createdAt: string, ownedBy: string) => ({
  id,
  object: 'model' as const,
  created: seconds(createdAt),
  owned_by: ownedBy,
});

async function getModel(ctx: RouteContext) {
  const target = await targetOf(ctx, ctx.params.model);
  const tenant = ctx.principal.tenantId;
  if (target.owner !== tenant) {
    // Another tenant's public model (targetOf has checked that it may be read), as `owner~name`.
    const m = await ctx.platform.registry.modelRecord(target.owner, target.model);
    return modelObject(callableId(m, ctx.principal), m.createdAt, m.owner);
  }
  const found = (await ctx.platform.tasks.listModels(tenant)).find((m) => m.id === target.model);
  if (!found) fail('not_found', `model '${target.model}' not found`, { pointer: 'model' });
  return modelObject(target.model, found.createdAt, found.kind === 'builtin' ? 'maas' : tenant || 'maas');
}

async function embeddings(ctx: RouteContext) {
  const body = objectBody(ctx.body);
  const target = await targetOf(ctx, body.model);
  const format = optionalString(body, 'encoding_format') ?? 'float';
  if (format !== 'float' && format !== 'base64')
    fail('invalid_request', "encoding_format must be 'float' or 'base64'", { pointer: 'encoding_format' });
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  if (!Array.isArray(input) || input.some((t) => typeof t !== 'string'))
    fail('invalid_request', 'input must be a string or a list of strings (token ids are not supported)', {
      pointer: 'input',
    });
  const texts = input as string[];
  const out = await metered(
    ctx,
    target,
    tokenBound(texts),
    () => ctx.platform.tasks.embed(target, texts, disconnectSignal(ctx)),
    (r) => ({ units: r.usage.quantity, version: r.version }),
  );
  const dimensions = optionalInteger(body, 'dimensions');
  if (dimensions !== undefined && dimensions !== out.dimensions)
    fail('invalid_request', `this model's embeddings have ${out.dimensions} dimensions`, {
      pointer: 'dimensions',
    });
  return {
    object: 'list',
    data: out.vectors.map((v, index) => ({
      object: 'embedding',
      index,
      // base64: the float32 values' little-endian bytes, as OpenAI sends them.
      embedding:
        format === 'float'
          ? Array.from(v)
          : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
    })),
    model: body.model,
    usage: { prompt_tokens: out.usage.promptTokens, total_tokens: out.usage.quantity },
    // Not in OpenAI's shape (its clients ignore it): a text with no known word has a zero vector.
    ...(out.warnings.length > 0 ? { warnings: out.warnings } : {}),
  };
}

async function images(ctx: RouteContext) {
  const body = objectBody(ctx.body);
  const target = await targetOf(ctx, body.model);
  const format = optionalString(body, 'response_format') ?? 'b64_json';
  if (format !== 'b64_json')
    fail('invalid_request', "response_format must be 'b64_json' (maas does not host image URLs)", {
      pointer: 'response_format',
    });
  const { width, height } = parseSize(body.size, '256x256');
  const req = {
    prompt: requiredString(body, 'prompt', 32_000),
    n: optionalInteger(body, 'n') ?? 1,
    width,
    height,
    seed: optionalInteger(body, 'seed'),
  };
  const out = await metered(
    ctx,
    target,
    Math.max(1, req.n),
    () => ctx.platform.tasks.imagine(target, req, disconnectSignal(ctx)),
    (r) => ({ units: r.usage.quantity, version: r.version }),
  );
  return {
    created: Math.floor(Date.now() / 1000),
    data: out.images.map((png) => ({ b64_json: Buffer.from(png).toString('base64') })),
    usage: { images: out.usage.quantity },
  };
}

async function speech(ctx: RouteContext) {
  const body = objectBody(ctx.body);
  const target = await targetOf(ctx, body.model);
  const format = optionalString(body, 'response_format') ?? 'wav';
  if (format !== 'wav')
    fail('invalid_request', "response_format must be 'wav'", { pointer: 'response_format' });
  const req = {
    input: requiredString(body, 'input', 100_000),
    voice: optionalString(body, 'voice', 200),
    speed: optionalNumber(body, 'speed'),
  };
  const out = await metered(
    ctx,
    target,
    speechBound(req.input, req.speed),
    () => ctx.platform.tasks.speak(target, req, disconnectSignal(ctx)),
    (r) => ({ units: audioUnits(r.usage.quantity), version: `${r.engine}/${r.voice}` }),
  );
  ctx.reply.header('content-type', 'audio/wav');
  ctx.reply.header('x-maas-audio-seconds', String(out.usage.quantity));
  return out.wav;
}

const base = {
  surface: 'openai' as const,
  access: 'infer' as const,
  owned: null,
  body: 'json' as const,
  jsonLimit: 'text' as const,
};

export const openAIRoutes: RouteSpec[] = [
  {
    ...base,
    body: 'none',
    method: 'GET',
    path: '/v1/models',
    summary:
      "OpenAI: list the models you can call: yours, the built-in speech models, other tenants' public ones as owner~name (owned_by their tenant); ?scope=own yours only",
    handler: listModels,
  },
  {
    ...base,
    body: 'none',
    owned: 'model',
    method: 'GET',
    path: '/v1/models/:model',
    summary: 'OpenAI: one model',
    handler: getModel,
  },
  {
    ...base,
    method: 'POST',
    path: '/v1/chat/completions',
    summary: 'OpenAI: chat completion (stream, stream_options.include_usage, n, seed, stop, max_tokens)',
    handler: chatCompletions,
  },
  {
    ...base,
    method: 'POST',
    path: '/v1/completions',
    summary: 'OpenAI: text completion (stream, n, seed, stop, max_tokens)',
    handler: completions,
  },
  {
    ...base,
    method: 'POST',
    path: '/v1/embeddings',
    summary: 'OpenAI: embeddings (float or base64)',
    handler: embeddings,
  },
  {
    ...base,
    method: 'POST',
    path: '/v1/images/generations',
    summary: 'OpenAI: image generation (b64_json PNG, n, size)',
    handler: images,
  },
  {
    ...base,
    method: 'POST',
    path: '/v1/audio/speech',
    summary: 'OpenAI: text to speech (wav; voice, speed)',
    handler: speech,
  },
];
