import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BINARY_TYPES } from '../../src/api/bodies';
import { jsonLimitOf } from '../../src/api/json-limits';
import type { Surface } from '../../src/api/route';
import { routeTable } from '../../src/api/routes';
import { ADMIN_KEY, auth, type TestServer, testServer } from '../helpers/server';

const MiB = 1024 * 1024;

/** The error's message in each surface's shape (and a check that the shape is the surface's). */
function messageOf(
  surface: Surface,
  res: { headers: Record<string, unknown>; json(): Record<string, unknown> },
) {
  const body = res.json();
  if (surface === 'v2') {
    expect(Object.keys(body)).toEqual(['error']);
    return String(body.error);
  }
  if (surface === 'openai') {
    const e = body.error as Record<string, unknown>;
    expect(Object.keys(e).sort()).toEqual(['code', 'message', 'param', 'type']);
    return String(e.message);
  }
  expect(String(res.headers['content-type'])).toContain('application/problem+json');
  expect(body).toMatchObject({ status: expect.any(Number), code: expect.any(String) });
  return String(body.detail);
}

const urlOf = (path: string) => path.replace(/:[a-z_]+/g, 'x');

describe('hardening: bounded JSON bodies, and fastify errors in the route shape', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer({ maxJsonBytes: 16 * MiB });
  });
  afterAll(async () => {
    await s.close();
  });

  it('a body of nested brackets as large as the route allows (up to 10 MB) gets a 400 in milliseconds on every JSON route of the route table', async () => {
    const jsonRoutes = routeTable.filter((r) => r.body === 'json' || r.body === 'tensors');
    expect(jsonRoutes.length).toBeGreaterThanOrEqual(20);
    for (const r of jsonRoutes) {
      const half = Math.min(5 * MiB, Math.floor((jsonLimitOf(r, s.platform.config)?.bytes ?? 0) / 2));
      const bomb = `${'['.repeat(half)}${']'.repeat(half)}`;
      const t = performance.now();
      const res = await s.app.inject({
        method: r.method,
        url: urlOf(r.path),
        headers: { ...auth, 'content-type': 'application/json' },
        payload: bomb,
      });
      const ms = performance.now() - t;
      expect(res.statusCode, `${r.method} ${r.path}`).toBe(400);
      expect(messageOf(r.surface, res)).toMatch(
        /nests deeper than 64 levels at line 1, column 65 \(limit maxJsonDepth, setting MAAS_MAX_JSON_DEPTH\)/,
      );
      // Sending 10 MB through inject dominates (0.2-0.5 s idle, ≈ 3 s at load 20 on 2 cores); a
      // parse of the bomb took 10-17 s before the depth limit, so 5 s still tells the two apart.
      expect(ms, `${r.method} ${r.path}`).toBeLessThan(5000);
    }
    expect((await s.app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('invalid JSON is a 400 naming line, column and offset, in each surface shape', async () => {
    const cases: [string, string, Surface][] = [
      ['PATCH', '/api/v1/models/x', 'native'],
      ['POST', '/v2/models/x/infer', 'v2'],
      ['POST', '/v1/chat/completions', 'openai'],
    ];
    for (const [method, url, surface] of cases) {
      const res = await s.app.inject({
        method: method as 'POST',
        url,
        headers: { ...auth, 'content-type': 'application/json' },
        payload: '{\n  "a": 1,\n  "b": }',
      });
      expect(res.statusCode, url).toBe(400);
      expect(messageOf(surface, res)).toBe(
        'the body is not valid JSON: line 3, column 8 (offset 19), near "}"',
      );
    }
  });

  it('a JSON body over MAAS_MAX_JSON_BYTES is a 413 that names the setting, in the route shape', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/v2/models/x/infer',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ inputs: 'x'.repeat(17 * MiB) }),
    });
    expect(res.statusCode).toBe(413);
    expect(messageOf('v2', res)).toMatch(/larger than 16777216 bytes .*setting MAAS_MAX_JSON_BYTES/);
  });

  it('each surface has the budget its bodies need: 413s naming MAAS_MAX_TEXT_JSON_BYTES and MAAS_MAX_CONTROL_JSON_BYTES', async () => {
    const cases: [string, string, Surface, number, RegExp][] = [
      // A prompt is at most 100,000 characters: 4 MiB holds it even escaped as \uXXXX.
      [
        'POST',
        '/v1/chat/completions',
        'openai',
        4 * MiB,
        /than 4194304 bytes \(limit maxTextJsonBytes, setting MAAS_MAX_TEXT_JSON_BYTES\)/,
      ],
      ['POST', '/api/v1/models/x/generate', 'native', 4 * MiB, /setting MAAS_MAX_TEXT_JSON_BYTES/],
      // Keys, tenants, settings: a few hundred bytes.
      [
        'POST',
        '/api/v1/keys',
        'native',
        64 * 1024,
        /than 65536 bytes \(limit maxControlJsonBytes, setting MAAS_MAX_CONTROL_JSON_BYTES\)/,
      ],
      ['PATCH', '/api/v1/models/x', 'native', 64 * 1024, /setting MAAS_MAX_CONTROL_JSON_BYTES/],
    ];
    for (const [method, url, surface, limit, message] of cases) {
      const over = JSON.stringify({ input: 'x'.repeat(limit) });
      const res = await s.app.inject({
        method: method as 'POST',
        url,
        headers: { ...auth, 'content-type': 'application/json' },
        payload: over,
      });
      expect(res.statusCode, url).toBe(413);
      expect(messageOf(surface, res), url).toMatch(message);
    }
    // Just under a text route's budget, the body is read and reaches the route's own checks.
    const under = await s.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x'.repeat(MiB) }] }),
    });
    expect(under.statusCode).not.toBe(413);
  });

  it('a body of 200,000 empty objects (600 KB, depth 2) is a 400 naming MAAS_MAX_JSON_CONTAINERS, before JSON.parse', async () => {
    // 32 MiB of `[{},{},…]` held JSON.parse for 42 s at load 20 on 2 cores.
    const res = await s.app.inject({
      method: 'POST',
      url: '/v2/models/x/infer',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: `[${'{},'.repeat(200_000)}{}]`,
    });
    expect(res.statusCode).toBe(400);
    expect(messageOf('v2', res)).toMatch(
      /holds more than 100000 arrays and objects \(at line 1, column \d+; limit maxJsonContainers, setting MAAS_MAX_JSON_CONTAINERS\)/,
    );
    // A real tensor request has a handful: a flat `data` array of 1,000,000 numbers is fine.
    const flat = await s.app.inject({
      method: 'POST',
      url: '/v2/models/x/infer',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({
        inputs: [{ name: 'x', shape: [1000, 1000], datatype: 'FP32', data: new Array(1e6).fill(0) }],
      }),
    });
    expect(flat.statusCode).toBe(404); // no model x: the body was read and parsed
  });

  it('the wrong Content-Type on a JSON route is a 415 saying what to send, in the route shape', async () => {
    for (const [url, surface] of [
      ['/v1/chat/completions', 'openai'],
      ['/v2/models/x/infer', 'v2'],
      ['/api/v1/keys', 'native'],
    ] as const) {
      const res = await s.app.inject({
        method: 'POST',
        url,
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: 'a,b\n1,2\n',
      });
      expect(res.statusCode, url).toBe(415);
      expect(messageOf(surface, res)).toContain('send Content-Type: application/json');
    }
  });

  it('a 10,000-character model name gets the route own 400, with no URL echoed', async () => {
    const name = 'a'.repeat(10_000);
    for (const [url, surface] of [
      [`/api/v1/models/${name}`, 'native'],
      [`/v2/models/${name}/ready`, 'v2'],
    ] as const) {
      const res = await s.app.inject({ url, headers: auth });
      expect(res.statusCode).toBe(400);
      expect(messageOf(surface, res).length).toBeLessThan(300);
      expect(res.body).not.toContain('a'.repeat(300));
    }
  });
});

