import { describe, expect, it } from 'vitest';
import { parseCreateKey, parseCreateTenant } from '../../src/platform/tenancy/index';

function errorOf(fn: () => unknown): { code: string; message: string; pointer?: string } {
  try {
    fn();
  } catch (e) {
    const err = e as { code: string; message: string; extras: { pointer?: string } };
    return { code: err.code, message: err.message, pointer: err.extras.pointer };
  }
  throw new Error('expected the parser to refuse');
}

describe('create-body validation', () => {
  it('parses good tenant and key bodies', () => {
    expect(parseCreateTenant({ name: 'acme', limits: { requestsPerMinute: 60, monthlyUnits: 1e6 } })).toEqual(
      {
        name: 'acme',
        limits: { requestsPerMinute: 60, monthlyUnits: 1e6 },
      },
    );
    expect(parseCreateKey({ name: 'ci', scopes: ['infer'] })).toEqual({
      name: 'ci',
      scopes: ['infer'],
      limits: {},
    });
    expect(
      parseCreateKey({
        tenant: 'acme',
        name: 'ci',
        scopes: ['manage', 'infer'],
        limits: { unitsPerMinute: 5 },
      }),
    ).toEqual({ tenant: 'acme', name: 'ci', scopes: ['manage', 'infer'], limits: { unitsPerMinute: 5 } });
  });

  it('refuses unknown properties by name (no mass assignment)', () => {
    expect(errorOf(() => parseCreateTenant({ name: 'acme', quota: 1 }))).toMatchObject({
      code: 'invalid_request',
      pointer: 'quota',
    });
    expect(errorOf(() => parseCreateKey({ name: 'k', scopes: ['infer'], role: 'admin' })).message).toContain(
      "'role'",
    );
    expect(errorOf(() => parseCreateKey({ name: 'k', scopes: ['infer'], tenantId: 'other' })).pointer).toBe(
      'tenantId',
    );
    expect(errorOf(() => parseCreateKey({ name: 'k', scopes: ['infer'], limits: { rpm: 5 } })).pointer).toBe(
      'limits.rpm',
    );
  });

  it('refuses bad values with a pointer to them', () => {
    const cases: Array<[unknown, string, string]> = [
      [null, 'invalid_request', '/'],
      [[], 'invalid_request', '/'],
      [{ name: '../etc', scopes: ['infer'] }, 'invalid_name', 'name'],
      [{ name: 'k', scopes: [] }, 'invalid_request', 'scopes'],
      [{ name: 'k', scopes: ['root'] }, 'invalid_request', 'scopes[0]'],
      [{ name: 'k', scopes: ['infer'], tenant: 'A/B' }, 'invalid_name', 'tenant'],
      [
        { name: 'k', scopes: ['infer'], limits: { requestsPerMinute: 0 } },
        'invalid_request',
        'limits.requestsPerMinute',
      ],
      [
        { name: 'k', scopes: ['infer'], limits: { unitsPerMinute: 1.5 } },
        'invalid_request',
        'limits.unitsPerMinute',
      ],
      [
        { name: 'k', scopes: ['infer'], limits: { monthlyUnits: '9' } },
        'invalid_request',
        'limits.monthlyUnits',
      ],
      [{ name: 'k', scopes: ['infer'], limits: [] }, 'invalid_request', 'limits'],
    ];
    for (const [body, code, pointer] of cases) {
      expect(
        errorOf(() => parseCreateKey(body)),
        JSON.stringify(body),
      ).toMatchObject({ code, pointer });
    }
    for (const name of ['..', '%2e%2e', 'a\0b', 'x'.repeat(4096), '/abs']) {
      expect(errorOf(() => parseCreateTenant({ name })).code).toBe('invalid_name');
    }
  });
});
