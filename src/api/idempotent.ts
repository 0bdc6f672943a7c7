/**
 * `Idempotency-Key` on creating routes (model versions, keys): the first request with a key runs,
 * a replay gets the first answer (header `idempotent-replayed: true`), the same key with another
 * request → 422. JSON bodies are fingerprinted canonically; an upload's body is a stream that is
 * consumed by the handler, so its fingerprint is the URL (with query), Content-Length and
 * Content-Type — enough to tell a retry from a different upload in practice. A replayed upload's
 * body is drained, not stored.
 */
import type { Readable } from 'node:stream';
import { parseIdempotencyKey, withoutRawKey } from '../platform/tenancy/index';
import type { RouteContext } from './route';

export async function idempotent<T>(ctx: RouteContext, run: () => Promise<T>): Promise<T | unknown> {
  const key = parseIdempotencyKey(ctx.request.headers['idempotency-key']);
  if (key === undefined) return run();
  const h = ctx.request.headers;
  const body =
    ctx.body !== null && typeof ctx.body === 'object' && 'pipe' in ctx.body
      ? `stream:${h['content-length'] ?? ''}:${h['content-type'] ?? ''}`
      : ctx.body;
  const result = await ctx.platform.tenancy.idempotency.run(
    ctx.principal,
    key,
    { method: ctx.request.method, path: ctx.request.url, body },
    async () => {
      const answer = await run();
      const location = ctx.reply.getHeader('location');
      const headers: Record<string, string> = typeof location === 'string' ? { location } : {};
      return {
        status: 201,
        headers,
        body: JSON.parse(JSON.stringify(answer ?? null)) as unknown,
      };
    },
    withoutRawKey,
  );
  if (result.replayed) {
    ctx.reply.header('idempotent-replayed', 'true');
    for (const [k, v] of Object.entries(result.response.headers)) ctx.reply.header(k, v);
    if (typeof body === 'string') (ctx.body as Readable).resume();
  }
  return result.response.body;
}
