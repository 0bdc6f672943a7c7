/**
 * `GET /api/v1/models/{name}/versions/{v}` (and the upload's answer) says whether the engine can import an uploaded ONNX
 * version (`trainable`) and, when not, which ops stand in the way (`missing_ops`): computed at
 * upload, kept in the version's metadata.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tabularMlp } from '../engine/import-models';
import { onnxModel } from '../engine/onnx-builder';
import { auth, type TestServer, testServer, upload } from '../helpers/server';

describe('trainable and missing_ops of an uploaded version', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await s.close();
  });

  const version = async (name: string) => {
    const res = await s.app.inject({
      method: 'GET',
      url: `/api/v1/models/${name}/versions/1`,
      headers: auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  it('a model of importable ops is trainable, with no missing ops', async () => {
    const up = await upload(s.app, 'mlp', tabularMlp());
    expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
    const v = await version('mlp');
    expect(v.trainable).toBe(true);
    expect(v.missing_ops).toEqual([]);
    expect(v.metadata).toMatchObject({ trainable: true, missing_ops: [] });
  });

  it('a model ONNX Runtime serves but the engine cannot import lists the ops it lacks', async () => {
    const bytes = onnxModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 4] }],
      nodes: [
        { op: 'Softplus', inputs: ['x'], outputs: ['a'] },
        { op: 'HardSigmoid', inputs: ['a'], outputs: ['b'] },
        { op: 'Relu', inputs: ['b'], outputs: ['y'] },
      ],
    });
    const up = await upload(s.app, 'soft', bytes);
    expect(up.statusCode, JSON.stringify(up.body)).toBe(201);
    // The upload's answer says so too, as the version's GET does.
    expect(up.body).toMatchObject({ trainable: false, missing_ops: ['HardSigmoid', 'Softplus'] });
    const v = await version('soft');
    expect(v.trainable).toBe(false);
    expect(v.missing_ops).toEqual(['HardSigmoid', 'Softplus']);
  });
});