describe('uploads as users send them (issue 13, item 4)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await s.close();
  });
  const csv = 'x,label\n1,a\n2,b\n3,a\n';

  it('the same CSV under every natural Content-Type, gzipped or not, and none at all → 201, read as CSV', async () => {
    const types: (string | undefined)[] = [
      ...BINARY_TYPES,
      'text/csv; charset=utf-8',
      'application/x-www-form-urlencoded',
      undefined,
    ];
    let i = 0;
    for (const type of types) {
      for (const body of [Buffer.from(csv), gzipSync(csv)]) {
        const res = await s.app.inject({
          method: 'POST',
          url: `/api/v1/datasets?name=ct-${i++}`,
          headers: { ...auth, ...(type ? { 'content-type': type } : {}) },
          payload: body,
        });
        expect(res.statusCode, `${type}: ${res.body}`).toBe(201);
        expect(res.json()).toMatchObject({ format: 'csv', rows: 3 });
      }
    }
  });

  it('a binary route refuses a multipart form with a 415 that lists what to send', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/v1/datasets?name=form',
      headers: { ...auth, 'content-type': 'multipart/form-data; boundary=x' },
      payload: '--x--\r\n',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json().detail).toContain('text/csv, text/tab-separated-values, application/jsonl');
  });

  it('curl -T (PUT, no Content-Type, Expect: 100-continue) and curl --data-binary upload a dataset', async () => {
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    const address = s.app.server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const file = join(s.dataDir, 'iris.csv');
    await writeFile(file, csv);
    const curl = async (...args: string[]) =>
      JSON.parse(
        (await promisify(execFile)('curl', ['-s', '-H', `Authorization: Bearer ${ADMIN_KEY}`, ...args]))
          .stdout,
      );
    expect(await curl('-T', file, `${url}/api/v1/datasets/by-put`)).toMatchObject({
      name: 'by-put',
      format: 'csv',
      rows: 3,
    });
    expect(await curl('-X', 'POST', '-T', file, `${url}/api/v1/datasets?name=by-post`)).toMatchObject({
      rows: 3,
    });
    expect(await curl('--data-binary', `@${file}`, `${url}/api/v1/datasets?name=by-data`)).toMatchObject({
      rows: 3,
    });
  });
});
