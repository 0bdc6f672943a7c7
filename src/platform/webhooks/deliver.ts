/**
 * One webhook POST to a checked address (target.ts), with a deadline for the whole exchange and a
 * cap on the response read (the body is read only to drain the socket, then dropped). Redirects
 * are not followed: a 3xx is a failed attempt.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedTarget } from './target';

/** Bytes of a receiver's answer read before the connection is cut. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface AttemptResult {
  /** The HTTP status, or 0 when none came (timeout, refused connection). */
  status: number;
  ok: boolean;
  /** Why it failed, in words safe to show the tenant. */
  error?: string;
  durationMs: number;
}

export function postWebhook(
  target: ResolvedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptResult> {
  const started = performance.now();
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all)
      callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Omit<AttemptResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: Math.round(performance.now() - started) });
    };
    const req = client.request(
      target.url,
      {
        method: 'POST',
        lookup: pinned,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let read = 0;
        const status = res.statusCode ?? 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        const done = () =>
          finish(
            status >= 200 && status < 300
              ? { status, ok: true }
              : { status, ok: false, error: `the receiver answered ${status}` },
          );
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      finish({ status: 0, ok: false, error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish({ status: 0, ok: false, error: `cannot connect (${e.code ?? 'error'})` }),
    );
    req.end(body);
  });
}
