/**
 * The CLI's node:http fetch against a real socket: what the clients read of an answer (status,
 * headers, text, bytes, a streamed body), the request they send (method, headers, body), and a
 * refused connection shaped like fetch's (`cause` names it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetch } from '../../src/cli/http-fetch';

describe('httpFetch', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: 1\n\n');
        setImmediate(() => res.end('data: 2\n\n'));
        return;
      }
      res.writeHead(req.url === '/missing' ? 404 : 200, 'Custom Reason', {
        'content-type': 'application/json',
        'retry-after': '7',
      });
      res.end(
        JSON.stringify({
          method: req.method,
          auth: req.headers.authorization ?? null,
          type: req.headers['content-type'] ?? null,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends method, headers and a string body; reads status, headers and JSON', async () => {
    const res = await httpFetch(`${url}/echo`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect([res.ok, res.status, res.statusText, res.headers.get('Retry-After')]).toEqual([
      true,
      200,
      'Custom Reason',
      '7',
    ]);
    expect(await res.json()).toEqual({
      method: 'POST',
      auth: 'Bearer k',
      type: 'application/json',
      body: '{"a":1}',
    });
  });

  it('sends bytes and reads an error answer as text', async () => {
    const res = await httpFetch(`${url}/missing`, { method: 'PUT', body: new TextEncoder().encode('xyz') });
    expect([res.ok, res.status]).toEqual([false, 404]);
    expect(JSON.parse(await res.text())).toMatchObject({ method: 'PUT', body: 'xyz' });
  });

  it('streams a body chunk by chunk', async () => {
    const res = await httpFetch(`${url}/stream`, { headers: { accept: 'text/event-stream' } });
    let text = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
      text += Buffer.from(chunk).toString();
    expect(text).toBe('data: 1\n\ndata: 2\n\n');
  });

  it('fails like fetch when nothing listens, with the reason in cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await httpFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(String((err as Error).cause)).toContain('ECONNREFUSED');
  });
});
