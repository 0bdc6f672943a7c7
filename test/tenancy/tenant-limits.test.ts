/**
 * `GET`/`PATCH /api/v1/tenants/{id}`: an operator changes a tenant's limits after creating it, and
 * the tenant's very next request is admitted under the new ones; bad bodies get a 400 that names
 * the field, non-admins and unknown tenants are refused, and the change is audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../helpers/server';
import { bearer, INFER_BODY, type TenantWorld, tenantWorld } from './platform-fixture';

describe('tenant limits after creation', () => {
  let w: TenantWorld;
  const infer = () =>
    w.s.app.inject({
      method: 'POST',
      url: '/v2/models/priv/infer',
      headers: bearer(w.inferA),
      payload: INFER_BODY,
    });
  const patch = (id: string, payload: unknown, headers = auth) =>
    w.s.app.inject({ method: 'PATCH', url: `/api/v1/tenants/${id}`, headers, payload: payload as object });

  beforeAll(async () => {
    w = await tenantWorld();
  });
  afterAll(async () => {
    await w.s.close();
  });

  it('a lowered request limit applies to the next request; raising it lets requests through again', async () => {
    expect((await infer()).statusCode).toBe(200);
    const lowered = await patch('tenant-a', { limits: { requestsPerMinute: 1 } });
    expect(lowered.statusCode, lowered.body).toBe(200);
    expect(lowered.json().limits).toEqual({ requestsPerMinute: 1 });
    const statuses = [(await infer()).statusCode, (await infer()).statusCode];
    expect(statuses).toContain(429);
    const raised = await patch('tenant-a', { limits: { requestsPerMinute: 1000, weight: 2 } });
    expect(raised.statusCode, raised.body).toBe(200);
    expect((await infer()).statusCode).toBe(200);
    const got = await w.s.app.inject({ url: '/api/v1/tenants/tenant-a', headers: auth });
    expect(got.statusCode, got.body).toBe(200);
    expect(got.json().limits).toEqual({ requestsPerMinute: 1000, weight: 2 });
  });

  it('bad bodies name the field; unknown tenants are 404; a manage key is 403; the change is audited', async () => {
    const missing = await patch('tenant-b', {});
    expect(missing.statusCode).toBe(400);
    expect(missing.json().detail).toContain('limits');
    const bad = await patch('tenant-b', { limits: { requestsPerMinute: -3 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toContain('limits.requestsPerMinute');
    const extra = await patch('tenant-b', { limits: {}, name: 'x' });
    expect(extra.statusCode).toBe(400);
    expect((await patch('nobody-here', { limits: {} })).statusCode).toBe(404);
    expect((await patch('tenant-b', { limits: {} }, bearer(w.keyB))).statusCode).toBe(403);
    const log = await w.s.app.inject({ url: '/api/v1/audit?action=tenant.limits', headers: auth });
    expect(log.json().entries).toContainEqual(
      expect.objectContaining({ target: 'tenant:tenant-a', outcome: 'success' }),
    );
  });
});
