/**
 * Rendering errors, once, at the edge. Anything thrown becomes a catalog error: our MaasErrors
 * as they are, fastify's own errors mapped to catalog codes, anything else `internal` with a
 * generic message (the real one goes to the log only). Bodies never carry stacks, paths or keys.
 */
import type { FastifyReply } from 'fastify';
import { type ErrorCode, errorCatalog, isMaasError, MaasError } from '../common/errors';
import type { JsonLimit } from './json-limits';
import { openAIErrorBody } from './openai/errors';
import type { Surface } from './route';

/** Fastify error codes → our catalog. */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
};

/** What the edge knows about the route when fastify itself refused the request. */
export interface ErrorContext {
  /** What to send instead (the route's body kind), for 415s. */
  bodyHint?: string;
  /** The route's JSON body limit, for 413s (json-limits.ts). */
  jsonLimit?: JsonLimit;
}

/** Fastify's own refusals, with a hint of what to send (never the request's bytes echoed). */
function fromFastify(code: ErrorCode, fastifyCode: string, c: ErrorContext): MaasError {
  if (code === 'unsupported_media_type')
    return new MaasError(
      code,
      `unsupported Content-Type: ${c.bodyHint ?? 'see /docs for what this route takes'}`,
    );
  if (code === 'payload_too_large')
    return new MaasError(
      code,
      c.jsonLimit !== undefined
        ? `the body is larger than ${c.jsonLimit.bytes} bytes (limit ${c.jsonLimit.limit}, setting ${c.jsonLimit.setting}); ${c.jsonLimit.hint}`
        : errorCatalog.payload_too_large.title,
    );
  if (fastifyCode === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
    return new MaasError(code, 'Content-Length does not match the body that was sent');
  return new MaasError(code, errorCatalog[code].title);
}

export function toMaasError(e: unknown, context: ErrorContext = {}): MaasError {
  if (isMaasError(e)) return e;
  const err = e as { code?: string; statusCode?: number; message?: string; name?: string };
  const mapped = err.code ? fastifyCodes[err.code] : undefined;
  if (mapped && err.code) return fromFastify(mapped, err.code, context);
  if (err instanceof SyntaxError || err.name === 'SyntaxError') {
    return new MaasError('invalid_request', 'the body is not valid JSON');
  }
  if (err.statusCode === 413) return fromFastify('payload_too_large', '', context);
  if (err.statusCode === 415) return fromFastify('unsupported_media_type', '', context);
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new MaasError('invalid_request', errorCatalog.invalid_request.title);
  }
  return new MaasError('internal', 'internal error');
}

/** Send an error in the route's surface shape. */
export function sendError(reply: FastifyReply, e: MaasError, surface: Surface): FastifyReply {
  if (e.extras.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(e.extras.retryAfterSeconds));
  for (const [k, v] of Object.entries(e.extras.headers ?? {})) reply.header(k, v);
  if (e.code === 'unauthorized') reply.header('www-authenticate', 'Bearer');
  // 499 is nginx's "client closed request": there is no one to read it, but metrics record it.
  reply.code(e.status);
  if (surface === 'v2') return reply.type('application/json').send({ error: e.message });
  if (surface === 'openai') return reply.type('application/json').send(openAIErrorBody(e));
  return reply.type('application/problem+json').send(problemBody(e));
}

/** RFC 9457 problem details (also sent as the `error` event of a native stream). */
export function problemBody(e: MaasError) {
  return {
    type: `https://maas.dev/errors/${e.code}`,
    title: e.title,
    status: e.status,
    code: e.code,
    detail: e.message,
    ...(e.extras.pointer ? { pointer: e.extras.pointer } : {}),
  };
}
