/**
 * Limits over a real socket against the real platform (SQLite, ORT): exactness under a burst,
 * header values, noisy neighbour, monthly quota, metering that reconciles with what was served,
 * and no raw key in the SQLite files or any response body after the mixed run.
 */
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearModel } from '../helpers/onnx-fixtures';
import { auth } from '../helpers/server';
import { bearer, INFER_BODY, mintKey, type TenantWorld, tenantWorld } from './platform-fixture';

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

describe('limits and metering over HTTP', () => {
  let w: TenantWorld;
  let base: string;
  const bodies: string[] = [];

  async function call(key: string, model: string): Promise<Answer> {
    const res = await fetch(`${base}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      body: JSON.stringify(INFER_BODY),
    });
    const answer = { status: res.status, headers: res.headers, body: await res.text() };
    bodies.push(answer.body);
    return answer;
  }

  beforeAll(async () => {
    w = await tenantWorld({ requestsPerMinute: 1000 });
    await w.s.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(w.s.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await w.s.close();
  });

  it('limit 100, 150 simultaneous → exactly 100 served and 50 × 429, while B is unaffected', async () => {
    const limited = await mintKey(
      w.s,
      { name: 'burst', scopes: ['infer'], limits: { requestsPerMinute: 100 } },
      bearer(w.keyA),
    );
    w.rawKeys.push(limited.key);
    const [burst, neighbour] = await Promise.all([
      Promise.all(Array.from({ length: 150 }, () => call(limited.key, 'priv'))),
      Promise.all(Array.from({ length: 20 }, () => call(w.keyB, 'tenant-a~pub'))),
    ]);
    expect(burst.filter((a) => a.status === 200)).toHaveLength(100);
    const refused = burst.filter((a) => a.status === 429);
    expect(refused).toHaveLength(50);
    expect(neighbour.map((a) => a.status)).toEqual(Array(20).fill(200));
    for (const a of refused) {
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(a.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(a.headers.get('x-ratelimit-limit-requests')).toBe('100');
      expect(a.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(JSON.parse(a.body).error).toMatch(/rate limit/);
    }
    const served = burst.filter((a) => a.status === 200);
    const remaining = served
      .map((a) => Number(a.headers.get('x-ratelimit-remaining-requests')))
      .sort((x, y) => x - y);
    expect(remaining).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (const a of served) {
      expect(a.headers.get('ratelimit-policy')).toContain('"key-requests";q=100;w=60');
      expect(a.headers.get('ratelimit')).toMatch(/"key-requests";r=\d+;t=\d+/);
      expect(a.headers.get('x-ratelimit-reset-requests')).toMatch(/^[0-9.]+(ms|s)$|^1m0s$/);
    }

    const usage = await w.s.app.inject({ url: '/api/v1/usage?group_by=key,model', headers: bearer(w.keyA) });
    expect(usage.statusCode).toBe(200);
    const rows = usage.json().usage as Array<{
      keyId: string;
      model: string;
      requests: number;
      units: number;
    }>;
    expect(rows.find((r) => r.keyId === limited.id)).toMatchObject({
      model: 'priv',
      requests: 100,
      units: 100,
    });
    // B's calls of A's public model are B's usage, not A's.
    expect(rows.some((r) => r.keyId === w.keyBId)).toBe(false);
    const all = await w.s.app.inject({ url: '/api/v1/usage?group_by=tenant,model', headers: auth });
    expect(all.json().usage).toContainEqual(
      expect.objectContaining({ tenantId: 'tenant-b', model: 'tenant-a~pub', requests: 20, units: 20 }),
    );
  });

  it('a monthly quota of 5 units with 8 parallel calls → exactly 5 served, 3 × 429 quota_exceeded', async () => {
    const q = await mintKey(
      w.s,
      { name: 'quota', scopes: ['infer'], limits: { monthlyUnits: 5 } },
      bearer(w.keyA),
    );
    w.rawKeys.push(q.key);
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(q.key, 'priv')));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(3);
    const usage = await w.s.app.inject({ url: '/api/v1/usage?group_by=key', headers: bearer(w.keyA) });
    expect(usage.json().usage.find((r: { keyId: string }) => r.keyId === q.id)).toMatchObject({
      requests: 5,
    });
  });

  it('rejected requests are not billed; a revoked key is refused at once', async () => {
    const k = await mintKey(w.s, { name: 'short', scopes: ['infer'] }, bearer(w.keyA));
    w.rawKeys.push(k.key);
    expect((await call(k.key, 'nope')).status).toBe(404);
    expect((await call(k.key, 'tenant-a~priv')).status).toBe(200);
    const del = await w.s.app.inject({
      method: 'DELETE',
      url: `/api/v1/keys/${k.id}`,
      headers: bearer(w.keyA),
    });
    expect(del.statusCode).toBe(200);
    expect((await call(k.key, 'priv')).status).toBe(401);
    const usage = await w.s.app.inject({ url: '/api/v1/usage?group_by=key', headers: bearer(w.keyA) });
    expect(usage.json().usage.find((r: { keyId: string }) => r.keyId === k.id)).toMatchObject({
      requests: 1,
    });
    const audit = await w.s.app.inject({ url: '/api/v1/audit?action=key.revoke', headers: bearer(w.keyA) });
    expect(audit.json().entries[0]).toMatchObject({ target: `key:${k.id}`, outcome: 'success' });
  });

  it('an admitted request that then fails still carries its rate-limit headers', async () => {
    const k = await mintKey(
      w.s,
      { name: 'hdr', scopes: ['infer'], limits: { requestsPerMinute: 10 } },
      bearer(w.keyA),
    );
    w.rawKeys.push(k.key);
    const res = await fetch(`${base}/v2/models/priv/versions/9/infer`, {
      method: 'POST',
      headers: { ...bearer(k.key), 'content-type': 'application/json' },
      body: JSON.stringify(INFER_BODY),
    });
    bodies.push(await res.text());
    expect(res.status).toBe(404);
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('10');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('9');
  });

  it('Idempotency-Key on key creation: a replay returns the first answer without the raw key', async () => {
    const headers = { ...bearer(w.keyA), 'idempotency-key': 'mint-1' };
    const first = await mintKey(w.s, { name: 'idem', scopes: ['infer'] }, headers);
    w.rawKeys.push(first.key);
    const again = await w.s.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers,
      payload: { name: 'idem', scopes: ['infer'] },
    });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toMatchObject({ id: first.id, key: null });
    const other = await w.s.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers,
      payload: { name: 'other', scopes: ['infer'] },
    });
    expect(other.statusCode).toBe(422);
    bodies.push(again.body, other.body);
  });

  it('Idempotency-Key on uploads: a retried upload is one version, another upload under the key → 422', async () => {
    const bytes = Buffer.from(linearModel(4, 3).bytes);
    const send = (payload: Buffer) =>
      w.s.app.inject({
        method: 'POST',
        url: '/api/v1/models/idem/versions',
        headers: { ...bearer(w.keyA), 'content-type': 'application/octet-stream', 'idempotency-key': 'up-1' },
        payload,
      });
    const first = await send(bytes);
    const again = await send(bytes);
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect((await send(Buffer.concat([bytes, Buffer.from([0])]))).statusCode).toBe(422);
    const versions = await w.s.app.inject({ url: '/api/v1/models/idem/versions', headers: bearer(w.keyA) });
    expect(versions.json().versions).toHaveLength(1);
  });

  it('no raw key in the SQLite files or in any response body after the mixed run', async () => {
    const list = await w.s.app.inject({ url: '/api/v1/keys', headers: auth });
    const audit = await w.s.app.inject({ url: '/api/v1/audit', headers: auth });
    bodies.push(list.body, audit.body);
    expect(list.json().keys.length).toBeGreaterThanOrEqual(w.rawKeys.length);
    const files = await Promise.all(
      ['maas.db', 'maas.db-wal'].map((f) => readFile(join(w.s.dataDir, f)).catch(() => Buffer.alloc(0))),
    );
    const secretOf = (raw: string) => raw.slice(raw.lastIndexOf('_') + 1);
    for (const raw of w.rawKeys) {
      for (const file of files) {
        expect(file.includes(raw)).toBe(false);
        expect(file.includes(secretOf(raw))).toBe(false);
      }
      for (const body of bodies) expect(body.includes(secretOf(raw))).toBe(false);
    }
  });
});
