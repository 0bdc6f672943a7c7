/**
 * Route-table-generated checks (SECURITY.md 1–3, 5, 6): every owned route with another tenant's
 * key → 404 with nothing of the owner's in the body; every non-public route × no key / a bad key →
 * 401; scopes; unknown body properties; a traversal corpus on every name and id field.
 * A new owned route fails the first test until it gets a sample request below.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/api/routes';
import { linearModel } from '../helpers/onnx-fixtures';
import { auth } from '../helpers/server';
import { bearer, INFER_BODY, type TenantWorld, tenantWorld } from './platform-fixture';

interface Sample {
  url: (w: TenantWorld) => string;
  payload?: unknown;
  contentType?: string;
}

const model = linearModel(4, 3).bytes;
/** One request per owned route, aimed at tenant A's objects. Keyed by `METHOD path`. */
const ownedSamples: Record<string, Sample> = {
  'GET /v2/models/:name': { url: () => '/v2/models/priv' },
  'GET /v2/models/:name/ready': { url: () => '/v2/models/priv/ready' },
  'POST /v2/models/:name/infer': { url: () => '/v2/models/priv/infer', payload: INFER_BODY },
  'GET /v2/models/:name/versions/:version': { url: () => '/v2/models/priv/versions/1' },
  'GET /v2/models/:name/versions/:version/ready': { url: () => '/v2/models/priv/versions/1/ready' },
  'POST /v2/models/:name/versions/:version/infer': {
    url: () => '/v2/models/priv/versions/1/infer',
    payload: INFER_BODY,
  },
  'GET /api/v1/models/:name': { url: () => '/api/v1/models/priv' },
  'PATCH /api/v1/models/:name': { url: () => '/api/v1/models/priv', payload: { public: true } },
  'DELETE /api/v1/models/:name': { url: () => '/api/v1/models/priv' },
  'POST /api/v1/models/:name/versions': {
    url: () => '/api/v1/models/tenant-a~priv/versions',
    payload: Buffer.from(model),
    contentType: 'application/octet-stream',
  },
  'GET /api/v1/models/:name/versions': { url: () => '/api/v1/models/priv/versions' },
  'GET /api/v1/models/:name/versions/:version': { url: () => '/api/v1/models/priv/versions/1' },
  'DELETE /api/v1/models/:name/versions/:version': { url: () => '/api/v1/models/priv/versions/1' },
  'PUT /api/v1/models/:name/aliases/:alias': {
    url: () => '/api/v1/models/priv/aliases/prod',
    payload: { version: 1 },
  },
  'DELETE /api/v1/models/:name/aliases/:alias': { url: () => '/api/v1/models/priv/aliases/prod' },
  'DELETE /api/v1/keys/:id': { url: (w) => `/api/v1/keys/${w.keyAId}` },
};

const routeKey = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
const fill = (path: string) => path.replace(/:([a-z_]+)/g, (_, p) => (p === 'version' ? '1' : `x${p}`));

