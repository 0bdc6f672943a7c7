/**
 * A cluster that needs only PostgreSQL and Redis (MAAS_BLOB_STORE=postgres): 2 API processes and
 * 2 workers with their own data folders and no shared folder. A model uploaded through API 1 is
 * served by API 2 from its own cache; a dataset uploaded through API 1 is trained on by a worker
 * (which fetches it from the database); `kill -9` of that worker → the other resumes the job from
 * the checkpoint the first stored in the database, and API 2 serves the one version; API 1
 * explains it (a model derived from the version's file, fetched from the database).
 */
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/admin';
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
  startMember,
  trainerPids,
} from './helpers';

const available =
  (await redisAvailable()) && (await postgresAvailable('the cluster test with MAAS_BLOB_STORE=postgres'));

/** The cached copies in a process's data folder (`artifacts/sha256/<ab>/<hex>`). */
async function cached(dataDir: string): Promise<string[]> {
  const base = join(dataDir, 'artifacts', 'sha256');
  const out: string[] = [];
  for (const prefix of await readdir(base).catch(() => [] as string[]))
    for (const name of await readdir(join(base, prefix))) out.push(`sha256:${name}`);
  return out;
}

describe.skipIf(!available)('a cluster on PostgreSQL and Redis only: blobs in the database', () => {
  let settings: ClusterSettings;
  let removeTmp: () => Promise<void>;
  let api1: ServeProcess;
  let api2: ServeProcess;
  let workers: ServeProcess[] = [];
  const json = { ...auth, 'content-type': 'application/json' };

  beforeAll(async () => {
    const tmp = await tempDir('maas-cluster-pg-');
    removeTmp = tmp.remove;
    settings = clusterSettings(tmp.dir, 'postgres');
    [api1, api2, ...workers] = await Promise.all([
      startMember(settings, 'api1', 'api'),
      startMember(settings, 'api2', 'api'),
      startMember(settings, 'worker1', 'worker'),
      startMember(settings, 'worker2', 'worker'),
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

  it('a model uploaded through API 1 is served by API 2 from its own cache; no shared folder exists', async () => {
    const { bytes, W, b } = linearModel(4, 3);
    const up = await fetch(`${api1.url}/api/v1/models/lin/versions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(up.status).toBe(201);
    const { digest } = (await up.json()) as { digest: string };
    expect(await cached(join(settings.root, 'api2'))).toEqual([]);
    const x = [1, 2, 3, 4];
    const res = await fetch(`${api2.url}/v2/models/lin/infer`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: x }] }),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { outputs: { data: number[] }[] };
    const expected = linearReference(x, W, b, 4, 3);
    for (const [i, v] of out.outputs[0].data.entries()) expect(v).toBeCloseTo(expected[i], 5);
    expect(await cached(join(settings.root, 'api2'))).toEqual([digest]);
    await expect(access(settings.blobDir)).rejects.toThrow();
  });

  it('a dataset uploaded through API 1 is trained by a worker; kill -9 → the other resumes from the checkpoint in the database', async () => {
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
    const before = await readEvents(
      events,
      auth,
      null,
      (e) => e.event === 'checkpoint' && Number(e.data.step) >= 40,
    );
    const seen = before.at(-1)!;
    // The checkpoint event names the blob the next worker fetches.
    expect(String(seen.data.digest)).toMatch(/^sha256:[0-9a-f]{64}$/);
    const running = workers.filter((w) => trainerPids(w.child.pid!).length > 0);
    expect(running).toHaveLength(1);
    const [victim] = running;
    await victim.stop('SIGKILL');

    const after = await readEvents(events, auth, seen.id, () => false);
    const resumed = after.find((e) => e.event === 'resumed');
    expect(resumed, JSON.stringify(after.map((e) => e.event))).toBeDefined();
    expect(Number(resumed!.data.step)).toBeGreaterThanOrEqual(Number(seen.data.step));
    expect(after.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded' } });
    workers = workers.filter((w) => w !== victim);

    const predicted = await fetch(`${api2.url}/api/v1/models/line/predict`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ inputs: [{ x1: 0.8, x2: -0.5, colour: 'red' }] }),
    });
    expect(predicted.status).toBe(200);
    const { predictions } = (await predicted.json()) as { predictions: { label: string }[] };
    expect(predictions).toHaveLength(1);
    const versions = (await (
      await fetch(`${api1.url}/api/v1/models/line/versions`, { headers: auth })
    ).json()) as { versions: { metadata: { lineage: { resumedFrom: number } } }[] };
    expect(versions.versions, JSON.stringify(versions.versions.map((v) => v.metadata.lineage))).toHaveLength(
      1,
    );
    expect(versions.versions[0].metadata.lineage.resumedFrom).toBeGreaterThan(0);
  }, 180_000);

  it('explains the trained model through API 1, which fetches its file from the database first', async () => {
    const detail = (await (
      await fetch(`${api1.url}/api/v1/models/line/versions/latest`, { headers: auth })
    ).json()) as {
      digest: string;
    };
    expect(detail.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await cached(join(settings.root, 'api1'))).not.toContain(detail.digest);
    const res = await fetch(`${api1.url}/api/v1/models/line/explain`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ input: { x1: 0.8, x2: -0.5, colour: 'red' } }),
    });
    const body = (await res.json()) as {
      kind: string;
      label: string;
      features: { feature: string; score: number }[];
    };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ kind: 'tabular', label: 'pos' });
    const scores = Object.fromEntries(body.features.map((f) => [f.feature, f.score]));
    expect(Object.keys(scores).sort()).toEqual(['colour', 'x1', 'x2']);
    expect(Math.abs(scores.x1!)).toBeGreaterThan(Math.abs(scores.colour!));
    // Served from API 1's own cache, fetched by digest: still no shared folder anywhere.
    expect(await cached(join(settings.root, 'api1'))).toContain(detail.digest);
    await expect(access(settings.blobDir)).rejects.toThrow();
  });
});
