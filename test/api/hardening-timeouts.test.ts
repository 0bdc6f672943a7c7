import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/serve';
import { loadConfig } from '../../src/platform/config';
import { ADMIN_KEY } from '../helpers/server';
import { tempDir } from '../helpers/tmp';

/** Slowloris at 10× speed: a byte every 400 ms (the attack sends one every 4 s). */
const DRIP_MS = 400;

async function start(): Promise<{ server: RunningServer; port: number; remove: () => Promise<void> }> {
  const tmp = await tempDir();
  const config = loadConfig(
    {},
    {},
    {
      dataDir: tmp.dir,
      adminKey: ADMIN_KEY,
      logLevel: 'silent',
      port: 0,
      zoo: 'off',
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1500,
      drainTimeoutMs: 30_000,
    },
  );
  const server = await startServer(config, () => {});
  return { server, port: Number(new URL(server.url).port), remove: tmp.remove };
}

/** A connection that sends `head` then drips `drip` forever; resolves `closed` with what it read when the server cuts it. */
function slowClient(port: number, head: string, drip: string) {
  const socket: Socket = connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d) => {
    received += d.toString();
  });
  socket.on('error', () => {});
  socket.write(head);
  const timer = setInterval(() => socket.writable && socket.write(drip), DRIP_MS);
  const closed = new Promise<string>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve(received);
    }),
  );
  return { socket, closed };
}

const chunkedPost = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;

describe('hardening: slow clients are cut off and never hold shutdown', () => {
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await cleanup?.();
    cleanup = null;
  });

  it('20 connections dripping a chunked body get 408 and are closed within the body timeout; /readyz stays fast', async () => {
    const { server, port, remove } = await start();
    cleanup = async () => {
      await server.stop();
      await remove();
    };
    const t = performance.now();
    const clients = Array.from({ length: 20 }, () => slowClient(port, chunkedPost, '1\r\n[\r\n'));
    const ready = performance.now();
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    // Answered while the 20 drips are still held (they are cut after ≈ 3.5 s), with room for load.
    expect(performance.now() - ready).toBeLessThan(2500);
    const answers = await Promise.all(clients.map((c) => c.closed));
    // headers 1 s + body 1.5 s, checked every second: cut within ≈ 3.5 s (not held for minutes).
    expect(performance.now() - t).toBeLessThan(6000);
    for (const a of answers) expect(a).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a connection dripping its headers is closed after the headers timeout', async () => {
    const { server, port, remove } = await start();
    cleanup = async () => {
      await server.stop();
      await remove();
    };
    const t = performance.now();
    const c = slowClient(port, 'GET /readyz HTTP/1.1\r\nHost: x\r\n', 'X');
    await c.closed;
    expect(performance.now() - t).toBeLessThan(4000);
  });

  it('shutdown does not wait for connections still sending their body', async () => {
    const { server, port, remove } = await start();
    cleanup = remove;
    const clients = Array.from({ length: 20 }, () => slowClient(port, chunkedPost, '1\r\n[\r\n'));
    await new Promise((r) => setTimeout(r, 300));
    const t = performance.now();
    await server.stop();
    // The drain timeout is 30 s; the bodies' timeout 1.5 s: neither is waited for.
    expect(performance.now() - t).toBeLessThan(1400);
    await Promise.all(clients.map((c) => c.closed));
  });
});
