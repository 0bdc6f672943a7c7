/**
 * Native task endpoints under /api/v1/models/{name}: generate (JSON, or SSE with `stream: true`),
 * embed, imagine (PNG as base64), speak (WAV), classify. They call the same task service as the
 * OpenAI surface. Bodies are strict: an unknown property is a 400. `version` picks a version
 * number or alias (default latest).
 *
 *   POST /api/v1/models/bigram/generate {"prompt": "the ", "max_tokens": 20, "seed": 1}
 *   → {"model": "bigram", "version": 1, "choices": [{"index": 0, "text": "...", "finish_reason": "length"}],
 *      "usage": {"prompt_tokens": 4, "completion_tokens": 20, "total_tokens": 24}}
 */
import { fail } from '../common/errors';
import type { TokenUsage } from '../models/common/metering';
import { compileSchema } from '../models/language/constrain/schema';
import type { JsonFormat } from '../models/task';
import type { TaskTarget } from '../platform/tasks/service';
import { disconnectSignal } from './common';
import { problemBody, toMaasError } from './errors';
import { admitServing, audioUnits, metered, speechBound, tokenBound } from './metered';
import { authorizedModel } from './model-ref';
import { optionalBoolean } from './openai/parse';
import { SseStream } from './openai/sse';
import type { RouteContext, RouteSpec } from './route';

type Body = Record<string, unknown>;

function strictBody(raw: unknown, allowed: readonly string[]): Body {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    fail('invalid_request', 'the body must be a JSON object');
  for (const k of Object.keys(raw)) {
    if (!allowed.includes(k))
      fail('invalid_request', `unknown property '${k.slice(0, 50)}'; allowed: ${allowed.join(', ')}`, {
        pointer: k,
      });
  }
  return raw as Body;
}

function num(body: Body, key: string, integer = false): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)))
    fail('invalid_request', `${key} must be ${integer ? 'an integer' : 'a number'}`, { pointer: key });
  return v;
}

function str(body: Body, key: string, max: number, required = false): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) fail('invalid_request', `${key} is required`, { pointer: key });
    return undefined;
  }
  if (typeof v !== 'string' || v.length > max)
    fail('invalid_request', `${key} must be a string of at most ${max} characters`, { pointer: key });
  return v;
}

async function target(ctx: RouteContext, body: Body): Promise<TaskTarget> {
  const version = body.version;
  if (version !== undefined && typeof version !== 'number' && typeof version !== 'string')
    fail('invalid_request', 'version must be a number or an alias', { pointer: 'version' });
  // `name`, or another tenant's public model as `owner~name`; anything else reads as not found.
  const found = await authorizedModel(ctx.platform.registry, ctx.principal, ctx.params.name, 'read');
  return {
    owner: found.owner,
    model: found.name,
    caller: ctx.principal.tenantId,
    ref: version === undefined ? undefined : String(version),
  };
}

const usage = (u: TokenUsage) => ({
  prompt_tokens: u.promptTokens,
  completion_tokens: u.completionTokens,
  total_tokens: u.quantity,
});

const GENERATE_KEYS = [
  'prompt',
  'max_tokens',
  'temperature',
  'top_p',
  'top_k',
  'stop',
  'seed',
  'n',
  'stream',
  'version',
  'format',
  'presence_penalty',
  'frequency_penalty',
  'repetition_penalty',
  'min_tokens',
  'ignore_eos',
];

/** `format`: "json" (any JSON object) or a JSON Schema the output must follow, as Ollama takes it. */
function nativeFormat(raw: unknown): JsonFormat | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === 'json') return { root: compileSchema({ type: 'object' }, 'format'), key: 'json_object' };
  if (typeof raw !== 'object' || Array.isArray(raw))
    fail('invalid_request', 'format must be "json" or a JSON Schema object', { pointer: 'format' });
  return { root: compileSchema(raw, 'format'), key: JSON.stringify(raw) };
}

