import { describe, expect, it } from 'vitest';
import {
  ManualClock,
  type Principal,
  parseIdempotencyKey,
  requestFingerprint,
  type StoredResponse,
} from '../../src/platform/tenancy/index';
import { expectCode, makeWorld } from './fixture';

const req = (body: unknown) => ({ method: 'POST', path: '/api/v1/models', body });

describe('idempotency', () => {
  it('fingerprints method, path and body; key order in JSON does not matter', () => {
    const a = requestFingerprint(req({ name: 'm', scopes: ['infer'] }));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(requestFingerprint(req({ scopes: ['infer'], name: 'm' }))).toBe(a);
    expect(requestFingerprint(req({ name: 'n', scopes: ['infer'] }))).not.toBe(a);
    expect(requestFingerprint({ ...req({ name: 'm', scopes: ['infer'] }), path: '/api/v1/keys' })).not.toBe(
      a,
    );
    expect(requestFingerprint({ ...req({ name: 'm', scopes: ['infer'] }), method: 'PUT' })).not.toBe(a);
    // Framing: moving bytes between path and body changes the fingerprint.
    expect(requestFingerprint({ method: 'POST', path: '/a', body: 'bc' })).not.toBe(
      requestFingerprint({ method: 'POST', path: '/ab', body: 'c' }),
    );
    expect(requestFingerprint({ method: 'POST', path: '/a', body: new Uint8Array([1, 2]) })).toBe(
      requestFingerprint({ method: 'post', path: '/a', body: new Uint8Array([1, 2]) }),
    );
  });

  it('validates the header value', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey('0c8a7a7e-6d3b-4c1e-9a9a-1d2b3c4d5e6f')).toBe(
      '0c8a7a7e-6d3b-4c1e-9a9a-1d2b3c4d5e6f',
    );
    for (const bad of ['', 'has space', 'x'.repeat(256), 'é', 5]) {
      expect(() => parseIdempotencyKey(bad)).toThrowError(
        expect.objectContaining({ code: 'invalid_request' }),
      );
    }
  });

  it('replays the first answer, refuses another body (422) and a concurrent duplicate (409)', async () => {
    const clock = new ManualClock();
    const w = await makeWorld(clock);
    let runs = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const handler = async (): Promise<StoredResponse> => {
      runs += 1;
      await gate;
      return { status: 201, headers: { location: `/api/v1/models/m${runs}` }, body: { id: `m${runs}` } };
    };
    const first = w.tenancy.idempotency.run(w.admin, 'k-1', req({ name: 'm' }), handler);
    await expectCode(w.tenancy.idempotency.run(w.admin, 'k-1', req({ name: 'm' }), handler), 'conflict');
    await expectCode(
      w.tenancy.idempotency.run(w.admin, 'k-1', req({ name: 'other' }), handler),
      'idempotency_mismatch',
    );
    release();
    expect(await first).toEqual({
      replayed: false,
      response: { status: 201, headers: { location: '/api/v1/models/m1' }, body: { id: 'm1' } },
    });
    const replay = await w.tenancy.idempotency.run(w.admin, 'k-1', req({ name: 'm' }), handler);
    expect(replay).toEqual({ replayed: true, response: (await first).response });
    const mismatch = await expectCode(
      w.tenancy.idempotency.run(w.admin, 'k-1', req({ name: 'other' }), handler),
      'idempotency_mismatch',
    );
    expect(mismatch.status).toBe(422);
    expect(runs).toBe(1);
    // After 24 h the key is free again.
    clock.advance(24 * 3_600_000 + 1);
    expect((await w.tenancy.idempotency.run(w.admin, 'k-1', req({ name: 'other' }), handler)).replayed).toBe(
      false,
    );
    expect(runs).toBe(2);
  });

  it('keeps keys per principal and lets a failed first attempt be retried', async () => {
    const w = await makeWorld();
    await w.tenancy.tenants.create(w.admin, { name: 'acme', limits: {} });
    const other: Principal = await w.tenancy.keys.resolve(
      (await w.tenancy.keys.mint(w.admin, { tenant: 'acme', name: 'x', scopes: ['manage'], limits: {} })).key,
    );
    const ok = (id: string) => async (): Promise<StoredResponse> => ({
      status: 201,
      headers: {},
      body: { id },
    });
    await w.tenancy.idempotency.run(w.admin, 'same', req({ a: 1 }), ok('admin-1'));
    const theirs = await w.tenancy.idempotency.run(other, 'same', req({ a: 2 }), ok('other-1'));
    expect(theirs).toEqual({
      replayed: false,
      response: { status: 201, headers: {}, body: { id: 'other-1' } },
    });

    const boom = async (): Promise<StoredResponse> => {
      throw new Error('disk full');
    };
    await expect(w.tenancy.idempotency.run(other, 'retry', req({ a: 3 }), boom)).rejects.toThrow('disk full');
    const retried = await w.tenancy.idempotency.run(other, 'retry', req({ a: 3 }), ok('other-2'));
    expect(retried.replayed).toBe(false);
  });
});
