/**
 * Route-table-generated checks (docs/security.md §1–3, 5, 6): every owned route with another tenant's
 * key → 404 with nothing of the owner's in the body; every non-public route × no key / a bad key →
 * 401; scopes; unknown body properties; a traversal corpus on every name and id field.
 * A new owned route fails the first test until it gets a sample request below.
 */
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/api/routes';
import { linearModel } from '../helpers/onnx-fixtures';
import { auth } from '../helpers/server';
import { lineCsv } from '../training/helpers';
import { bearer, INFER_BODY, type TenantWorld, tenantWorld } from './platform-fixture';

interface Sample {
  url: (w: TenantWorld & Owned) => string;
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
  'GET /api/v1/models/:name/versions/:version/export': { url: () => '/api/v1/models/priv/versions/1/export' },
  'GET /api/v1/models/:name/versions/:version/adapter': {
    url: () => '/api/v1/models/priv/versions/1/adapter',
  },
  'POST /api/v1/models/:name/versions/:version/quantize': {
    url: () => '/api/v1/models/priv/versions/1/quantize',
    payload: { to: 'int8' },
  },
  'GET /api/v1/models/:name/tokenize': { url: () => '/api/v1/models/priv/tokenize?text=hello' },
  'GET /api/v1/models/:name/detokenize': { url: () => '/api/v1/models/priv/detokenize?ids=1,2' },
  'DELETE /api/v1/models/:name/versions/:version': { url: () => '/api/v1/models/priv/versions/1' },
  'PUT /api/v1/models/:name/aliases/:alias': {
    url: () => '/api/v1/models/priv/aliases/prod',
    payload: { version: 1 },
  },
  'DELETE /api/v1/models/:name/aliases/:alias': { url: () => '/api/v1/models/priv/aliases/prod' },
  'DELETE /api/v1/keys/:id': { url: (w) => `/api/v1/keys/${w.keyAId}` },
  'GET /api/v1/datasets/:name': { url: () => '/api/v1/datasets/data-a' },
  'DELETE /api/v1/datasets/:name': { url: () => '/api/v1/datasets/data-a' },
  'GET /api/v1/trainings/:id': { url: (w) => `/api/v1/trainings/${w.jobA}` },
  'POST /api/v1/trainings/:id/cancel': { url: (w) => `/api/v1/trainings/${w.jobA}/cancel` },
  'GET /api/v1/trainings/:id/events': { url: (w) => `/api/v1/trainings/${w.jobA}/events` },
  'GET /api/v1/trainings/:id/webhooks': { url: (w) => `/api/v1/trainings/${w.jobA}/webhooks` },
  'POST /api/v1/models/:name/predict': {
    url: () => '/api/v1/models/priv/predict',
    payload: { inputs: [{ x: 1 }] },
  },
  'POST /api/v1/models/:name/generate': {
    url: () => '/api/v1/models/priv/generate',
    payload: { prompt: 'the', max_tokens: 2 },
  },
  'POST /api/v1/models/:name/embed': { url: () => '/api/v1/models/priv/embed', payload: { input: 'x' } },
  'POST /api/v1/models/:name/imagine': { url: () => '/api/v1/models/priv/imagine', payload: { prompt: 'x' } },
  'POST /api/v1/models/:name/speak': { url: () => '/api/v1/models/priv/speak', payload: { input: 'x' } },
  'POST /api/v1/models/:name/classify': {
    url: () => '/api/v1/models/priv/classify',
    payload: { inputs: ['x'] },
  },
  'POST /api/v1/models/:name/explain': { url: () => '/api/v1/models/priv/explain', payload: { input: 'x' } },
  'GET /v1/models/:model': { url: () => '/v1/models/tenant-a~priv' },
  // OpenAI's files are datasets and its fine-tuning jobs trainings: A's dataset and job, by those ids.
  'GET /v1/files/:file_id': { url: () => '/v1/files/data-a' },
  'DELETE /v1/files/:file_id': { url: () => '/v1/files/data-a' },
  'GET /v1/files/:file_id/content': { url: () => '/v1/files/data-a/content' },
  'GET /v1/fine_tuning/jobs/:job_id': { url: (w) => `/v1/fine_tuning/jobs/${ftjob(w.jobA)}` },
  'POST /v1/fine_tuning/jobs/:job_id/cancel': { url: (w) => `/v1/fine_tuning/jobs/${ftjob(w.jobA)}/cancel` },
  'GET /v1/fine_tuning/jobs/:job_id/events': { url: (w) => `/v1/fine_tuning/jobs/${ftjob(w.jobA)}/events` },
  // A's prediction (its files, stream and webhook log too) and A's batch, by their ids.
  'GET /api/v1/predictions/:id': { url: (w) => `/api/v1/predictions/${w.predictionA}` },
  'POST /api/v1/predictions/:id/cancel': { url: (w) => `/api/v1/predictions/${w.predictionA}/cancel` },
  'GET /api/v1/predictions/:id/stream': { url: (w) => `/api/v1/predictions/${w.predictionA}/stream` },
  'GET /api/v1/predictions/:id/files/:n': { url: (w) => `/api/v1/predictions/${w.predictionA}/files/0` },
  'GET /api/v1/predictions/:id/webhooks': { url: (w) => `/api/v1/predictions/${w.predictionA}/webhooks` },
  'GET /v1/batches/:batch_id': { url: (w) => `/v1/batches/${w.batchA}` },
  'POST /v1/batches/:batch_id/cancel': { url: (w) => `/v1/batches/${w.batchA}/cancel` },
};

