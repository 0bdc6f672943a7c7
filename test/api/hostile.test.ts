import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/api/routes';
import { absurdDimsModel, customDomainModel, externalDataModel, linearModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer, upload } from '../helpers/server';

/** Bodies must never show where things live or how the code runs. */
const LEAK = /\/tmp\/|\/work\/|node_modules|\bat \S+ \(|test-admin-key/;

/** docs/security.md §6: traversal strings as names. */
const traversal = [
  '../x',
  '..%2fetc',
  '%2e%2e/x',
  '..\\x',
  '/etc/passwd',
  'a\0b',
  'x'.repeat(4096),
  '..',
  'UPPER',
  'a/../../b',
];

describe('hostile input', () => {
  let s: TestServer;
  let canary: string;
  beforeAll(async () => {
    s = await testServer({ maxUploadBytes: 64 * 1024, maxJsonBytes: 32 * 1024 });
    canary = join(dirname(s.dataDir), `maas-canary-${process.pid}.txt`);
    await writeFile(canary, 'untouched');
    expect((await upload(s.app, 'lin', linearModel(4, 3).bytes)).statusCode).toBe(201);
  });
  afterAll(async () => {
    expect(await readFile(canary, 'utf8')).toBe('untouched');
    await s.close();
    const { rm } = await import('node:fs/promises');
    await rm(canary, { force: true });
  });

  it('needs a key on every route of the route table except health and the documentation pages', async () => {
    const open = routeTable.filter((r) => r.access === 'public').map((r) => r.path);
    // The pages (/ and the console's files, /docs and its files, /openapi.json) hold no data.
    expect(open.sort()).toEqual([
      '/',
      '/assets/:file',
      '/docs',
      '/docs/:asset',
      '/healthz',
      '/openapi.json',
      '/readyz',
      '/v2/health/live',
      '/v2/health/ready',
    ]);
    for (const r of routeTable.filter((x) => x.access !== 'public')) {
      const url = r.path.replace(/:[a-z_]+/g, 'lin');
      for (const headers of [
        {},
        { authorization: 'Bearer wrong-key-wrong-key' },
        { authorization: 'Basic abc' },
      ]) {
        const res = await s.app.inject({ method: r.method, url, headers });
        expect(res.statusCode, `${r.method} ${url}`).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.body).not.toMatch(LEAK);
      }
    }
  });

  it('refuses traversal names with 400 on every route that takes a name', async () => {
    for (const name of traversal) {
      const n = encodeURIComponent(name);
      const res = [
        await upload(s.app, name, linearModel().bytes),
        await s.app.inject({ url: `/api/v1/models/${n}`, headers: auth }),
        await s.app.inject({ method: 'DELETE', url: `/api/v1/models/${n}`, headers: auth }),
        await s.app.inject({ url: `/v2/models/${n}`, headers: auth }),
        await s.app.inject({ url: `/api/v1/models/lin/versions/${n}`, headers: auth }),
        await s.app.inject({
          method: 'PUT',
          url: `/api/v1/models/lin/aliases/${n}`,
          headers: auth,
          payload: { version: 1 },
        }),
      ];
      for (const r of res) {
        // A bare `..` segment is resolved by URL normalisation before routing: no route, 404.
        expect(r.statusCode, name.slice(0, 20)).toBe(name === '..' && r.statusCode === 404 ? 404 : 400);
        const body = JSON.stringify(
          'body' in r && typeof r.body === 'object' ? r.body : (r as { body: string }).body,
        );
        expect(body).not.toMatch(LEAK);
      }
    }
  });

  it.each([
    ['random bytes', () => Uint8Array.from({ length: 3000 }, (_, i) => (i * 2654435761) % 256), 400],
    [
      'a pickle',
      () => Uint8Array.from(Buffer.from('80049510000000000000007d94288c0161944b01752e', 'hex')),
      400,
    ],
    ['a truncated model', () => linearModel().bytes.subarray(0, 50), 400],
    ['a custom-op domain', customDomainModel, 422],
    ['external data', externalDataModel, 422],
    ['absurd dims', absurdDimsModel, 400],
  ])('refuses %s over HTTP and stays healthy', async (_label, make, status) => {
    const res = await upload(s.app, 'hostile', make());
    expect(res.statusCode).toBe(status);
    expect(res.body).toMatchObject({ status, code: expect.any(String), detail: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(LEAK);
    expect((await s.app.inject({ url: '/api/v1/models/hostile', headers: auth })).statusCode).toBe(404);
    expect((await s.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('stops oversized bodies with 413 (declared length, streamed chunks, JSON)', async () => {
    const big = Buffer.alloc(64 * 1024 + 1, 7);
    const declared = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/big/versions',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      payload: big,
    });
    expect(declared.statusCode).toBe(413);
    const streamed = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/big/versions',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      payload: Readable.from([big.subarray(0, 40_000), big.subarray(40_000)]),
    });
    expect(streamed.statusCode).toBe(413);
    expect(streamed.json().code).toBe('payload_too_large');
    const json = await s.app.inject({
      method: 'POST',
      url: '/v2/models/lin/infer',
      headers: auth,
      payload: {
        inputs: [{ name: 'x', shape: [10000, 4], datatype: 'FP32', data: new Array(40000).fill(1) }],
      },
    });
    expect(json.statusCode).toBe(413);
    expect(Object.keys(json.json())).toEqual(['error']);
    expect((await s.app.inject({ url: '/api/v1/models/big', headers: auth })).statusCode).toBe(404);
  });

  it('reads uploads under any Content-Type by their bytes, refuses forms (415) and unknown options (400)', async () => {
    const text = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/x/versions',
      headers: { ...auth, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(400);
    expect(text.json().code).toBe('invalid_model');
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/x/versions',
      headers: { ...auth, 'content-type': 'multipart/form-data; boundary=b' },
      payload: '--b--\r\n',
    });
    expect(res.statusCode).toBe(415);
    const opt = await upload(s.app, 'x', linearModel().bytes, '?owner=someone-else');
    expect(opt.statusCode).toBe(400);
    const patch = await s.app.inject({
      method: 'PATCH',
      url: '/api/v1/models/lin',
      headers: auth,
      payload: { owner: 'evil', serving: { max_batch_size: 4 } },
    });
    expect(patch.statusCode).toBe(400);
  });

  it('answers unknown routes with 404 in the surface shape', async () => {
    const native = await s.app.inject({ url: '/api/v1/nothing', headers: auth });
    expect(native.statusCode).toBe(404);
    expect(native.headers['content-type']).toContain('application/problem+json');
    const v2 = await s.app.inject({ url: '/v2/nothing', headers: auth });
    expect(Object.keys(v2.json())).toEqual(['error']);
  });
});
