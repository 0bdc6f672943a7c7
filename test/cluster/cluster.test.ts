/**
 * Scale-out on one machine: 2 API processes and 2 workers (`maas serve --role api|worker`, real
 * processes on real sockets) on one PostgreSQL schema and one Redis prefix, fresh per run, with a
 * shared blob folder. What a cluster promises, checked end to end: one migration for four
 * processes starting together, rate limits exact across APIs, a model uploaded anywhere served
 * everywhere, training events of a job on any worker streamed by any API, a dead worker's job
 * resumed by another from its checkpoint with one version, a deletion seen everywhere within 1 s,
 * a dead leader replaced by a follower that says so.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/admin';
import { loadMigrations } from '../../src/store/postgres/migrate';
import { linearModel, linearReference } from '../helpers/onnx-fixtures';
import { POSTGRES_TEST_URL, postgresAvailable } from '../helpers/postgres';
import type { ServeProcess } from '../helpers/serve';
import { redisAvailable, TEST_REDIS_URL } from '../helpers/services';
import { readEvents } from '../helpers/sse';
import { tempDir } from '../helpers/tmp';
import { lineCsv } from '../training/helpers';
import {
  clusterAuth as auth,
  type ClusterSettings,
  clusterSettings,
  eventually,
  startMember,
  trainerPids,
} from './helpers';

const available = (await redisAvailable()) && (await postgresAvailable('the cluster test'));

describe.skipIf(!available)('a cluster: 2 API processes + 2 workers on PostgreSQL and Redis', () => {
  let settings: ClusterSettings;
  let removeTmp: () => Promise<void>;
  let api1: ServeProcess;
  let api2: ServeProcess;
  let workers: ServeProcess[] = [];
  const json = { ...auth, 'content-type': 'application/json' };

  beforeAll(async () => {
    const tmp = await tempDir('maas-cluster-');
    removeTmp = tmp.remove;
    settings = clusterSettings(tmp.dir);
    // All four at once on an empty schema: they queue on the migration's advisory lock.
    [api1, api2, ...workers] = await Promise.all([
      startMember(settings, 'api1', 'api'),
      startMember(settings, 'api2', 'api'),
      // Info lines: a worker taking over the leadership says so in its log.
      startMember(settings, 'worker1', 'worker', { logLevel: 'info' }),
      startMember(settings, 'worker2', 'worker', { logLevel: 'info' }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([api1, api2, ...workers].filter(Boolean).map((p) => p.stop('SIGKILL')));
    if (!settings) return;
    await dropPostgresSchema(POSTGRES_TEST_URL, settings.schema);
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${settings.redisPrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await removeTmp();
  });

  it('four processes started together migrated the empty schema once; each is ready with both services', async () => {
    const db = new pg.Client({ connectionString: POSTGRES_TEST_URL });
    await db.connect();
    try {
      const { rows } = await db.query(
        `SELECT version, COUNT(*)::int AS n FROM ${settings.schema}.schema_migrations GROUP BY version ORDER BY version`,
      );
      // Every migration applied, each once; a race would have crashed a process at start instead.
      expect(rows.map((r) => r.version)).toEqual(loadMigrations().map((m) => m.version));
      expect(rows.every((r) => r.n === 1)).toBe(true);
    } finally {
      await db.end();
    }
    for (const p of [api1, api2, ...workers]) {
      const res = await fetch(`${p.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        status: 'ready',
        database: { ok: true },
        redis: { ok: true },
      });
    }
    // A worker serves no API; exactly one worker leads (housekeeping).
    expect((await fetch(`${workers[0].url}/api/v1/models`, { headers: auth })).status).toBe(404);
    expect(workers.filter((w) => /role worker, leader/.test(w.output()))).toHaveLength(1);
  });

  const { bytes, W, b } = linearModel(4, 3);
  const x = [1, 2, 3, 4];
  const inferBody = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }] });
  const infer = (p: ServeProcess, headers: Record<string, string>, version = '') =>
    fetch(`${p.url}/v2/models/lin${version ? `/versions/${version}` : ''}/infer`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: inferBody,
    });

  it('a model uploaded through API 1 is served by API 2', async () => {
    const up = await fetch(`${api1.url}/api/v1/models/lin/versions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(up.status).toBe(201);
    const res = await infer(api2, auth, '1');
    expect(res.status).toBe(200);
    const out = (await res.json()) as { outputs: { data: number[] }[] };
    const expected = linearReference(x, W, b, 4, 3);
    for (const [i, v] of out.outputs[0].data.entries()) expect(v).toBeCloseTo(expected[i], 5);
  });

  it('a 100/min key hit 150 times through both APIs at once serves exactly 100', async () => {
    const minted = await fetch(`${api1.url}/api/v1/keys`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'limited', scopes: ['infer'], limits: { requestsPerMinute: 100 } }),
    });
    expect(minted.status).toBe(201);
    const { key } = (await minted.json()) as { key: string };
    const limited = { authorization: `Bearer ${key}` };
    const answers = await Promise.all(
      Array.from({ length: 150 }, (_, i) => infer(i % 2 ? api1 : api2, limited).then((r) => r.status)),
    );
    expect(answers.filter((s) => s === 200)).toHaveLength(100);
    expect(answers.filter((s) => s === 429)).toHaveLength(50);
  });

  it('a version deleted through API 1: API 2, which had it in memory, answers 404 within 1 s', async () => {
    expect((await infer(api2, auth, '1')).status).toBe(200);
    const del = await fetch(`${api1.url}/api/v1/models/lin/versions/1`, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(204);
    const deleted = Date.now();
    const status = await eventually(
      'API 2 to answer 404',
      async () => {
        const s = (await infer(api2, auth, '1')).status;
        return s === 404 ? s : null;
      },
      1000,
      20,
    );
    expect(status).toBe(404);
    expect(Date.now() - deleted).toBeLessThan(1000);
  });

  it('a training created through API 1 streams through API 2; kill -9 of its worker → the other resumes it, one version', async () => {
    const up = await fetch(`${api1.url}/api/v1/datasets?name=line`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: lineCsv(2000),
    });
    expect(up.status).toBe(201);
    const created = await fetch(`${api1.url}/api/v1/trainings`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({
        family: 'mlp',
        dataset: 'line',
        model: 'line',
        hyperparameters: { epochs: 4, batch_size: 8, checkpoint_every: 40, hidden: [32] },
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const events = `${api2.url}/api/v1/trainings/${id}/events`;

    // Kill at the first checkpoint: on a loaded machine the stream reaches this test well after
    // the job emitted it, and the kill must land while the job still runs.
    const before = await readEvents(
      events,
      auth,
      null,
      (e) => e.event === 'checkpoint' && Number(e.data.step) >= 40,
    );
    const seen = before.at(-1)!;
    // The worker whose child process is the trainer runs the job.
    const running = workers.filter((w) => trainerPids(w.child.pid!).length > 0);
    expect(running).toHaveLength(1);
    const [victim] = running;
    const survivor = workers.find((w) => w !== victim)!;
    await victim.stop('SIGKILL');

    const after = await readEvents(events, auth, seen.id, () => false);
    const all = [...before, ...after];
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    const resumed = after.find((e) => e.event === 'resumed');
    expect(resumed, JSON.stringify(after.map((e) => e.event))).toBeDefined();
    expect(Number(resumed!.data.step)).toBeGreaterThanOrEqual(Number(seen.data.step));
    expect(all.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded' } });

    const job = (await (await fetch(`${api2.url}/api/v1/trainings/${id}`, { headers: auth })).json()) as {
      status: string;
      attempts: number;
    };
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2 });
    const versions = (await (
      await fetch(`${api1.url}/api/v1/models/line/versions`, { headers: auth })
    ).json()) as { versions: { metadata: { lineage: { job: string; resumedFrom: number } } }[] };
    expect(versions.versions).toHaveLength(1);
    expect(versions.versions[0].metadata.lineage).toMatchObject({ job: id });
    expect(versions.versions[0].metadata.lineage.resumedFrom).toBeGreaterThan(0);
    // The new version is served by both APIs.
    for (const p of [api1, api2]) {
      const res = await fetch(`${p.url}/api/v1/models/line`, { headers: auth });
      expect(res.status).toBe(200);
    }
    workers = [survivor];
  }, 90_000);

  it('kill -9 of the leading worker: a follower takes over the leadership and logs it', async () => {
    const [survivor] = workers;
    // The survivor leads: from its start, or once the killed worker's lock went with its connection.
    await eventually(
      'the surviving worker to lead',
      async () => /role worker, leader|took over the leadership/.test(survivor.output()) || null,
      30_000,
      200,
    );
    const follower = await startMember(settings, 'worker3', 'worker', { logLevel: 'info' });
    workers = [survivor, follower];
    expect(follower.output()).toMatch(/role worker\)/);
    await survivor.stop('SIGKILL');
    workers = [follower];
    // Followers ask for the advisory lock every 5 s.
    await eventually(
      'worker3 to take over',
      async () => /took over the leadership/.test(follower.output()) || null,
      30_000,
      200,
    );
    expect((await fetch(`${follower.url}/readyz`)).status).toBe(200);
  }, 90_000);
});
