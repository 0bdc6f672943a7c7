/**
 * Reading OpenAI request bodies: typed field readers that fail with `invalid_request` and a
 * `param` pointer, and the `model` field (`name` or `name:version`, e.g. `bigram:2` or
 * `bigram:prod`). Fields OpenAI defines but maas cannot honour are refused, not ignored;
 * tools, response_format and logprobs are read by features.ts.
 */
import { fail } from '../../common/errors';
import { parseName } from '../../common/names';
import type { GenerationParams } from '../../platform/tasks/generation';
import type { TaskTarget } from '../../platform/tasks/service';
import { authorizedModel } from '../model-ref';
import type { RouteContext } from '../route';

export type Body = Record<string, unknown>;

export function objectBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    fail('invalid_request', 'the body must be a JSON object');
  return body as Body;
}

export function optionalNumber(body: Body, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    fail('invalid_request', `${key} must be a number`, { pointer: key });
  return v;
}

export function optionalInteger(body: Body, key: string): number | undefined {
  const v = optionalNumber(body, key);
  if (v !== undefined && !Number.isInteger(v))
    fail('invalid_request', `${key} must be an integer`, { pointer: key });
  return v;
}

export function optionalBoolean(body: Body, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail('invalid_request', `${key} must be a boolean`, { pointer: key });
  return v;
}

export function optionalString(body: Body, key: string, max = 1000): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > max)
    fail('invalid_request', `${key} must be a string of at most ${max} characters`, { pointer: key });
  return v;
}

export function requiredString(body: Body, key: string, max: number): string {
  return optionalString(body, key, max) ?? fail('invalid_request', `${key} is required`, { pointer: key });
}

/** `model`: a model name, optionally `:version` (a number or an alias). */
export async function targetOf(ctx: RouteContext, raw: unknown): Promise<TaskTarget> {
  if (typeof raw !== 'string' || raw.length === 0)
    fail('invalid_request', 'model is required (a model name, or name:version)', { pointer: 'model' });
  const colon = raw.indexOf(':');
  // `name`, or another tenant's public model as `owner~name`; anything else reads as not found.
  const found = await authorizedModel(
    ctx.platform.registry,
    ctx.principal,
    colon < 0 ? raw : raw.slice(0, colon),
    'read',
  );
  const owner = found.owner;
  const model = found.name;
  const caller = ctx.principal.tenantId;
  if (colon < 0) return { owner, model, caller };
  const ref = raw.slice(colon + 1);
  if (!/^[0-9]{1,9}$/.test(ref)) parseName(ref, 'model');
  return { owner, model, ref, caller };
}

/** Fields with a default meaning; anything else asks for something maas does not do. */
function refuseUnless(body: Body, key: string, ok: (v: unknown) => boolean, why: string): void {
  const v = body[key];
  if (v !== undefined && v !== null && !ok(v)) fail('invalid_request', `${key}: ${why}`, { pointer: key });
}

/** The sampling fields of completions and chat completions. */
export function generationParams(body: Body): Omit<GenerationParams, 'prompt'> {
  refuseUnless(body, 'echo', (v) => v === false, 'echo is not supported');
  refuseUnless(body, 'best_of', (v) => v === 1, 'best_of is not supported');
  refuseUnless(body, 'suffix', () => false, 'suffix (insertion) is not supported');
  refuseUnless(
    body,
    'functions',
    (v) => Array.isArray(v) && v.length === 0,
    'function calls are not supported',
  );
  refuseUnless(
    body,
    'logit_bias',
    (v) => typeof v === 'object' && Object.keys(v as object).length === 0,
    'logit_bias is not supported',
  );
  const stop = body.stop;
  return {
    maxTokens: optionalInteger(body, 'max_completion_tokens') ?? optionalInteger(body, 'max_tokens'),
    temperature: optionalNumber(body, 'temperature'),
    topP: optionalNumber(body, 'top_p'),
    topK: optionalInteger(body, 'top_k'),
    stop:
      stop === undefined || stop === null
        ? undefined
        : typeof stop === 'string'
          ? [stop]
          : (stop as string[]),
    seed: optionalInteger(body, 'seed'),
    n: optionalInteger(body, 'n'),
    presencePenalty: optionalNumber(body, 'presence_penalty'),
    frequencyPenalty: optionalNumber(body, 'frequency_penalty'),
    // Not OpenAI's, but vLLM's and transformers': multiplicative, > 1 discourages repeats.
    repetitionPenalty: optionalNumber(body, 'repetition_penalty'),
    // vLLM's extensions, for benchmarks and fixed-length answers.
    minTokens: optionalInteger(body, 'min_tokens'),
    ignoreEos: optionalBoolean(body, 'ignore_eos'),
  };
}

export function streamOptions(body: Body): { stream: boolean; includeUsage: boolean } {
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean')
    fail('invalid_request', 'stream must be a boolean', { pointer: 'stream' });
  const stream = body.stream === true;
  const opts = body.stream_options;
  if (opts !== undefined && opts !== null && !stream)
    fail('invalid_request', 'stream_options is only allowed with stream: true', {
      pointer: 'stream_options',
    });
  const includeUsage = (opts as { include_usage?: unknown } | null | undefined)?.include_usage === true;
  return { stream, includeUsage };
}

/** `WIDTHxHEIGHT`, e.g. `256x256`. */
export function parseSize(raw: unknown, fallback: string): { width: number; height: number } {
  const s = raw === undefined || raw === null || raw === 'auto' ? fallback : raw;
  const m = typeof s === 'string' ? /^([0-9]{1,5})x([0-9]{1,5})$/.exec(s) : null;
  if (!m) fail('invalid_request', 'size must look like 256x256', { pointer: 'size' });
  return { width: Number(m[1]), height: Number(m[2]) };
}