async function generate(ctx: RouteContext) {
  const body = strictBody(ctx.body, GENERATE_KEYS);
  const stop = body.stop;
  const model = await target(ctx, body);
  const job = await ctx.platform.tasks.generation(model, {
    prompt: str(body, 'prompt', 1_000_000, true) as string,
    maxTokens: num(body, 'max_tokens', true),
    temperature: num(body, 'temperature'),
    topP: num(body, 'top_p'),
    topK: num(body, 'top_k', true),
    stop:
      stop === undefined || stop === null
        ? undefined
        : typeof stop === 'string'
          ? [stop]
          : (stop as string[]),
    seed: num(body, 'seed', true),
    n: num(body, 'n', true),
    json: nativeFormat(body.format),
    presencePenalty: num(body, 'presence_penalty'),
    frequencyPenalty: num(body, 'frequency_penalty'),
    repetitionPenalty: num(body, 'repetition_penalty'),
    minTokens: num(body, 'min_tokens', true),
    ignoreEos: optionalBoolean(body, 'ignore_eos'),
  });
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    fail('invalid_request', 'stream must be a boolean', { pointer: 'stream' });
  const signal = disconnectSignal(ctx);
  // Reserve the most this can cost: the prompt plus every choice's token budget.
  const charge = await admitServing(ctx, model, job.promptTokens + job.n * job.maxTokens);
  if (body.stream !== true) {
    const out = await job.run(undefined, signal).catch(async (e: unknown) => {
      await charge.failed(e, job.version);
      throw e;
    });
    await charge.done(out.usage.quantity, job.version);
    return {
      model: job.model,
      version: job.version,
      choices: out.choices.map((c, index) => ({ index, text: c.text, finish_reason: c.finishReason })),
      usage: usage(out.usage),
    };
  }
  // SSE: `delta` events {index, text}; then one `done` {choices, usage} or one `error` (problem+json).
  const sse = new SseStream(ctx.reply);
  job
    .run((index, text) => {
      if (text) sse.send({ index, text }, 'delta');
    }, signal)
    .then(async (out) => {
      await charge.done(out.usage.quantity, job.version);
      const choices = out.choices.map((c, index) => ({ index, finish_reason: c.finishReason }));
      sse.send({ model: job.model, version: job.version, choices, usage: usage(out.usage) }, 'done');
      sse.end();
    })
    .catch(async (e: unknown) => {
      await charge.failed(e, job.version).catch(() => undefined);
      sse.send(problemBody(toMaasError(e)), 'error');
      sse.end();
    });
  return sse.stream;
}

async function embed(ctx: RouteContext) {
  const body = strictBody(ctx.body, ['input', 'version']);
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  if (!Array.isArray(input))
    fail('invalid_request', 'input must be a string or a list of strings', { pointer: 'input' });
  const model = await target(ctx, body);
  const texts = input as string[];
  const out = await metered(
    ctx,
    model,
    tokenBound(texts.filter((t) => typeof t === 'string')),
    () => ctx.platform.tasks.embed(model, texts, disconnectSignal(ctx)),
    (r) => ({ units: r.usage.quantity, version: r.version }),
  );
  return {
    model: out.model,
    version: out.version,
    dimensions: out.dimensions,
    embeddings: out.vectors.map((v) => Array.from(v)),
    usage: usage(out.usage),
    ...(out.warnings.length > 0 ? { warnings: out.warnings } : {}),
  };
}

