import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type TestServer, testServer } from '../helpers/server';
import { lineCsv, uploadDataset } from './helpers';

describe('datasets API', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await s.close();
  });

  it('uploads a CSV, describes it, lists it beside the built-ins, deletes it', async () => {
    const up = await uploadDataset(s.app, 'line', lineCsv(50));
    expect(up.statusCode).toBe(201);
    const d = up.json();
    expect(d).toMatchObject({ name: 'line', format: 'csv', kind: 'tabular', rows: 50, builtin: false });
    expect(d.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(d.schema.map((c: { name: string; kind: string }) => `${c.name}:${c.kind}`)).toEqual([
      'x1:numeric',
      'x2:numeric',
      'colour:categorical',
      'label:categorical',
    ]);
    expect(Object.values(d.classBalance as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(50);
    expect(d.preview).toHaveLength(5);

    const list = (await s.app.inject({ method: 'GET', url: '/api/v1/datasets', headers: auth })).json();
    const names = list.datasets.map((x: { name: string }) => x.name);
    expect(names).toEqual(expect.arrayContaining(['line', 'xor', 'mnist', 'spam', 'moby-dick']));
    expect(list.datasets.find((x: { name: string }) => x.name === 'mnist')).toMatchObject({
      builtin: true,
      kind: 'image',
    });

    const dup = await uploadDataset(s.app, 'line', lineCsv(5));
    expect(dup.statusCode).toBe(409);
    const del = await s.app.inject({ method: 'DELETE', url: '/api/v1/datasets/line', headers: auth });
    expect(del.statusCode).toBe(204);
    expect(
      (await s.app.inject({ method: 'GET', url: '/api/v1/datasets/line', headers: auth })).statusCode,
    ).toBe(404);
  });

  it('describes a built-in by name', async () => {
    const r = await s.app.inject({ method: 'GET', url: '/api/v1/datasets/xor', headers: auth });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ name: 'xor', builtin: true, rows: 400, kind: 'tabular' });
  });

  it('refuses a malformed CSV with a 4xx naming the line, and keeps nothing', async () => {
    const r = await uploadDataset(s.app, 'broken', 'a,b,label\n1,2,x\n3,4\n');
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('invalid_dataset');
    expect(r.json().detail).toMatch(/line 3/);
    expect(
      (await s.app.inject({ method: 'GET', url: '/api/v1/datasets/broken', headers: auth })).statusCode,
    ).toBe(404);
  });

  it('refuses bad names, built-in names, empty bodies and bodies over the limit', async () => {
    expect((await uploadDataset(s.app, '..%2fevil', 'a\n1\n')).statusCode).toBe(400);
    expect((await uploadDataset(s.app, 'mnist', 'a\n1\n')).statusCode).toBe(409);
    expect((await uploadDataset(s.app, 'empty', '')).statusCode).toBe(400);
    const small = await testServer({ maxDatasetBytes: 100 });
    try {
      expect((await uploadDataset(small.app, 'big', lineCsv(50))).statusCode).toBe(413);
    } finally {
      await small.close();
    }
  });
});
