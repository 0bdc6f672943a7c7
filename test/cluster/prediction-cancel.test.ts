/**
 * Cancel across processes: two API processes on one PostgreSQL schema, each running at most one
 * prediction at a time (MAAS_PREDICTION_CONCURRENCY=1). A prediction running on API 1 is canceled
 * through API 2: API 2 marks the row canceled and API 1 stops the run, so its one slot is free at
 * once. The proof is that slot: a new prediction created through API 1 then runs and finishes,
 * while the canceled run would have held the slot for minutes (a model of thousands of
 * 1024 × 1024 MatMuls) and API 2's own slot is held by a long prediction of its own, so it cannot
 * take the new one instead. Once with Redis (the bus message), once without (API 1's poll of the row).
 * Skipped with a line when PostgreSQL or Redis is absent, like the other cluster tests.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/admin';
import { buildModel, linearModel } from '../helpers/onnx-fixtures';
import { POSTGRES_TEST_URL, postgresAvailable } from '../helpers/postgres';
import { type ServeProcess, spawnServe } from '../helpers/serve';
import { redisAvailable, TEST_REDIS_URL } from '../helpers/services';
import { tempDir } from '../helpers/tmp';
import { clusterAuth as auth, CLUSTER_KEY, clusterEnv, clusterSettings, eventually } from './helpers';

const available = (await redisAvailable()) && (await postgresAvailable('the cross-process cancel test'));
const json = { ...auth, 'content-type': 'application/json' };

/**
 * x [1, 2048] spread to 2048 × 2048 (times a column of ones), then `steps` MatMuls with the
 * identity: 17 GFLOP each, minutes of one core for 300. The identity is scaled by mean(x) (1 here)
 * so that it is not a constant: with 300 MatMuls of a constant operand ONNX Runtime's session
 * took 4 s to create on an idle core (0.6 s this way), and 20–30 s in the servers under the full
 * suite's load, so the cancel landed during the load instead of the run.
 */
function endlessModel(steps: number): Uint8Array {
  const n = 2048;
  const eye = new Float32Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  const f32 = (a: Float32Array) => new Uint8Array(a.buffer);
  return buildModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, n] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1] }],
    nodes: [
      { op: 'Mul', inputs: ['x', 'ones'], outputs: ['h0'] },
      {
        op: 'ReduceMean',
        inputs: ['x'],
        outputs: ['mean'],
        intLists: { axes: [0, 1] },
        ints: { keepdims: 1 },
      },
      { op: 'Mul', inputs: ['eye', 'mean'], outputs: ['b'] },
      ...Array.from({ length: steps }, (_, s) => ({
        op: 'MatMul',
        inputs: [`h${s}`, 'b'],
        outputs: [`h${s + 1}`],
      })),
      {
        op: 'ReduceMean',
        inputs: [`h${steps}`],
        outputs: ['y'],
        intLists: { axes: [0, 1] },
        ints: { keepdims: 1 },
      },
    ],
    initializers: [
      { name: 'ones', dtype: 'float32', dims: [n, 1], raw: f32(new Float32Array(n).fill(1)) },
      { name: 'eye', dtype: 'float32', dims: [n, n], raw: f32(eye) },
    ],
  });
}

describe.skipIf(!available).each([
  ['with Redis: the bus message', true],
  ['without Redis: a poll of the row', false],
])('a prediction canceled through another API process stops (%s)', (_how, withRedis) => {
  let api1: ServeProcess;
  let api2: ServeProcess;
  let schema = '';
  let redisPrefix = '';
  let removeTmp: () => Promise<void>;

  beforeAll(async () => {
    const tmp = await tempDir('maas-cancel-');
    removeTmp = tmp.remove;
    const settings = clusterSettings(tmp.dir);
    schema = settings.schema;
    redisPrefix = settings.redisPrefix;
    const env: Record<string, string> = { ...clusterEnv(settings), MAAS_PREDICTION_CONCURRENCY: '1' };
    if (!withRedis) {
      delete env.MAAS_REDIS_URL;
      delete env.MAAS_REDIS_PREFIX;
    }
    const member = (name: string) =>
      spawnServe({ dataDir: `${tmp.dir}/${name}`, adminKey: CLUSTER_KEY, flags: ['--role', 'api'], env });
    api1 = await member('api1');
    api2 = await member('api2');
    for (const [name, bytes] of [
      ['endless', endlessModel(300)],
      ['lin', linearModel(4, 3).bytes],
    ] as const) {
      const up = await fetch(`${api1.url}/api/v1/models/${name}/versions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
      expect(up.status, await up.text()).toBe(201);
    }
  }, 180_000);

  afterAll(async () => {
    // SIGKILL: the canceled run's ORT call is still computing in API 1's model thread.
    await Promise.all([api1, api2].filter(Boolean).map((p) => p.stop('SIGKILL')));
    if (schema) await dropPostgresSchema(POSTGRES_TEST_URL, schema);
    if (withRedis && redisPrefix) {
      const redis = new Redis(TEST_REDIS_URL);
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
    await removeTmp?.();
  });

  const create = async (p: ServeProcess, model: string, input: unknown, prefer?: string) => {
    const res = await fetch(`${p.url}/api/v1/predictions`, {
      method: 'POST',
      headers: { ...json, ...(prefer ? { prefer } : {}) },
      body: JSON.stringify({ model, input }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; status: string; output: unknown; logs: string };
  };
  const get = async (p: ServeProcess, id: string) =>
    (await (await fetch(`${p.url}/api/v1/predictions/${id}`, { headers: auth })).json()) as {
      status: string;
    };
  const tensor = (name: string, shape: number[], data: number[]) => ({
    inputs: [{ name, shape, datatype: 'FP32', data }],
  });

  it('API 1 frees its slot at once: its next prediction runs while the canceled one would still compute', async () => {
    // The small model is loaded on API 1 first: the new prediction's time is a run, not a load.
    expect((await create(api1, 'lin', tensor('x', [1, 4], [1, 2, 3, 4]), 'wait=60')).status).toBe(
      'succeeded',
    );
    // API 2's one slot: a long prediction of its own, so it cannot run what API 1 queues.
    const held = await create(api2, 'endless', tensor('x', [1, 2048], new Array(2048).fill(1)));
    const running = await create(api1, 'endless', tensor('x', [1, 2048], new Array(2048).fill(1)));
    for (const [p, id] of [
      [api2, held.id],
      [api1, running.id],
    ] as const)
      await eventually(
        `${id} processing`,
        async () => ((await get(p, id)).status === 'processing' ? true : null),
        60_000,
      );

    const cancel = await fetch(`${api2.url}/api/v1/predictions/${running.id}/cancel`, {
      method: 'POST',
      headers: auth,
    });
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as { status: string }).status).toBe('canceled');

    // Expected within a second or two (the message, or API 1's 1 s poll); the canceled run, had
    // it gone on, would hold API 1's slot for minutes.
    const next = await create(api1, 'lin', tensor('x', [1, 4], [1, 2, 3, 4]), 'wait=30');
    expect(next.status, next.logs).toBe('succeeded');
    // The row stays as the cancel wrote it, seen from either process.
    expect((await get(api1, running.id)).status).toBe('canceled');
    expect((await get(api2, held.id)).status).toBe('processing');
  }, 180_000);
});
