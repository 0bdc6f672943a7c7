/**
 * Usage records are buffered and written in batches (no database write per served request), and
 * none is lost: a read flushes first, a failed write is retried, and SIGTERM writes the rest.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/platform/config';
import { openPlatform } from '../../src/platform/platform';
import { ManualClock, Meter } from '../../src/platform/tenancy/index';
import { MemoryUsageStore } from '../../src/store/memory/usage';
import type { UsageRecord } from '../../src/store/tenancy/types';
import { mlpModel } from '../helpers/onnx-fixtures';
import { spawnServe } from '../helpers/serve';

const KEY = 'usage-buffer-admin-key-0123';
const admin = {
  tenantId: 'default',
  keyId: 'admin',
  scopes: ['admin' as const],
  limits: { key: {}, tenant: {} },
};
const served = {
  tenantId: 'default',
  keyId: 'k',
  model: 'm',
  version: '1',
  units: 2,
  latencyMs: 1,
  status: 200,
};

describe('usage metering buffers its writes', () => {
  it('writes nothing per request, a batch at maxRecords, and everything before a read', async () => {
    const store = new MemoryUsageStore();
    const meter = new Meter(store, new ManualClock(1_000), { afterMs: 3_600_000, maxRecords: 4 });
    for (let i = 0; i < 3; i++) await meter.record(served);
    // Nothing written yet: the store itself sees no row.
    expect(await store.aggregate({ groupBy: [] })).toEqual([]);
    await meter.record(served); // the 4th fills the batch
    await meter.flush();
    expect((await store.aggregate({ groupBy: [] }))[0].requests).toBe(4);
    await meter.record(served);
    // The meter's own read flushes first.
    expect((await meter.aggregate(admin, { groupBy: [] }))[0]).toMatchObject({ requests: 5, units: 10 });
    await meter.close();
  });

  it('keeps a batch whose write failed and writes it with the next flush', async () => {
    const inner = new MemoryUsageStore();
    let failNext = true;
    const flaky = {
      append: async (records: readonly UsageRecord[]) => {
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        await inner.append(records);
      },
      aggregate: inner.aggregate.bind(inner),
    };
    const meter = new Meter(flaky, new ManualClock(1_000), { afterMs: 3_600_000, maxRecords: 100 });
    await meter.record(served);
    await meter.record(served);
    await expect(meter.flush()).rejects.toThrow('disk full');
    await meter.record(served);
    await meter.flush();
    expect((await inner.aggregate({ groupBy: [] }))[0].requests).toBe(3);
  });

  it('loses no record on SIGTERM: buffered usage of served requests is written at shutdown', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'maas-usage-'));
    try {
      // A flush interval of an hour: every record is still buffered when SIGTERM comes.
      const server = await spawnServe({ dataDir, adminKey: KEY, env: { MAAS_USAGE_FLUSH_MS: '3600000' } });
      const auth = { authorization: `Bearer ${KEY}` };
      const up = await fetch(`${server.url}/api/v1/models/mlp/versions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body: mlpModel(),
      });
      expect(up.status).toBe(201);
      const body = JSON.stringify({
        inputs: [
          { name: 'x', shape: [1, 64], datatype: 'FP32', data: Array.from({ length: 64 }, () => 0.5) },
        ],
      });
      const n = 12;
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${server.url}/v2/models/mlp/infer`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body,
        });
        expect(res.status).toBe(200);
      }
      await server.stop('SIGTERM');
      expect(server.child.exitCode).toBe(0);

      const config = loadConfig({}, {}, { dataDir, adminKey: KEY, logLevel: 'silent', port: 0, zoo: 'off' });
      const platform = await openPlatform(config);
      try {
        const rows = await platform.tenancy.meter.aggregate(admin, { groupBy: ['model'] });
        expect(rows).toEqual([expect.objectContaining({ model: 'mlp', requests: n, units: n })]);
      } finally {
        await platform.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
