/**
 * Durability: a real server (startServer, on a socket) is stopped and started again on the same
 * data folder. Queued predictions run after the restart; the one that was running fails with an
 * error saying why; a row a crashed process left `processing` fails the same way.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/api/serve';
import { DEFAULT_TENANT } from '../../src/platform/auth/auth';
import { loadConfig } from '../../src/platform/config';
import { ADMIN_KEY } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { registerTestFamilies } from '../tasks/fixtures/families';
import { bigramModel } from '../tasks/fixtures/models';

const tmp = await tempDir();
afterAll(() => tmp.remove());
const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };

function start(): Promise<RunningServer> {
  registerTestFamilies();
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
      predictionConcurrency: 1,
      shutdownGraceMs: 0,
    },
  );
  return startServer(config, () => {});
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers of the API under test
const call = async (server: RunningServer, method: string, path: string, body?: unknown): Promise<any> => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
};

describe('predictions across a restart', () => {
  it('queued ones run after it; the running one and a crashed process’s one fail with a clear error', async () => {
    const first = await start();
    const built = bigramModel();
    const meta = encodeURIComponent(JSON.stringify(built.metadata));
    const up = await fetch(`${first.url}/api/v1/models/bigram/versions?metadata=${meta}`, {
      method: 'POST',
      headers: { authorization: headers.authorization, 'content-type': 'application/octet-stream' },
      body: Buffer.from(built.onnx),
    });
    expect(up.status).toBe(201);
    const running = await call(first, 'POST', '/api/v1/predictions', {
      model: 'bigram',
      input: { prompt: 'the ', max_tokens: 60_000, seed: 1 },
    });
    const queued = [];
    for (const seed of [2, 3])
      queued.push(
        await call(first, 'POST', '/api/v1/predictions', {
          model: 'bigram',
          input: { prompt: 'a ', max_tokens: 5, seed },
        }),
      );
    for (
      let i = 0;
      i < 400 && (await call(first, 'GET', `/api/v1/predictions/${running.id}`)).status !== 'processing';
      i++
    )
      await new Promise((r) => setTimeout(r, 25));
    // What a process that died mid-run leaves behind.
    const orphan = `p_${randomBytes(12).toString('hex')}`;
    const template = await first.platform.store.workItems.get('prediction', DEFAULT_TENANT, queued[0].id);
    if (!template) throw new Error('no row');
    await first.platform.store.workItems.insert({
      ...template,
      id: orphan,
      status: 'processing',
      data: { ...template.data, instance: 'gone', startedAt: Date.now() },
    });
    await first.stop();

    const second = await start();
    try {
      const stopped = await call(second, 'GET', `/api/v1/predictions/${running.id}`);
      expect(stopped).toMatchObject({ status: 'failed', error: { code: 'not_ready' } });
      expect(stopped.error.detail).toMatch(/server stopped while this prediction was running/);
      const crashed = await call(second, 'GET', `/api/v1/predictions/${orphan}`);
      expect(crashed).toMatchObject({ status: 'failed' });
      expect(crashed.error.detail).toMatch(/server restarted while this prediction was running/);
      for (const q of queued) {
        let p = await call(second, 'GET', `/api/v1/predictions/${q.id}`);
        for (let i = 0; i < 600 && p.status !== 'succeeded' && p.status !== 'failed'; i++) {
          await new Promise((r) => setTimeout(r, 25));
          p = await call(second, 'GET', `/api/v1/predictions/${q.id}`);
        }
        expect(p.status, JSON.stringify(p.error)).toBe('succeeded');
        expect(p.output.choices[0].text.length).toBeGreaterThan(0);
      }
    } finally {
      await second.stop();
    }
  });
});
