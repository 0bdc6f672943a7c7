/**
 * Zoo rows that depend on a data package the machine may lack (fashion-cnn, fashion-gen need
 * Debian `dataset-fashion-mnist`). The unavailable path uses a row whose `available()` is false
 * (no system file is touched): never queued, listed as `unavailable` with its hint by the API and
 * the CLI, skipped by `zoo train`, and a call on it answers 404 with the hint. The available path
 * trains both Fashion rows at quick scale and draws from the generator through its runtime; it is
 * skipped only where the package is absent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { zooTable } from '../../src/cli/zoo';
import { isMaasError } from '../../src/common/errors';
import { EngineSession } from '../../src/engine/runtime/session';
import { decodePng } from '../../src/models/common/image';
import { imageGenRuntime } from '../../src/models/vision/index';
import { fashionAvailable } from '../../src/models/zoo/fashion';
import { registerZooEntry, zooEntries, zooEntry } from '../../src/models/zoo/index';
import { zooStatus } from '../../src/platform/zoo';
import { zooQueue } from '../../src/platform/zoo-training/service';
import { auth, type TestServer, testServer } from '../helpers/server';

const HINT = 'apt-get install dataset-nothing';
let trainCalls = 0;
registerZooEntry({
  name: 'absent-data',
  family: 'image-gen',
  task: 'image-generation',
  seed: 1,
  description: 'a row whose data package is not installed',
  expectedSeconds: { full: 1, quick: 1 },
  available: () => false,
  unavailableHint: HINT,
  async train() {
    trainCalls++;
    throw new Error('an unavailable row must never be trained');
  },
});

describe('a zoo row whose data is not installed', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await s.close();
  });

  it('is never queued by a first start, while available rows are', () => {
    const queue = zooQueue(zooEntries(), new Map(), 'full').map((e) => e.name);
    expect(queue).not.toContain('absent-data');
    expect(queue).toContain('cppn');
    expect(queue.includes('fashion-gen')).toBe(fashionAvailable());
  });

  it('is listed as unavailable with its hint, by GET /api/v1/zoo and by the table', async () => {
    const res = await s.app.inject({ url: '/api/v1/zoo', headers: auth });
    expect(res.statusCode).toBe(200);
    const rows = (res.json() as { models: { name: string; state: string; unavailable: string | null }[] })
      .models;
    const row = rows.find((r) => r.name === 'absent-data');
    expect(row).toMatchObject({ state: 'unavailable', unavailable: `unavailable: ${HINT}` });
    for (const name of ['fashion-cnn', 'fashion-gen']) {
      const r = rows.find((x) => x.name === name);
      expect(r?.state).toBe(fashionAvailable() ? 'missing' : 'unavailable');
      if (!fashionAvailable())
        expect(r?.unavailable).toBe('unavailable: apt-get install dataset-fashion-mnist');
    }
    const table = zooTable(await zooStatus(s.platform)).join('\n');
    expect(table).toMatch(
      /^absent-data\timage-gen\tunavailable\t-\t.*\tunavailable: apt-get install dataset-nothing$/m,
    );
  });

  it('answers a call with 404 and the hint, not a crash', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/zoo~absent-data/imagine',
      headers: auth,
      payload: { prompt: 'a 7' },
    });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-maas-zoo-state']).toBe('unavailable');
    expect((res.json() as { detail: string }).detail).toBe(
      `zoo model 'absent-data' is not installed and this machine cannot train it (unavailable: ${HINT})`,
    );
  });

  it('is skipped by `maas zoo train` and shown by `maas zoo ls`', async () => {
    let out = '';
    const io = {
      out: (line: string) => {
        out += `${line}\n`;
      },
      err: () => {},
      env: { MAAS_ADMIN_KEY: 'fashion-test-admin-key-0123456789' },
      stdin: async () => '',
    };
    const dir = ['--data-dir', s.dataDir];
    expect(await main(['zoo', 'train', '--only', 'absent-data', ...dir], io)).toBe(0);
    expect(out).toContain(`== absent-data: skipped, unavailable: ${HINT}`);
    expect(await main(['zoo', 'ls', '--url', 'http://127.0.0.1:1', ...dir], io)).toBe(0);
    expect(out).toMatch(/^absent-data\timage-gen\tunavailable\t/m);
    expect(trainCalls).toBe(0);
  });
});

const error = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return isMaasError(e) ? `${e.code}: ${e.message}` : String(e);
  }
  return 'no error';
};

describe.skipIf(!fashionAvailable())('fashion-cnn and fashion-gen (quick scale)', () => {
  it('train, judge the generator with the CNN, and draw the class a prompt names', async () => {
    const log: string[] = [];
    const ctx = { seed: 1, scale: 'quick' as const, log: (l: string) => log.push(l) };
    const cnn = await zooEntry('fashion-cnn').train(ctx);
    // 1 epoch of 4,000 images (81 % measured): well above chance (10 %), below the full run.
    expect(cnn.quality).toMatchObject({ metric: 'heldout_accuracy', target: 0.88 });
    expect(cnn.quality.value).toBeGreaterThan(0.6);
    expect(cnn.metadata.labels).toContain('Ankle boot');

    const gen = await zooEntry('fashion-gen').train(ctx);
    expect(gen.quality).toMatchObject({ metric: 'recognised_by_zoo_cnn', target: 0.85 });
    expect(gen.quality.details?.samples).toBe(200);
    // 5 short epochs of a small VAE: 51 % measured, chance is 10 %.
    expect(gen.quality.value).toBeGreaterThan(0.3);
    expect(log.some((l) => /^fashion-gen: epoch 5\/5 loss \d/.test(l))).toBe(true);

    const session = await EngineSession.create(gen.onnx);
    try {
      const runtime = imageGenRuntime({
        run: (inputs, o) => session.run(inputs, o?.outputs),
        metadata: gen.metadata,
      });
      const [png] = await runtime.generate({ prompt: 'An ankle boot', n: 1, width: 56, height: 56, seed: 3 });
      expect([decodePng(png).width, decodePng(png).height]).toEqual([56, 56]);
      await expect(
        runtime.generate({ prompt: 'a hat', n: 1, width: 28, height: 28, seed: 3 }),
      ).rejects.toThrow(/names no class this model draws.*ankle boot\/boot/);
    } finally {
      await session.release();
    }
    expect(error(() => zooEntry('fashion-gen'))).toBe('no error');
  }, 180_000);
});
