import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearModel, linearReference } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer, upload } from '../helpers/server';

describe('native models API + KServe v2 infer', () => {
  let s: TestServer;
  const lin = linearModel(4, 3);
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await s.close();
  });

  it('uploads (201), lists, reads, aliases and deletes', async () => {
    const up = await upload(s.app, 'lin', lin.bytes, '?task=regression&max_batch_size=4');
    expect(up.statusCode).toBe(201);
    expect(up.body).toMatchObject({ model: 'lin', version: 1, sizeBytes: lin.bytes.length });
    const list = await s.app.inject({ url: '/api/v1/models', headers: auth });
    expect(list.json().models.map((m: { name: string }) => m.name)).toEqual(['lin']);
    const detail = await s.app.inject({ url: '/api/v1/models/lin', headers: auth });
    expect(detail.json()).toMatchObject({
      name: 'lin',
      task: 'regression',
      serving: { max_batch_size: 4 },
      aliases: { latest: 1 },
    });
    await upload(s.app, 'lin', lin.bytes);
    const put = await s.app.inject({
      method: 'PUT',
      url: '/api/v1/models/lin/aliases/prod',
      headers: auth,
      payload: { version: 1 },
    });
    expect(put.json()).toEqual({ alias: 'prod', version: 1 });
    const v = await s.app.inject({ url: '/api/v1/models/lin/versions/prod', headers: auth });
    expect(v.json().version).toBe(1);
    const del = await s.app.inject({ method: 'DELETE', url: '/api/v1/models/lin/versions/2', headers: auth });
    expect(del.statusCode).toBe(204);
    const gone = await s.app.inject({ url: '/api/v1/models/lin/versions/2', headers: auth });
    expect(gone.statusCode).toBe(404);
    expect(gone.headers['content-type']).toContain('application/problem+json');
    expect(gone.json()).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('answers /v2 infer with the model output', async () => {
    const x = [1, 2, 3, 4, -1, 0.5, 0, 2];
    const res = await s.app.inject({
      method: 'POST',
      url: '/v2/models/lin/infer',
      headers: auth,
      payload: { id: 'r1', inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: x }] },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ model_name: 'lin', model_version: '1', id: 'r1' });
    expect(body.outputs[0]).toMatchObject({ name: 'y', datatype: 'FP32', shape: [2, 3] });
    const want = linearReference(x, lin.W, lin.b, 4, 3);
    body.outputs[0].data.forEach((v: number, i: number) => {
      expect(v).toBeCloseTo(want[i], 5);
    });
    const meta = await s.app.inject({ url: '/v2/models/lin', headers: auth });
    expect(meta.json()).toMatchObject({
      name: 'lin',
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
    });
    const ready = await s.app.inject({ url: '/v2/models/lin/versions/1/ready', headers: auth });
    expect(ready.json()).toEqual({ name: 'lin', ready: true });
  });
});
