import { describe, expect, it } from 'vitest';
import { isMaasError } from '../../src/common/errors';
import {
  billedUnits,
  dayOf,
  ManualClock,
  type Principal,
  type UsageRow,
} from '../../src/platform/tenancy/index';
import { expectCode, makeWorld, type World } from './fixture';

const MODELS = new Set(['mnist', 'gpt']);

/**
 * A miniature serving path, as the platform will wire it: resolve the key, admit, find the
 * model, run, settle, meter. Returns the HTTP status it would answer.
 */
async function serve(
  w: World,
  clock: ManualClock,
  raw: string,
  model: string,
  units: number,
  fail5xx: boolean,
) {
  let principal: Principal;
  try {
    principal = await w.tenancy.keys.resolve(raw);
  } catch {
    return 401;
  }
  let ticket: Awaited<ReturnType<typeof w.tenancy.admission.admit>>;
  try {
    ticket = await w.tenancy.admission.admit(principal, units);
  } catch (error) {
    if (isMaasError(error)) return error.status;
    throw error;
  }
  const status = !MODELS.has(model) ? 404 : fail5xx ? 500 : 200;
  await w.tenancy.admission.settle(ticket, status === 200 ? units : 0);
  const latencyMs = 3 + (units % 7);
  clock.advance(latencyMs);
  await w.tenancy.meter.record({ ...principal, model, version: '1', units, latencyMs, status });
  return status;
}

describe('usage metering', () => {
  it('applies the billing rule: 4xx not recorded, 5xx recorded unbilled, 2xx billed', () => {
    expect([401, 403, 404, 429, 400].map((s) => billedUnits(s, 9))).toEqual([null, null, null, null, null]);
    expect(billedUnits(500, 9)).toBe(0);
    expect(billedUnits(200, 9)).toBe(9);
  });

  it('aggregates by day, model and key, and reconciles with the requests served', async () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 1, 23, 58, 0));
    const w = await makeWorld(clock);
    await w.tenancy.tenants.create(w.admin, { name: 'acme', limits: { requestsPerMinute: 40 } });
    await w.tenancy.tenants.create(w.admin, { name: 'beta', limits: {} });
    const keys = [
      await w.tenancy.keys.mint(w.admin, { tenant: 'acme', name: 'a1', scopes: ['manage'], limits: {} }),
      await w.tenancy.keys.mint(w.admin, { tenant: 'acme', name: 'a2', scopes: ['infer'], limits: {} }),
      await w.tenancy.keys.mint(w.admin, { tenant: 'beta', name: 'b1', scopes: ['infer'], limits: {} }),
    ];
    const expected = new Map<string, { requests: number; units: number; errors: number }>();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const key = keys[i % 3];
      const raw = i % 17 === 0 ? `${key.key.slice(0, -2)}zz` : key.key; // some bad keys → 401
      const model = i % 23 === 0 ? 'missing' : i % 2 === 0 ? 'mnist' : 'gpt';
      const units = 1 + (i % 11);
      const status = await serve(w, clock, raw, model, units, i % 29 === 0);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 200 || status === 500) {
        const id = `${key.tenantId}|${dayOf(clock.now())}|${model}|${key.id}`;
        const row = expected.get(id) ?? { requests: 0, units: 0, errors: 0 };
        row.requests += 1;
        row.units += status === 200 ? units : 0;
        row.errors += status === 500 ? 1 : 0;
        expected.set(id, row);
      }
      clock.advance(600); // 400 × ~0.6 s from 23:58 crosses midnight UTC; acme (~67/min) meets its 40/min
    }
    // The mix exercised every path.
    for (const s of [200, 401, 404, 429, 500]) expect(statuses.get(s), `status ${s}`).toBeGreaterThan(0);

    const manageA = await w.tenancy.keys.resolve(keys[0].key);
    const rows = await w.tenancy.meter.aggregate(manageA, { groupBy: ['day', 'model', 'key'] });
    const fromRows = (tenant: string, rs: UsageRow[]) =>
      new Map(
        rs.map((r) => [
          `${tenant}|${r.day}|${r.model}|${r.keyId}`,
          { requests: r.requests, units: r.units, errors: r.errors },
        ]),
      );
    const acmeExpected = new Map([...expected].filter(([k]) => k.startsWith('acme|')));
    expect(fromRows('acme', rows)).toEqual(acmeExpected);
    expect(new Set(rows.map((r) => r.day))).toEqual(new Set(['2026-05-01', '2026-05-02']));

    // Served requests == billed records; totals agree across groupings.
    const served = (statuses.get(200) ?? 0) + (statuses.get(500) ?? 0);
    const everything = await w.tenancy.meter.aggregate(w.admin, { groupBy: ['tenant'] });
    expect(everything.reduce((n, r) => n + r.requests, 0)).toBe(served);
    const totalUnits = [...expected.values()].reduce((n, r) => n + r.units, 0);
    expect(everything.reduce((n, r) => n + r.units, 0)).toBe(totalUnits);

    // Time-range filter: only the second day.
    const day2 = Date.UTC(2026, 4, 2);
    const late = await w.tenancy.meter.aggregate(manageA, { from: day2, groupBy: ['day'] });
    expect(late.map((r) => r.day)).toEqual(['2026-05-02']);
    const lateExpected = [...acmeExpected].filter(([k]) => k.includes('|2026-05-02|'));
    expect(late[0].requests).toBe(lateExpected.reduce((n, [, r]) => n + r.requests, 0));
  });

  it('scopes usage reads: own tenant only for manage, 404 for another, forbidden for infer', async () => {
    const w = await makeWorld();
    await w.tenancy.tenants.create(w.admin, { name: 'acme', limits: {} });
    await w.tenancy.tenants.create(w.admin, { name: 'beta', limits: {} });
    const m = await w.tenancy.keys.resolve(
      (await w.tenancy.keys.mint(w.admin, { tenant: 'acme', name: 'm', scopes: ['manage'], limits: {} })).key,
    );
    const i = await w.tenancy.keys.resolve(
      (await w.tenancy.keys.mint(w.admin, { tenant: 'beta', name: 'i', scopes: ['infer'], limits: {} })).key,
    );
    await w.tenancy.meter.record({ ...i, model: 'x', version: '1', units: 5, latencyMs: 1, status: 200 });
    expect(await w.tenancy.meter.aggregate(m, { groupBy: [] })).toEqual([]);
    await expectCode(w.tenancy.meter.aggregate(m, { tenantId: 'beta', groupBy: [] }), 'not_found');
    await expectCode(w.tenancy.meter.aggregate(i, { groupBy: [] }), 'forbidden');
    await expectCode(w.tenancy.meter.aggregate(m, { from: 10, to: 5, groupBy: [] }), 'invalid_request');
    expect(await w.tenancy.meter.aggregate(w.admin, { tenantId: 'beta', groupBy: ['key'] })).toEqual([
      { keyId: i.keyId, requests: 1, units: 5, errors: 0, latencyMsTotal: 1 },
    ]);
  });
});