/** A training's id as an OpenAI fine-tuning job id. */
const ftjob = (trainingId: string) => `ftjob-${trainingId.slice(4)}`;

/** What tenant A owns besides its models: a dataset and a training job (made in beforeAll). */
interface Owned {
  jobA: string;
  predictionA: string;
  batchA: string;
}

/**
 * Routes that name the model in the BODY (OpenAI's `model` field): another tenant's private model
 * there → 404 in OpenAI's error shape. Every POST route of the OpenAI surface must have a row.
 */
const bodyModelSamples: Record<string, Record<string, unknown>> = {
  'POST /v1/chat/completions': { messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 },
  'POST /v1/completions': { prompt: 'the', max_tokens: 2 },
  'POST /v1/embeddings': { input: 'x' },
  'POST /v1/images/generations': { prompt: 'x' },
  'POST /v1/audio/speech': { input: 'x' },
};

/**
 * OpenAI routes that name a FILE in the body: another tenant's file → the same 400 as a file that
 * does not exist (OpenAI answers an unknown `training_file` with 400).
 */
const bodyFileSamples: Record<string, { param: string; body: (file: string) => Record<string, unknown> }> = {
  'POST /v1/fine_tuning/jobs': {
    param: 'training_file',
    body: (file) => ({ model: 'mlp', training_file: file }),
  },
  'POST /v1/batches': {
    param: 'input_file_id',
    body: (file) => ({ input_file_id: file, endpoint: '/v1/completions', completion_window: '24h' }),
  },
};
/** OpenAI POST routes whose body names nothing of anyone's: the multipart upload. */
const bodyNamesNothing = ['POST /v1/files'];

const routeKey = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
const fill = (path: string) => path.replace(/:([a-z_]+)/g, (_, p) => (p === 'version' ? '1' : `x${p}`));

