/**
 * How each kind of route reads its body (RouteSpec.body), and the hints sent when a client gets
 * it wrong. Binary routes (uploads) take the raw stream under ANY Content-Type a user would
 * naturally send — `text/csv`, `application/jsonl`, `application/gzip`, `application/zip`, none at
 * all (`curl -T`) … — because the format is decided from the bytes, never from the header. JSON
 * routes parse with the depth and size limits of json-body.ts. Multipart routes stream the form.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fail } from '../common/errors';
import type { JsonShape } from './json-body';
import { readBodyBytes } from './json-stream';
import type { TapeOptions } from './json-tape';
import type { JsonParser } from './json-threads';
import type { RouteSpec } from './route';

/** Content-Types listed in hints and the OpenAPI document for binary routes (all others work too). */
export const BINARY_TYPES = [
  'application/octet-stream',
  'text/csv',
  'text/tab-separated-values',
  'application/jsonl',
  'application/x-ndjson',
  'application/json',
  'text/plain',
  'application/gzip',
  'application/x-tar',
  'application/zip',
] as const;

/** What each route kind wants, as the 415's hint says it. */
export const bodyHints: Record<RouteSpec['body'], string> = {
  json: 'this route takes a JSON body: send Content-Type: application/json',
  binary: `this route takes the file itself as the body, with any of: ${BINARY_TYPES.join(', ')} (the format is read from the bytes)`,
  multipart: 'this route takes a form: send Content-Type: multipart/form-data (curl -F file=@data.jsonl)',
  tensors:
    'this route takes a JSON body (Content-Type: application/json), or a JSON header and binary tensors with the Inference-Header-Content-Length header',
  none: 'this route takes no body',
};

const passThrough = (
  _req: FastifyRequest,
  payload: unknown,
  done: (e: Error | null, body?: unknown) => void,
) => done(null, payload);

/**
 * The root context: JSON (bounded; large bodies parsed off the event loop by `parser`,
 * json-threads.ts), multipart and octet-stream pass through as streams.
 */
export function installBodyParsers(
  app: FastifyInstance,
  shape: JsonShape,
  parser: JsonParser,
  senderOf: (req: FastifyRequest) => string | undefined,
): void {
  app.removeContentTypeParser(['application/json']);
  // Read and depth-checked as the bytes arrive: a bomb is refused before the rest is buffered.
  app.addContentTypeParser('application/json', async (req: FastifyRequest, payload: Readable) =>
    parser.parse(await readBodyBytes(req, payload, shape), shape, {
      depthChecked: true,
      sender: senderOf(req),
      ...(req.routeOptions.config as { jsonRebuild?: TapeOptions }).jsonRebuild,
    }),
  );
  app.addContentTypeParser('application/octet-stream', passThrough);
  app.addContentTypeParser('multipart/form-data', passThrough);
}

/** A child context for binary routes: every Content-Type (and none) is the raw stream. */
export function installBinaryParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', passThrough);
}

/** Streamed bodies go only to the routes that read streams; JSON only to JSON routes. */
export function checkBodyType(spec: RouteSpec, req: FastifyRequest): void {
  const streamed = req.body instanceof Readable;
  const multipart = String(req.headers['content-type'] ?? '').startsWith('multipart/');
  if (spec.body === 'binary' && (!streamed || multipart)) fail('unsupported_media_type', bodyHints.binary);
  if (spec.body === 'multipart' && (!streamed || !multipart))
    fail('unsupported_media_type', bodyHints.multipart);
  if (spec.body === 'json' && streamed) fail('unsupported_media_type', bodyHints.json);
}
