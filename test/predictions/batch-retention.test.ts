/**
 * Retention and durability of OpenAI batches on a real server (startServer, a socket, SQLite in a
 * temp folder): batches written before a restart are listed after it, newest first, paged with
 * `after`/`limit`/`has_more`; the sweep a start runs removes a finished batch past its completion
 * window plus MAAS_PREDICTION_TTL (list and get then answer as for an unknown id) and a training's
 * old finished webhook deliveries, and keeps young batches and pending deliveries.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/serve';
import { DEFAULT_TENANT } from '../../src/platform/auth/auth';
import { loadConfig } from '../../src/platform/config';
import { BATCH_WINDOW_MS } from '../../src/platform/retention';
import type { WorkItem } from '../../src/store/work-ports';
import { ADMIN_KEY } from '../helpers/server';
import { tempDir } from '../helpers/tmp';

const tmp = await tempDir();
afterAll(() => tmp.remove());
const TTL_MS = 3_600_000;

function start(): Promise<RunningServer> {
  const config = loadConfig(
    {},
    {},
    {
      dataDir: tmp.dir,
      adminKey: ADMIN_KEY,
      logLevel: 'silent',
      port: 0,
      host: '127.0.0.1',
      zoo: 'off',
      predictionTtlMs: TTL_MS,
      shutdownGraceMs: 0,
    },
  );
  return startServer(config, () => {});
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API under test
const get = async (server: RunningServer, path: string): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  return { status: res.status, body: await res.json() };
};

function row(
  kind: WorkItem['kind'],
  id: string,
  status: string,
  createdAt: number,
  parent: string | null = null,
) {
  const data =
    kind === 'batch'
      ? {
          endpoint: '/v1/completions',
          inputFileId: 'file-x',
          metadata: null,
          total: 1,
          next: 1,
          failed: 0,
          outputFileId: null,
          errorFileId: null,
          errors: null,
          times: { created: createdAt },
        }
      : { url: 'https://example.com/hook', event: 'completed', body: '{}', attempts: [] };
  return { kind, id, owner: DEFAULT_TENANT, status, parent, dueAt: 0, createdAt, updatedAt: createdAt, data };
}

describe('batches across a restart, and their retention', () => {
  it('lists stored batches newest first in pages; the start-up sweep removes the expired ones only', async () => {
    const now = Date.now();
    const young = [0, 1, 2, 3, 4].map((i) =>
      row('batch', `batch_young${i}`, 'completed', now - 60_000 - i * 1000),
    );
    const old = row('batch', 'batch_old', 'completed', now - BATCH_WINDOW_MS - TTL_MS - 60_000);
    const job = 'job_retention';
    const deliveries = [
      row('delivery', 'msg_sent', 'delivered', now - TTL_MS - 60_000, job),
      row('delivery', 'msg_retrying', 'pending', now - TTL_MS - 60_000, job),
      row('delivery', 'msg_fresh', 'delivered', now - 60_000, job),
    ];
    const first = await start();
    for (const r of [...young, old, ...deliveries]) await first.platform.store.workItems.insert(r);
    await first.stop();

    const second = await start();
    try {
      const ids: string[] = [];
      let after: string | null = null;
      const more: boolean[] = [];
      for (let page = 0; page < 5; page++) {
        const q: string = after === null ? '?limit=2' : `?limit=2&after=${after}`;
        const { status, body } = await get(second, `/v1/batches${q}`);
        expect(status).toBe(200);
        ids.push(...body.data.map((b: { id: string }) => b.id));
        more.push(body.has_more);
        if (!body.has_more) break;
        after = body.last_id;
      }
      expect(ids).toEqual(young.map((b) => b.id));
      expect(more).toEqual([true, true, false]);

      const unknown = await get(second, '/v1/batches/batch_never');
      const purged = await get(second, '/v1/batches/batch_old');
      expect(unknown.status).toBe(404);
      expect(purged.status).toBe(404);
      expect(purged.body.error.code).toBe(unknown.body.error.code);
      expect((await get(second, '/v1/batches?after=batch_old')).body.data).toEqual([]);

      const left = await second.platform.store.workItems.children('delivery', job);
      expect(left.map((d) => d.id).sort()).toEqual(['msg_fresh', 'msg_retrying']);
    } finally {
      await second.stop();
    }
  });
});