describe('tenancy over the route table', () => {
  let w: TenantWorld;
  beforeAll(async () => {
    w = await tenantWorld();
  });
  afterAll(async () => {
    await w.s.close();
  });

  it('every owned route has a sample request (a new owned route must join the matrix)', () => {
    const owned = routeTable.filter((r) => r.owned !== null).map(routeKey);
    expect(owned.filter((k) => !(k in ownedSamples))).toEqual([]);
    expect(Object.keys(ownedSamples).filter((k) => !owned.includes(k))).toEqual([]);
  });

  it("another tenant's key on every owned route → 404 with nothing of the owner's in the body", async () => {
    for (const r of routeTable.filter((x) => x.owned !== null)) {
      const sample = ownedSamples[routeKey(r)];
      const res = await w.s.app.inject({
        method: r.method,
        url: sample.url(w),
        headers: { ...bearer(w.keyB), ...(sample.contentType ? { 'content-type': sample.contentType } : {}) },
        ...(sample.payload !== undefined ? { payload: sample.payload as string } : {}),
      });
      expect(res.statusCode, `${routeKey(r)}: ${res.body}`).toBe(404);
      for (const secret of ['tenant-a', w.keyAId, w.digestA.slice(7), 'a-ops']) {
        if (!sample.url(w).includes(secret)) expect(res.body, routeKey(r)).not.toContain(secret);
      }
    }
    // Nothing changed: A still has both versions' model, its alias and its key.
    const mine = await w.s.app.inject({ url: '/api/v1/models/priv', headers: bearer(w.keyA) });
    expect(mine.json()).toMatchObject({ name: 'priv', public: false, aliases: { latest: 1, prod: 1 } });
    const keys = await w.s.app.inject({ url: '/api/v1/keys', headers: bearer(w.keyA) });
    expect(keys.json().keys.find((k: { id: string }) => k.id === w.keyAId).revokedAt).toBeNull();
  });

  it('every management route is audited; the denied cross-tenant attempts are on record', async () => {
    const selfAudited = ['/api/v1/keys', '/api/v1/tenants'];
    const mutating = routeTable.filter(
      (r) => r.method !== 'GET' && (r.access === 'manage' || r.access === 'admin'),
    );
    const unaudited = mutating.filter(
      (r) => r.audit === undefined && !selfAudited.some((p) => r.path.startsWith(p)),
    );
    expect(unaudited.map(routeKey)).toEqual([]);
    const res = await w.s.app.inject({ url: '/api/v1/audit?action=model.delete', headers: auth });
    expect(res.json().entries).toContainEqual(
      expect.objectContaining({
        actorKeyId: w.keyBId,
        target: 'model:priv',
        outcome: 'denied',
        detail: 'not_found',
      }),
    );
    const mine = await w.s.app.inject({ url: '/api/v1/audit', headers: bearer(w.keyB) });
    for (const e of mine.json().entries) expect([e.actorTenantId, e.targetTenantId]).toContain('tenant-b');
  });

  it('every non-public route × no key, a malformed key, an unknown key → 401', async () => {
    const fake = `maas_AAAAAAAAAA_${'B'.repeat(32)}`;
    for (const r of routeTable.filter((x) => x.access !== 'public')) {
      for (const headers of [{}, { authorization: 'Basic abc' }, bearer('nope'), bearer(fake)]) {
        const res = await w.s.app.inject({ method: r.method, url: fill(r.path), headers });
        expect(res.statusCode, `${routeKey(r)} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.body).not.toContain(fake);
      }
    }
  });

  it('scopes: infer-only keys cannot manage, manage keys cannot administer, keys cannot widen', async () => {
    for (const r of routeTable.filter((x) => x.access === 'manage' || x.access === 'admin')) {
      const res = await w.s.app.inject({ method: r.method, url: fill(r.path), headers: bearer(w.inferA) });
      expect(res.statusCode, routeKey(r)).toBe(403);
    }
    for (const r of routeTable.filter((x) => x.access === 'admin')) {
      const res = await w.s.app.inject({ method: r.method, url: fill(r.path), headers: bearer(w.keyA) });
      expect(res.statusCode, routeKey(r)).toBe(403);
    }
    const wider = await w.s.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: bearer(w.keyA),
      payload: { name: 'x', scopes: ['admin'] },
    });
    expect(wider.statusCode).toBe(403);
    const elsewhere = await w.s.app.inject({
      method: 'POST',
      url: '/api/v1/keys',
      headers: bearer(w.keyA),
      payload: { tenant: 'tenant-b', name: 'x', scopes: ['infer'] },
    });
    expect(elsewhere.statusCode).toBe(404);
  });

  it('public models: readable and callable by others as owner~name, private ones are not', async () => {
    const call = (url: string) =>
      w.s.app.inject({ method: 'POST', url, headers: bearer(w.keyB), payload: INFER_BODY });
    const pub = await call('/v2/models/tenant-a~pub/infer');
    expect(pub.statusCode, pub.body).toBe(200);
    expect((await call('/v2/models/tenant-a%2Fpub/infer')).statusCode).toBe(200);
    expect((await call('/v2/models/tenant-a~priv/infer')).statusCode).toBe(404);
    const meta = await w.s.app.inject({ url: '/api/v1/models/tenant-a~pub', headers: bearer(w.keyB) });
    expect(meta.json()).toMatchObject({ owner: 'tenant-a', name: 'pub', public: true });
    const patch = await w.s.app.inject({
      method: 'PATCH',
      url: '/api/v1/models/tenant-a~pub',
      headers: bearer(w.keyB),
      payload: { public: false },
    });
    expect(patch.statusCode).toBe(404);
  });

  it('unknown body properties → 400 on every JSON create/patch', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/api/v1/tenants', { name: 'x1', role: 'admin' }, ADMIN],
      ['POST', '/api/v1/keys', { name: 'x', scopes: ['infer'], tenantId: 'tenant-b' }, 'A'],
      ['POST', '/api/v1/keys', { name: 'x', scopes: ['infer'], limits: { burst: 9 } }, 'A'],
      ['PATCH', '/api/v1/models/priv', { owner: 'tenant-b' }, 'A'],
    ];
    for (const [method, url, payload, who] of cases) {
      const headers = who === ADMIN ? auth : bearer(w.keyA);
      const res = await w.s.app.inject({
        method: method as 'POST',
        url,
        headers,
        payload: payload as object,
      });
      expect(res.statusCode, `${url} ${res.body}`).toBe(400);
    }
  });

  it('traversal corpus on every name and id field → 400, never 5xx', async () => {
    const corpus = ['../x', '..%2fx', '%2e%2e%2fx', '..\\x', '/etc/passwd', 'a%00b', 'x'.repeat(4096), 'A'];
    for (const bad of corpus) {
      const enc = bad.includes('%') ? bad : encodeURIComponent(bad);
      const reqs = [
        { method: 'GET', url: `/api/v1/models/${enc}` },
        { method: 'POST', url: `/v2/models/${enc}/infer`, payload: INFER_BODY },
        { method: 'DELETE', url: `/api/v1/keys/${enc}` },
        { method: 'GET', url: `/api/v1/usage?tenant=${enc}` },
        { method: 'POST', url: '/api/v1/tenants', payload: { name: bad } },
        { method: 'POST', url: '/api/v1/keys', payload: { name: bad, scopes: ['infer'] } },
        { method: 'POST', url: '/api/v1/keys', payload: { tenant: bad, name: 'k', scopes: ['infer'] } },
      ] as const;
      for (const r of reqs) {
        const res = await w.s.app.inject({ ...r, headers: auth } as InjectOptions);
        expect([400, 404], `${r.method} ${r.url} ${bad.slice(0, 20)}: ${res.body.slice(0, 200)}`).toContain(
          res.statusCode,
        );
        if (r.method !== 'GET' || !r.url.startsWith('/api/v1/models/')) expect(res.statusCode).toBe(400);
      }
    }
  });
});

const ADMIN = 'admin';