describe('tenancy over the route table', () => {
  let w: TenantWorld & Owned;
  beforeAll(async () => {
    const world = await tenantWorld();
    const data = await world.s.app.inject({
      method: 'POST',
      url: '/api/v1/datasets?name=data-a',
      headers: { ...bearer(world.keyA), 'content-type': 'application/octet-stream' },
      payload: lineCsv(40),
    });
    expect(data.statusCode, data.body).toBe(201);
    const job = await world.s.app.inject({
      method: 'POST',
      url: '/api/v1/trainings',
      headers: bearer(world.keyA),
      payload: { family: 'mlp', dataset: 'data-a', model: 'trained-a', target: 'label' },
    });
    expect(job.statusCode, job.body).toBe(201);
    const prediction = await world.s.app.inject({
      method: 'POST',
      url: '/api/v1/predictions',
      headers: bearer(world.keyA),
      payload: { model: 'priv', input: INFER_BODY },
    });
    expect(prediction.statusCode, prediction.body).toBe(201);
    // A batch row of A's, as the batch service stores it (no batch file or loop needed here).
    const batchA = 'batch_0123456789abcdef01234567';
    await world.s.platform.store.workItems.insert({
      kind: 'batch',
      id: batchA,
      owner: 'tenant-a',
      status: 'completed',
      parent: null,
      dueAt: 0,
      createdAt: Date.now(),
      updatedAt: Date.now(),
      data: {
        endpoint: '/v1/completions',
        inputFileId: 'data-a',
        metadata: null,
        total: 0,
        next: 0,
        failed: 0,
        outputLines: [],
        errorLines: [],
        outputFileId: null,
        errorFileId: null,
        errors: null,
        times: {},
      },
    });
    w = { ...world, jobA: job.json().id, predictionA: prediction.json().id, batchA };
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
    const data = await w.s.app.inject({ url: '/api/v1/datasets/data-a', headers: bearer(w.keyA) });
    expect(data.statusCode).toBe(200);
    const job = await w.s.app.inject({ url: `/api/v1/trainings/${w.jobA}`, headers: bearer(w.keyA) });
    expect(job.json().status).not.toBe('cancelled');
  });

  it("another tenant's private model named in the body of every OpenAI route → 404 in OpenAI's shape", async () => {
    const routes = routeTable
      .filter((r) => r.surface === 'openai' && r.method === 'POST' && r.owned === null)
      .map(routeKey);
    const covered = [...Object.keys(bodyModelSamples), ...Object.keys(bodyFileSamples), ...bodyNamesNothing];
    expect(routes.filter((k) => !covered.includes(k))).toEqual([]);
    expect(covered.filter((k) => !routes.includes(k))).toEqual([]);
    for (const [key, body] of Object.entries(bodyModelSamples)) {
      for (const model of ['tenant-a~priv', 'tenant-a/priv', 'tenant-a~priv:1']) {
        const res = await w.s.app.inject({
          method: 'POST',
          url: key.slice(5),
          headers: bearer(w.keyB),
          payload: { ...body, model },
        });
        expect(res.statusCode, `${key} ${model}: ${res.body}`).toBe(404);
        expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
        for (const secret of ['tenant-a', w.keyAId, w.digestA.slice(7), 'a-ops'])
          expect(res.body, key).not.toContain(secret);
      }
    }
    // The public model is callable the same way (the 404 above is tenancy, not a bad body).
    const pub = await w.s.app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      headers: bearer(w.keyB),
      payload: { model: 'tenant-a~pub', input: 'x' },
    });
    expect(pub.json().error.code).not.toMatch(/not_found/);
  });

  it("another tenant's file named in the body → the same 400 as a file that does not exist", async () => {
    for (const [key, { param, body }] of Object.entries(bodyFileSamples)) {
      const ask = (file: string) =>
        w.s.app.inject({ method: 'POST', url: key.slice(5), headers: bearer(w.keyB), payload: body(file) });
      const theirs = await ask('data-a');
      const none = await ask('data-z');
      expect(theirs.statusCode, `${key}: ${theirs.body}`).toBe(400);
      expect(theirs.json().error.param).toBe(param);
      expect(theirs.body.replaceAll('data-a', 'data-z')).toBe(none.body);
      for (const secret of ['tenant-a', w.keyAId, w.digestA.slice(7), 'a-ops'])
        expect(theirs.body, key).not.toContain(secret);
    }
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
    for (const [action, target] of [
      ['dataset.delete', 'dataset:data-a'],
      ['training.cancel', `training:${w.jobA}`],
      ['file.delete', 'file:data-a'],
      ['fine_tuning.cancel', `fine_tuning.job:${ftjob(w.jobA)}`],
    ]) {
      const denied = await w.s.app.inject({ url: `/api/v1/audit?action=${action}`, headers: auth });
      expect(denied.json().entries).toContainEqual(
        expect.objectContaining({ actorKeyId: w.keyBId, target, outcome: 'denied', detail: 'not_found' }),
      );
    }
    const made = await w.s.app.inject({
      url: '/api/v1/audit?action=training.create',
      headers: bearer(w.keyA),
    });
    expect(made.json().entries[0]).toMatchObject({ target: 'training:new', outcome: 'success' });
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

  it('Idempotency-Key on POST /api/v1/trainings: a replay is the first job, another body → 422', async () => {
    const body = { family: 'mlp', dataset: 'data-a', model: 'idem-a', target: 'label' };
    const send = (payload: object) =>
      w.s.app.inject({
        method: 'POST',
        url: '/api/v1/trainings',
        headers: { ...bearer(w.keyA), 'idempotency-key': 'train-1' },
        payload,
      });
    const first = await send(body);
    expect(first.statusCode, first.body).toBe(201);
    const again = await send(body);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.location).toBe(`/api/v1/trainings/${first.json().id}`);
    expect(again.json().id).toBe(first.json().id);
    const other = await send({ ...body, model: 'idem-b' });
    expect(other.statusCode).toBe(422);
    const list = await w.s.app.inject({ url: '/api/v1/trainings', headers: bearer(w.keyA) });
    const made = list.json().trainings.filter((j: { model: string }) => j.model.startsWith('idem-'));
    expect(made).toHaveLength(1);
    // The same key is another tenant's own namespace: B's request is not A's replay.
    const b = await w.s.app.inject({
      method: 'POST',
      url: '/api/v1/trainings',
      headers: { ...bearer(w.keyB), 'idempotency-key': 'train-1' },
      payload: body,
    });
    expect(b.statusCode).toBe(404);
    expect(b.body).not.toContain(first.json().id);
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
