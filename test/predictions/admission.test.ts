/**
 * Predictions and batches are admitted when they are created: a tenant over its rate limit or its
 * monthly quota is refused by the create at once, with the synchronous route's status, code and
 * error shape, and a prediction admitted at create is not charged its request again when it runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthOf } from '../../src/platform/tenancy/clock';
import { auth, type TestServer } from '../helpers/server';
import { bearer, mintKey } from '../tenancy/platform-fixture';
import { predictionServer } from './fixtures';

let server: TestServer;
const keys: Record<string, { id: string; key: string }> = {};

beforeAll(async () => {
  server = await predictionServer();
  const pub = await server.app.inject({
    method: 'PATCH',
    url: '/api/v1/models/bag',
    headers: auth,
    payload: { public: true },
  });
  expect(pub.statusCode, pub.body).toBe(200);
  const tenants = { limited: { requestsPerMinute: 2 }, spent: { monthlyUnits: 50 } };
  for (const [name, limits] of Object.entries(tenants)) {
    const t = await server.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: auth,
      payload: { name, limits },
    });
    expect(t.statusCode, t.body).toBe(201);
    keys[name] = await mintKey(server, { tenant: name, name: `${name}-app`, scopes: ['infer', 'manage'] });
  }
});
afterAll(async () => server?.close());

const as = (tenant: string, url: string, payload: unknown, prefer?: string) =>
  server.app.inject({
    method: 'POST',
    url,
    headers: { ...bearer(keys[tenant].key), ...(prefer ? { prefer } : {}) },
    payload: payload as object,
  });
const embed = { model: 'default~bag', input: { input: ['cat', 'dog'] } };
const syncEmbed = (tenant: string) => as(tenant, '/api/v1/models/default~bag/embed', embed.input);

describe('admission at create', () => {
  it('charges a prediction’s request once, at create; over the rate limit the create is a 429 at once', async () => {
    // 2 requests a minute: both predictions are admitted at create and both run (a second charge
    // when running would refuse the second one).
    for (let i = 0; i < 2; i++) {
      const res = await as('limited', '/api/v1/predictions', embed, 'wait');
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers['x-ratelimit-remaining-requests']).toBe(String(1 - i));
      expect(res.json()).toMatchObject({ status: 'succeeded', error: null });
    }
    const refused = await as('limited', '/api/v1/predictions', embed);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    const sync = await syncEmbed('limited');
    expect(sync.statusCode).toBe(429);
    // The same error as the synchronous route: shape, code, title.
    const { detail: _a, ...mine } = refused.json();
    const { detail: _b, ...theirs } = sync.json();
    expect(mine).toEqual(theirs);
    expect(refused.json().code).toBe('rate_limited');
    // Nothing was stored for the refused create.
    const list = await server.app.inject({
      method: 'GET',
      url: '/api/v1/predictions',
      headers: bearer(keys.limited.key),
    });
    expect(list.json().results).toHaveLength(2);
  });

  it('a tenant whose monthly quota is spent is refused by the create at once, as by the route', async () => {
    const { tenancy } = server.platform.store;
    const spent = await tenancy.quotas.debit('spent', keys.spent.id, 50, monthOf(Date.now()), { tenant: 50 });
    expect(spent.ok).toBe(true);
    const refused = await as('spent', '/api/v1/predictions', embed);
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('quota_exceeded');
    const sync = await syncEmbed('spent');
    expect(sync.json().code).toBe('quota_exceeded');
    // A batch is refused at create too (OpenAI's error shape), not line by line later.
    const batch = await as('spent', '/v1/batches', {
      input_file_id: 'file-none',
      endpoint: '/v1/embeddings',
      completion_window: '24h',
    });
    // An unknown file is a 400 first: validation before admission.
    expect(batch.statusCode).toBe(400);
  });

  it('a batch create is refused at once when the tenant is rate limited', async () => {
    const upload = await server.app.inject({
      method: 'POST',
      url: '/v1/files',
      headers: { ...bearer(keys.limited.key), 'content-type': 'multipart/form-data; boundary=b' },
      payload: [
        '--b',
        'Content-Disposition: form-data; name="purpose"',
        '',
        'batch',
        '--b',
        'Content-Disposition: form-data; name="file"; filename="r.jsonl"',
        'Content-Type: application/jsonl',
        '',
        JSON.stringify({
          custom_id: 'a',
          method: 'POST',
          url: '/v1/embeddings',
          body: { model: 'default~bag', input: 'cat' },
        }),
        '--b--',
        '',
      ].join('\r\n'),
    });
    expect(upload.statusCode, upload.body).toBe(200);
    const res = await as('limited', '/v1/batches', {
      input_file_id: upload.json().id,
      endpoint: '/v1/embeddings',
      completion_window: '24h',
    });
    expect(res.statusCode, res.body).toBe(429);
    expect(res.json().error.code).toBe('rate_limited');
  });
});