async function imagine(ctx: RouteContext) {
  const body = strictBody(ctx.body, ['prompt', 'n', 'width', 'height', 'seed', 'style', 'version']);
  const style = body.style;
  if (style !== undefined && (typeof style !== 'object' || style === null || Array.isArray(style)))
    fail('invalid_request', 'style must be an object', { pointer: 'style' });
  const model = await target(ctx, body);
  const req = {
    prompt: str(body, 'prompt', 32_000) ?? '',
    n: num(body, 'n', true) ?? 1,
    width: num(body, 'width', true) ?? 256,
    height: num(body, 'height', true) ?? 256,
    seed: num(body, 'seed', true),
    style: style as Record<string, unknown> | undefined,
  };
  const out = await metered(
    ctx,
    model,
    Math.max(1, req.n),
    () => ctx.platform.tasks.imagine(model, req, disconnectSignal(ctx)),
    (r) => ({ units: r.usage.quantity, version: r.version }),
  );
  return {
    model: out.model,
    version: out.version,
    images: out.images.map((png) => ({ png_base64: Buffer.from(png).toString('base64') })),
    usage: { images: out.usage.quantity, pixels: out.usage.pixels },
  };
}

async function speak(ctx: RouteContext) {
  const body = strictBody(ctx.body, ['input', 'voice', 'speed']);
  const model = await target(ctx, body);
  const req = {
    input: str(body, 'input', 100_000, true) as string,
    voice: str(body, 'voice', 200),
    speed: num(body, 'speed'),
  };
  const out = await metered(
    ctx,
    model,
    speechBound(req.input, req.speed),
    () => ctx.platform.tasks.speak(model, req, disconnectSignal(ctx)),
    (r) => ({ units: audioUnits(r.usage.quantity), version: `${r.engine}/${r.voice}` }),
  );
  ctx.reply.header('content-type', 'audio/wav');
  ctx.reply.header('x-maas-audio-seconds', String(out.usage.quantity));
  ctx.reply.header('x-maas-voice', `${out.engine}/${out.voice}`);
  return out.wav;
}

async function classify(ctx: RouteContext) {
  const body = strictBody(ctx.body, ['inputs', 'version']);
  if (!Array.isArray(body.inputs)) fail('invalid_request', 'inputs must be a list', { pointer: 'inputs' });
  const model = await target(ctx, body);
  const inputs = body.inputs;
  return metered(
    ctx,
    model,
    inputs.length,
    () => ctx.platform.tasks.classify(model, inputs, disconnectSignal(ctx)),
    (r) => ({ units: inputs.length, version: r.version }),
  );
}

const base = {
  surface: 'native' as const,
  access: 'infer' as const,
  owned: 'name',
  body: 'json' as const,
  jsonLimit: 'text' as const,
};
const M = '/api/v1/models/:name';

export const taskRoutes: RouteSpec[] = [
  {
    ...base,
    owned: null,
    body: 'none',
    method: 'GET',
    path: '/api/v1/speech/voices',
    summary: 'Speech engines (installed or not, with how to install) and the voices of installed ones',
    handler: async (ctx) => ({
      models: ctx.platform.tasks.speechModels.list(),
      engines: await ctx.platform.tasks.speech.status(),
      voices: await ctx.platform.tasks.speech.voices(),
    }),
  },
  {
    ...base,
    method: 'POST',
    path: `${M}/generate`,
    summary:
      'Generate text: {prompt, max_tokens, temperature, top_p, top_k, stop, seed, n, stream, presence_penalty, frequency_penalty, repetition_penalty, min_tokens, ignore_eos}',
    handler: generate,
  },
  { ...base, method: 'POST', path: `${M}/embed`, summary: 'Embed texts: {input}', handler: embed },
  {
    ...base,
    method: 'POST',
    path: `${M}/imagine`,
    summary: 'Generate PNG images: {prompt, n, width, height, seed, style}',
    handler: imagine,
  },
  {
    ...base,
    method: 'POST',
    path: `${M}/speak`,
    summary: 'Text to speech (WAV) with a speech model such as tts: {input, voice, speed}',
    handler: speak,
  },
  {
    ...base,
    jsonLimit: 'data',
    method: 'POST',
    path: `${M}/classify`,
    summary: 'Classify inputs: {inputs}',
    handler: classify,
  },
];
