/**
 * Shared by the hardening suites: a real listening server, a /readyz prober that runs while an
 * attack is in flight, and small-on-disk bombs built in memory (multi-member gzip: one member of
 * 64 MiB of one byte, ≈ 64 KiB compressed, repeated; gunzip reads the members as one stream).
 */
import { availableParallelism, loadavg } from 'node:os';
import { gzipSync } from 'node:zlib';
import type { ConfigKey } from '../../src/platform/config';
import { ADMIN_KEY, type TestServer, testServer } from '../helpers/server';

export interface Listening extends TestServer {
  url: string;
}

export async function listening(overrides: Partial<Record<ConfigKey, unknown>> = {}): Promise<Listening> {
  const s = await testServer(overrides);
  await s.app.listen({ host: '127.0.0.1', port: 0 });
  const address = s.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  // The first fetch of a process pays for its client's set-up (≈ 300 ms on a busy machine).
  await (await fetch(`${url}/readyz`)).arrayBuffer();
  return { ...s, url };
}

export const bearer = { authorization: `Bearer ${ADMIN_KEY}` };

/** Poll /readyz every `everyMs` until `attack` settles; resolves with the slowest answer (ms). */
export async function slowestReadyz(url: string, attack: Promise<unknown>, everyMs = 50): Promise<number> {
  let done = false;
  void attack.finally(() => {
    done = true;
  });
  let slowest = 0;
  while (!done) {
    const t = performance.now();
    const res = await fetch(`${url}/readyz`);
    await res.arrayBuffer();
    slowest = Math.max(slowest, performance.now() - t);
    if (process.env.DEBUG_READYZ) console.log('readyz', Math.round(performance.now() - t));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return slowest;
}

/**
 * The slowest /readyz allowed during an attack: 200 ms. On a machine whose load is over twice its
 * cores (shared CI), scheduling alone can exceed that, so the bound there is 1 s: a parse on the
 * event loop stalls it for many seconds, which both bounds catch.
 */
export function readyzBoundMs(): number {
  return loadavg()[0] > 2 * availableParallelism() ? 1000 : 200;
}

const MiB = 1024 * 1024;
let member: Uint8Array | null = null;

/**
 * gzip of `prefix` followed by `inflatedMiB` MiB of `x` (no newline): the last field or line of
 * `prefix` grows to that size. 2048 MiB gives a ≈ 2 MB file.
 */
export function gzipBomb(prefix: string, inflatedMiB: number): Buffer {
  member ??= gzipSync(Buffer.alloc(64 * MiB, 'x'), { level: 9 });
  const parts: Uint8Array[] = [gzipSync(prefix)];
  for (let i = 0; i < Math.ceil(inflatedMiB / 64); i++) parts.push(member);
  return Buffer.concat(parts);
}

/** POST bytes over the socket; answers status, JSON body and elapsed ms. */
export async function postBytes(
  url: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; ms: number }> {
  const t = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...bearer, 'content-type': 'application/octet-stream', ...headers },
    body,
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, ms: performance.now() - t };
}
