/**
 * A real platform (SQLite file, artifacts, ORT) with two tenants made through the API the way an
 * operator would: `tenant-a` (a private model `priv`, a public model `pub`) and `tenant-b`, each
 * with a manage key, plus an infer-only key of A. Not a test file; tests import it.
 */
import { expect } from 'vitest';
import { linearModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer } from '../helpers/server';

export interface TenantWorld {
  s: TestServer;
  keyA: string;
  keyAId: string;
  inferA: string;
  keyB: string;
  keyBId: string;
  digestA: string;
  /** Every raw key handed out (for the leak scan). */
  rawKeys: string[];
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
export const INFER_BODY = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };

export async function mintKey(
  s: TestServer,
  body: Record<string, unknown>,
  headers: Record<string, string> = auth,
): Promise<{ id: string; key: string }> {
  const res = await s.app.inject({ method: 'POST', url: '/api/v1/keys', headers, payload: body });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

export async function uploadAs(s: TestServer, key: string, name: string, bytes: Uint8Array) {
  const res = await s.app.inject({
    method: 'POST',
    url: `/api/v1/models/${name}/versions`,
    headers: { ...bearer(key), 'content-type': 'application/octet-stream' },
    payload: Buffer.from(bytes),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { digest: string };
}

export async function tenantWorld(tenantLimits: Record<string, number> = {}): Promise<TenantWorld> {
  const s = await testServer();
  for (const name of ['tenant-a', 'tenant-b']) {
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: auth,
      payload: { name, limits: tenantLimits },
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  const a = await mintKey(s, { tenant: 'tenant-a', name: 'a-ops', scopes: ['manage'] });
  const ai = await mintKey(s, { tenant: 'tenant-a', name: 'a-app', scopes: ['infer'] });
  const b = await mintKey(s, { tenant: 'tenant-b', name: 'b-ops', scopes: ['manage'] });
  const lin = linearModel(4, 3);
  const up = await uploadAs(s, a.key, 'priv', lin.bytes);
  await uploadAs(s, a.key, 'pub', lin.bytes);
  const alias = await s.app.inject({
    method: 'PUT',
    url: '/api/v1/models/priv/aliases/prod',
    headers: bearer(a.key),
    payload: { version: 1 },
  });
  expect(alias.statusCode, alias.body).toBe(200);
  const pub = await s.app.inject({
    method: 'PATCH',
    url: '/api/v1/models/pub',
    headers: bearer(a.key),
    payload: { public: true },
  });
  expect(pub.statusCode, pub.body).toBe(200);
  return {
    s,
    keyA: a.key,
    keyAId: a.id,
    inferA: ai.key,
    keyB: b.key,
    keyBId: b.id,
    digestA: up.digest,
    rawKeys: [a.key, ai.key, b.key],
  };
}
