/**
 * Reading a JSON body off the socket with its limits applied while it arrives: the size against
 * the route's `bodyLimit` (the declared Content-Length first, json-limits.ts), the nesting and the
 * count of arrays and objects through a JsonDepthScanner on every chunk. A depth bomb is refused at its first bracket too many: the rest
 * of it is read off the socket and dropped (never buffered, concatenated or decoded), then the 400
 * goes out, so a client that is still sending gets to read it.
 */
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { JsonDepthScanner, type JsonShape } from './json-body';

/** The error fastify itself raises for a body over the limit (api/errors.ts maps it to a 413 with a hint). */
function tooLarge(): Error {
  return Object.assign(new Error('body too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 });
}

/** fastify's error for a body shorter or longer than its Content-Length (mapped in api/errors.ts). */
function badLength(): Error {
  return Object.assign(new Error('content length mismatch'), {
    code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH',
    statusCode: 400,
  });
}

/** How much of an over-limit body is drained before the 413 (bytes). */
const DRAIN_BYTES = 16 * 1024 * 1024;

/**
 * The whole body under the route's size limit, shape-checked byte by byte when `shape` is given;
 * rejects at the first limit crossed (a declared length over the limit before any byte is looked at).
 */
export function readBodyBytes(req: FastifyRequest, payload: Readable, shape?: JsonShape): Promise<Buffer> {
  const limit = req.routeOptions.bodyLimit ?? Number.POSITIVE_INFINITY;
  // Up to this much of an over-limit body is read and dropped so that the client reads its 413
  // (answering at once closes the socket under a client still sending); beyond it, the socket goes.
  const drainUpTo = Math.max(limit, DRAIN_BYTES);
  if (Number(req.headers['content-length']) > drainUpTo) return Promise.reject(tooLarge());
  const scanner = shape === undefined ? undefined : new JsonDepthScanner(shape);
  const declaredBytes = Number(req.headers['content-length']);
  // A declared length within the limit gets its buffer up front, each chunk copied in as it
  // arrives: one Buffer.concat of a 32 MiB body held the event loop ≈ 200 ms under load.
  const whole =
    declaredBytes > 0 && declaredBytes <= limit ? Buffer.allocUnsafeSlow(declaredBytes) : undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    /** Set once the body is refused: the rest is read and dropped (never kept), then the answer goes. */
    let refused: Error | undefined = Number(req.headers['content-length']) > limit ? tooLarge() : undefined;
    const stop = (err?: Error & { statusCode?: number }) => {
      payload.off('data', onData).off('end', onEnd).off('error', stop);
      if (!err) return;
      // A socket error (the client went away) is the client's: 400, as fastify's own reader says.
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      reject(err);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > drainUpTo) return stop(tooLarge());
      if (received > limit && !refused) {
        refused = tooLarge();
        chunks.length = 0;
      }
      if (refused) return;
      const deep = scanner ? scanner.feed(bytes) : -1;
      if (whole && received <= declaredBytes) bytes.copy(whole, received - bytes.length);
      else chunks.push(bytes);
      if (deep < 0) return;
      try {
        scanner?.refuse((whole ?? Buffer.concat(chunks)).toString('utf8', 0, deep));
      } catch (err) {
        // Answering now would close the socket under a client still sending, which then never
        // reads the answer (curl: "failed sending data"): drain the rest, keeping nothing.
        refused = err as Error;
        chunks.length = 0;
      }
    };
    const onEnd = () => {
      stop();
      const declared = req.headers['content-length'];
      if (refused) reject(refused);
      else if (declared !== undefined && Number(declared) !== received) reject(badLength());
      else resolve(whole ?? Buffer.concat(chunks, received));
    };
    payload.on('data', onData).on('end', onEnd).on('error', stop);
    payload.resume();
  });
}
