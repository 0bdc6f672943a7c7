/**
 * Admission and metering on every serving surface (KServe /v2 infer, native task routes, OpenAI /v1), over
 * a real socket against the real platform with the test families' models owned by a tenant:
 * exact 429s under a burst in OpenAI's shape, headers on streams, usage that matches what the
 * responses reported, and quota reservations (prompt + max_tokens) that refuse before running.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer } from '../helpers/server';
import { registerTestFamilies } from '../tasks/fixtures/families';
import { MODELS } from '../tasks/fixtures/server';
import { bearer, INFER_BODY, mintKey } from './platform-fixture';

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

interface UsageRow {
  keyId: string;
  model: string;
  requests: number;
  units: number;
}

describe('admission and metering on task and OpenAI routes', () => {
  let s: TestServer;
  let base: string;
  let ops: string;

  async function post(key: string, path: string, body: unknown): Promise<Answer> {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: await res.text() };
  }

  async function usageOf(keyId: string): Promise<UsageRow[]> {
    const res = await s.app.inject({ url: '/api/v1/usage?group_by=key,model', headers: bearer(ops) });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().usage as UsageRow[]).filter((r) => r.keyId === keyId);
  }

  async function key(limits: Record<string, number> = {}): Promise<{ id: string; key: string }> {
    return mintKey(
      s,
      { name: `k${Math.random().toString(36).slice(2, 8)}`, scopes: ['infer'], limits },
      bearer(ops),
    );
  }

  beforeAll(async () => {
    registerTestFamilies();
    s = await testServer();
    const t = await s.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: auth,
      payload: { name: 'shop' },
    });
    expect(t.statusCode, t.body).toBe(201);
    ops = (await mintKey(s, { tenant: 'shop', name: 'ops', scopes: ['manage'] })).key;
    for (const [name, build] of Object.entries(MODELS)) {
      const built = build();
      const res = await s.app.inject({
        method: 'POST',
        url: `/api/v1/models/${name}/versions?metadata=${encodeURIComponent(JSON.stringify(built.metadata))}`,
        headers: { ...bearer(ops), 'content-type': 'application/octet-stream' },
        payload: Buffer.from(built.onnx),
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const lin = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/lin/versions',
      headers: { ...bearer(ops), 'content-type': 'application/octet-stream' },
      payload: Buffer.from(linearModel(4, 3).bytes),
    });
    expect(lin.statusCode, lin.body).toBe(201);
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await s.close();
  });

  it('/v1/chat/completions: a 5/min key with 8 simultaneous → exactly 5 served, 3 × 429 in OpenAI shape; usage = reported tokens', async () => {
    const k = await key({ requestsPerMinute: 5 });
    const body = {
      model: 'bigram',
      messages: [{ role: 'user', content: 'the cat' }],
      max_tokens: 6,
      seed: 1,
    };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => post(k.key, '/v1/chat/completions', body)),
    );
    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(served).toHaveLength(5);
    expect(refused).toHaveLength(3);
    for (const a of refused) {
      expect(JSON.parse(a.body).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(a.headers.get('x-ratelimit-limit-requests')).toBe('5');
      expect(a.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    }
    const remaining = served.map((a) => Number(a.headers.get('x-ratelimit-remaining-requests'))).sort();
    expect(remaining).toEqual([0, 1, 2, 3, 4]);
    for (const a of served) expect(a.headers.get('ratelimit-policy')).toContain('"key-requests";q=5;w=60');
    const tokens = served.reduce((n, a) => n + JSON.parse(a.body).usage.total_tokens, 0);
    expect(tokens).toBeGreaterThan(5 * 24);
    expect(await usageOf(k.id)).toEqual([
      expect.objectContaining({ model: 'bigram', requests: 5, units: tokens }),
    ]);
  });

  it('a streamed completion carries the rate-limit headers and is billed the usage it reported', async () => {
    const k = await key({ requestsPerMinute: 7 });
    const res = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { ...bearer(k.key), 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'bigram',
        prompt: 'the dog',
        max_tokens: 8,
        seed: 2,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('7');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('6');
    const events = (await res.text())
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => JSON.parse(e.slice(6)));
    const usage = events.at(-1).usage;
    expect(usage.prompt_tokens).toBe(7);
    expect(await usageOf(k.id)).toEqual([
      expect.objectContaining({ model: 'bigram', requests: 1, units: usage.total_tokens }),
    ]);
  });

  it('native task routes are metered in their units: tokens, images, inputs', async () => {
    const k = await key({ requestsPerMinute: 100 });
    const gen = await post(k.key, '/api/v1/models/bigram/generate', {
      prompt: 'a cat',
      max_tokens: 5,
      seed: 3,
    });
    const emb = await post(k.key, '/api/v1/models/bag/embed', { input: ['cat', 'dog'] });
    const img = await post(k.key, '/api/v1/models/cppn/imagine', { prompt: 'x', n: 2, width: 8, height: 8 });
    const cls = await post(k.key, '/v1/embeddings', { model: 'bag', input: 'mat' });
    const vow = await post(k.key, '/api/v1/models/vowels/classify', { inputs: ['aaa', 'zzz', 'e'] });
    for (const a of [gen, emb, img, cls, vow]) {
      expect(a.status, a.body).toBe(200);
      expect(a.headers.get('x-ratelimit-limit-requests')).toBe('100');
    }
    const rows = await usageOf(k.id);
    const row = (model: string) => rows.find((r) => r.model === model);
    expect(row('bigram')).toMatchObject({ requests: 1, units: JSON.parse(gen.body).usage.total_tokens });
    expect(row('bag')).toMatchObject({
      requests: 2,
      units: JSON.parse(emb.body).usage.total_tokens + JSON.parse(cls.body).usage.total_tokens,
    });
    expect(row('cppn')).toMatchObject({ requests: 1, units: 2 });
    expect(row('vowels')).toMatchObject({ requests: 1, units: 3 });
  });

  it('the quota reserves prompt + max_tokens up front: too large a budget is refused unbilled, the rest settles', async () => {
    const k = await key({ monthlyUnits: 30 });
    // "the" is 3 tokens of the character model: 3 + 40 > 30 → refused before running.
    const big = await post(k.key, '/v1/completions', { model: 'bigram', prompt: 'the', max_tokens: 40 });
    expect(big.status).toBe(429);
    expect(JSON.parse(big.body).error).toMatchObject({ type: 'insufficient_quota', code: 'quota_exceeded' });
    const small = await post(k.key, '/v1/completions', { model: 'bigram', prompt: 'the', max_tokens: 10 });
    expect(small.status, small.body).toBe(200);
    const used = JSON.parse(small.body).usage.total_tokens;
    // 13 + 13 reserved ≤ 30: a second budget fits; each is billed what its answer reported.
    const again = await post(k.key, '/v1/completions', { model: 'bigram', prompt: 'the', max_tokens: 10 });
    expect(again.status, again.body).toBe(200);
    expect(await usageOf(k.id)).toEqual([
      expect.objectContaining({ requests: 2, units: used + JSON.parse(again.body).usage.total_tokens }),
    ]);
  });

  it('/v2 infer shares the admission of /v1 and /api/v1: 12 simultaneous calls over the three surfaces on a 6/min key → exactly 6 served, 6 × 429 each in its surface shape; usage = served', async () => {
    const k = await key({ requestsPerMinute: 6 });
    const calls: Array<{ surface: 'v2' | 'native' | 'openai'; run: () => Promise<Answer> }> = [];
    for (let i = 0; i < 4; i++) {
      calls.push({ surface: 'v2', run: () => post(k.key, '/v2/models/lin/infer', INFER_BODY) });
      calls.push({
        surface: 'native',
        run: () => post(k.key, '/api/v1/models/vowels/classify', { inputs: ['aa', 'zz'] }),
      });
      calls.push({
        surface: 'openai',
        run: () => post(k.key, '/v1/embeddings', { model: 'bag', input: 'cat' }),
      });
    }
    const answers = await Promise.all(calls.map(async (c) => ({ surface: c.surface, ...(await c.run()) })));
    const served = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect(served).toHaveLength(6);
    expect(refused).toHaveLength(6);
    // One bucket for the key, whatever the surface: the served ones took its 6 places in turn.
    expect(served.map((a) => Number(a.headers.get('x-ratelimit-remaining-requests'))).sort()).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    const limitHeaders = (h: Headers) =>
      [...h.keys()].filter((n) => n.startsWith('x-ratelimit-') || n.startsWith('ratelimit')).sort();
    const shape = {
      v2: (b: Record<string, unknown>) =>
        expect(b).toEqual({ error: expect.stringMatching(/^rate limit exceeded/) }),
      native: (b: Record<string, unknown>) => expect(b).toMatchObject({ status: 429, code: 'rate_limited' }),
      openai: (b: Record<string, unknown>) =>
        expect(b.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' }),
    };
    for (const a of [...served, ...refused]) {
      expect(limitHeaders(a.headers)).toEqual(limitHeaders(served[0].headers));
      expect(a.headers.get('x-ratelimit-limit-requests')).toBe('6');
      expect(a.headers.get('ratelimit-policy')).toContain('"key-requests";q=6;w=60');
    }
    for (const a of refused) {
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(a.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      shape[a.surface](JSON.parse(a.body));
    }
    const count = (surface: string) => served.filter((a) => a.surface === surface).length;
    const tokens = served
      .filter((a) => a.surface === 'openai')
      .reduce((n, a) => n + JSON.parse(a.body).usage.total_tokens, 0);
    const expected = [
      { model: 'lin', requests: count('v2'), units: count('v2') },
      { model: 'vowels', requests: count('native'), units: 2 * count('native') },
      { model: 'bag', requests: count('openai'), units: tokens },
    ].filter((r) => r.requests > 0);
    const rows = await usageOf(k.id);
    expect(rows).toHaveLength(expected.length);
    for (const r of expected) expect(rows).toContainEqual(expect.objectContaining(r));
  });

  it('/v2 infer: a 4/min key with 7 simultaneous → exactly 4 served, 3 × 429 {"error"}; a monthly quota refuses unbilled', async () => {
    const k = await key({ requestsPerMinute: 4 });
    const answers = await Promise.all(
      Array.from({ length: 7 }, () => post(k.key, '/v2/models/lin/infer', INFER_BODY)),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(4);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(3);
    for (const a of refused) expect(Object.keys(JSON.parse(a.body))).toEqual(['error']);
    expect(await usageOf(k.id)).toEqual([expect.objectContaining({ model: 'lin', requests: 4, units: 4 })]);

    const q = await key({ monthlyUnits: 2 });
    const spent = await Promise.all(
      Array.from({ length: 4 }, () => post(q.key, '/v2/models/lin/versions/1/infer', INFER_BODY)),
    );
    expect(spent.map((a) => a.status).sort()).toEqual([200, 200, 429, 429]);
    for (const a of spent.filter((x) => x.status === 429)) {
      expect(JSON.parse(a.body).error).toMatch(/monthly quota/);
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await usageOf(q.id)).toEqual([expect.objectContaining({ model: 'lin', requests: 2, units: 2 })]);
  });
});
