import { afterEach, describe, expect, it } from 'vitest';
import { linearModel, linearReference, slowModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer, upload } from '../helpers/server';

const lin = linearModel(4, 3);
const linInput = (x: number[]) => ({
  inputs: [{ name: 'x', shape: [x.length / 4, 4], datatype: 'FP32', data: x }],
});
const slowInput = (rows = 1) => ({
  inputs: [
    { name: 'x', shape: [rows, 256, 256], datatype: 'FP32', data: new Array(rows * 256 * 256).fill(0.5) },
  ],
});

describe('serving runtime', () => {
  let s: TestServer;
  afterEach(async () => {
    await s.close();
  });

  const infer = (model: string, payload: object, headers: Record<string, string> = {}) =>
    s.app.inject({
      method: 'POST',
      url: `/v2/models/${model}/infer`,
      headers: { ...auth, ...headers },
      payload,
    });

  it('coalesces concurrent requests into batches and splits results correctly', async () => {
    s = await testServer();
    expect((await upload(s.app, 'lin', lin.bytes, '?max_batch_size=8&max_delay_ms=100')).statusCode).toBe(
      201,
    );
    await infer('lin', linInput([0, 0, 0, 0])); // load outside the measured window
    const before = s.platform.metrics.batchSize.snapshot({ model: 'lin', version: '1' });
    const xs = Array.from({ length: 8 }, (_, i) => [i, i + 1, -i, 0.5]);
    const results = await Promise.all(xs.map((x) => infer('lin', linInput(x))));
    results.forEach((r, i) => {
      expect(r.statusCode).toBe(200);
      const want = linearReference(xs[i], lin.W, lin.b, 4, 3);
      r.json().outputs[0].data.forEach((v: number, j: number) => {
        expect(v).toBeCloseTo(want[j], 5);
      });
    });
    const after = s.platform.metrics.batchSize.snapshot({ model: 'lin', version: '1' });
    expect(after.sum - before.sum).toBe(8); // 8 requests served...
    expect(after.count - before.count).toBeLessThanOrEqual(2); // ...in at most 2 runs
    const metrics = await s.app.inject({ url: '/metrics', headers: auth });
    expect(metrics.body).toMatch(/maas_batch_size_bucket\{model="lin",version="1",le="8"\} \d+/);
    expect(metrics.body).toMatch(
      /maas_requests_total\{method="POST",model="lin",route="\/v2\/models\/:name\/infer",status="200"\} 9/,
    );
    expect(metrics.body).toMatch(/maas_loaded_models 1/);
    expect(metrics.body).toMatch(/maas_process_memory_bytes\{kind="rss"\} \d+/);
  });

  it('answers 429 with Retry-After when a model queue is full, and 504 past the deadline', async () => {
    s = await testServer();
    expect((await upload(s.app, 'slow', slowModel(300), '?max_batch_size=1&max_queue=2')).statusCode).toBe(
      201,
    );
    await infer('slow', slowInput());
    const results = await Promise.all(Array.from({ length: 7 }, () => infer('slow', slowInput())));
    const codes = results.map((r) => r.statusCode);
    expect(codes.every((c) => c === 200 || c === 429)).toBe(true);
    expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(2);
    const rejected = results.filter((r) => r.statusCode === 429);
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    expect(rejected[0].headers['retry-after']).toBe('1');
    expect(rejected[0].json()).toEqual({ error: expect.stringMatching(/requests waiting/) });
    const late = await infer('slow', slowInput(), { 'x-maas-timeout-ms': '1' });
    expect(late.statusCode).toBe(504);
    expect(late.json()).toEqual({ error: expect.stringMatching(/deadline/) });
    expect((await s.app.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('unloads idle models and reloads them on the next request', async () => {
    s = await testServer({ idleEvictMs: 150 });
    expect((await upload(s.app, 'lin', lin.bytes)).statusCode).toBe(201);
    expect((await infer('lin', linInput([1, 2, 3, 4]))).statusCode).toBe(200);
    expect(s.platform.pool.loaded).toEqual(['default/lin@1']);
    await new Promise((r) => setTimeout(r, 400));
    expect(s.platform.pool.loaded).toEqual([]);
    expect(s.platform.metrics.evictions.get({ reason: 'idle' })).toBe(1);
    expect((await infer('lin', linInput([1, 2, 3, 4]))).statusCode).toBe(200);
    expect(s.platform.metrics.loads.get({ model: 'lin', version: '1' })).toBe(2);
  });

  it('unloads the least recently used model when the memory budget is reached', async () => {
    // Each tiny model is estimated at 1 MiB + 2 × its size: a 1.5 MiB budget holds one.
    s = await testServer({ memoryBudgetBytes: 1.5 * 1024 * 1024 });
    expect((await upload(s.app, 'a', lin.bytes)).statusCode).toBe(201);
    expect((await upload(s.app, 'b', linearModel(4, 2).bytes)).statusCode).toBe(201);
    expect((await infer('a', linInput([1, 2, 3, 4]))).statusCode).toBe(200);
    expect((await infer('b', linInput([1, 2, 3, 4]))).statusCode).toBe(200);
    expect(s.platform.pool.loaded).toEqual(['default/b@1']);
    expect(s.platform.metrics.evictions.get({ reason: 'memory' })).toBe(1);
  });
});
