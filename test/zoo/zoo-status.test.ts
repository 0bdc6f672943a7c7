/**
 * The pieces of the zoo's first-start training that need no child process: MAAS_ZOO parsing,
 * progress/ETA from trainer lines, and GET /api/v1/zoo on a server whose zoo is off (rows missing,
 * then one installed in-process with `installZooModel`, seen by an infer-only key of another tenant).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zooEntry } from '../../src/models/zoo/index';
import { loadConfig } from '../../src/platform/config';
import { installZooModel } from '../../src/platform/zoo';
import { formatSeconds, ProgressTracker, parseCounter } from '../../src/platform/zoo-training/progress';
import { publicError } from '../../src/platform/zoo-training/service';
import { auth, type TestServer, testServer } from '../helpers/server';
import { bearer, mintKey } from '../tenancy/platform-fixture';

describe('MAAS_ZOO', () => {
  it('defaults to auto, takes quick/off from env or --zoo, refuses anything else by name', () => {
    expect(loadConfig({}).zoo).toBe('auto');
    expect(loadConfig({ MAAS_ZOO: 'quick' }).zoo).toBe('quick');
    expect(loadConfig({ MAAS_ZOO: 'quick' }, { '--zoo': 'off' }).zoo).toBe('off');
    expect(() => loadConfig({ MAAS_ZOO: 'sometimes' })).toThrow(/MAAS_ZOO.*auto, off, quick/);
  });
});

describe('zoo progress', () => {
  it('reads step/epoch counters from trainer lines', () => {
    expect(parseCounter('gpt: step 300/900 loss 1.912 (1.95 steps/s, 154 s)')).toEqual([300, 900]);
    expect(parseCounter('image-gen: epoch 3/30 loss 131.20 nats/image')).toEqual([3, 30]);
    expect(parseCounter('mnist-cnn: training on 16 epoch(s)')).toBeNull();
    expect(parseCounter('step 5/0')).toBeNull();
  });

  it('estimates the time left from the counter, else from the expected time', () => {
    const t = new ProgressTracker(1_000_000, 100);
    // 20 s in, nothing counted yet: the row's expected 100 s says 80 s left.
    expect(t.view(1_020_000)).toMatchObject({ line: null, elapsedSeconds: 20, etaSeconds: 80 });
    t.update('gpt: step 25/100 loss 2.0');
    // 25 of 100 steps in 20 s → 60 s for the other 75.
    expect(t.view(1_020_000)).toMatchObject({ step: 25, steps: 100, etaSeconds: 60 });
    t.update('gpt: scoring held-out text');
    expect(t.view(1_020_000)).toMatchObject({ line: 'gpt: scoring held-out text', step: 25 });
    expect([formatSeconds(8.2), formatSeconds(75), formatSeconds(120)]).toEqual([
      '8 s',
      '1 min 15 s',
      '2 min',
    ]);
  });
});

describe('zoo trainer errors', () => {
  it('reach API readers without file paths', () => {
    expect(publicError("ENOENT: no such file or directory, open '/usr/share/datasets/x.gz'")).toBe(
      "ENOENT: no such file or directory, open '<path>'",
    );
    expect(publicError('cannot read C:\\Users\\me\\data.bin (code 3)')).toBe('cannot read <path> (code 3)');
    expect(publicError('the zoo trainer exited unexpectedly (SIGKILL) at 1.9 steps/s')).toBe(
      'the zoo trainer exited unexpectedly (SIGKILL) at 1.9 steps/s',
    );
    expect(publicError('x'.repeat(1000))).toHaveLength(300);
  });
});

describe('GET /api/v1/zoo (zoo off)', () => {
  let s: TestServer;
  let key: string;
  beforeAll(async () => {
    s = await testServer();
    const t = await s.app.inject({
      method: 'POST',
      url: '/api/v1/tenants',
      headers: auth,
      payload: { name: 'acme' },
    });
    expect(t.statusCode).toBe(201);
    key = (await mintKey(s, { tenant: 'acme', name: 'app', scopes: ['infer'] })).key;
  });
  afterAll(async () => {
    await s.close();
  });

  it('lists every row as missing, then an installed one as ready with its quality', async () => {
    const before = await s.app.inject({ url: '/api/v1/zoo', headers: bearer(key) });
    expect(before.statusCode).toBe(200);
    const body = before.json() as {
      mode: string;
      models: { name: string; state: string; model: string; unavailable: string | null }[];
    };
    expect(body.mode).toBe('off');
    expect(body.models.map((r) => r.name)).toEqual(expect.arrayContaining(['cppn', 'gpt', 'mnist-cnn']));
    // A row this machine cannot train (fashion-* without its Debian package) says so instead.
    for (const r of body.models)
      expect(r).toMatchObject({
        state: r.unavailable ? 'unavailable' : 'missing',
        model: `zoo~${r.name}`,
      });
    // Off: a missing zoo model is a plain 404 (nothing is coming).
    const missing = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/zoo~cppn/imagine',
      headers: bearer(key),
      payload: { prompt: 'x' },
    });
    expect(missing.statusCode).toBe(404);

    const entry = zooEntry('cppn');
    const artifact = await entry.train({ seed: entry.seed, scale: 'quick', log: () => {} });
    await installZooModel(s.platform, 'cppn', { artifact, seed: entry.seed, seconds: 0.1, scale: 'quick' });
    const after = await s.app.inject({ url: '/api/v1/zoo', headers: bearer(key) });
    const cppn = (after.json() as { models: Record<string, unknown>[] }).models.find(
      (r) => r.name === 'cppn',
    );
    expect(cppn).toMatchObject({
      state: 'ready',
      version: 1,
      scale: 'quick',
      public: true,
      progress: null,
      error: null,
      quality: { metric: 'onnx_bytes' },
    });
    expect((await s.app.inject({ url: '/api/v1/zoo' })).statusCode).toBe(401);
  });

  it('judges gpt against the installed lstm-lm as well as its own target', async () => {
    type Row = {
      name: string;
      quality: { value: number; target: number };
      meetsTarget: boolean;
      rivals: unknown[];
    };
    const rows = async () =>
      ((await s.app.inject({ url: '/api/v1/zoo', headers: bearer(key) })).json() as { models: Row[] }).models;
    const install = async (name: string) => {
      const entry = zooEntry(name);
      const artifact = await entry.train({ seed: entry.seed, scale: 'quick', log: () => {} });
      await installZooModel(s.platform, name, { artifact, seed: entry.seed, seconds: 1, scale: 'quick' });
    };
    await install('gpt');
    // No lstm-lm yet: nothing to compare with, only the unigram target counts.
    expect((await rows()).find((r) => r.name === 'gpt')).toMatchObject({ rivals: [] });
    await install('lstm-lm');
    const all = await rows();
    const gpt = all.find((r) => r.name === 'gpt')!;
    const lstm = all.find((r) => r.name === 'lstm-lm')!;
    const beaten = gpt.quality.value < lstm.quality.value;
    expect(gpt.rivals).toEqual([{ name: 'lstm-lm', value: lstm.quality.value, beaten }]);
    expect(gpt.meetsTarget).toBe(beaten && gpt.quality.value < gpt.quality.target);
    expect(lstm.rivals).toEqual([]);
  });
});
