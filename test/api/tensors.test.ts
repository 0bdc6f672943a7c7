import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSubModel, type FixtureDType, identityModel, linearModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer, upload } from '../helpers/server';

const cases: [FixtureDType, string, unknown[]][] = [
  ['float32', 'FP32', [1.5, -2.25, 0, 0.1171875]],
  ['float64', 'FP64', [1.000000000001, -2, 1e300, 0]],
  ['int8', 'INT8', [-128, 127, 0, 5]],
  ['int16', 'INT16', [-32768, 32767, 1, -1]],
  ['int32', 'INT32', [-(2 ** 31), 2 ** 31 - 1, 7, 0]],
  ['int64', 'INT64', [-(2 ** 53) + 1, 2 ** 53 - 1, 42, -1]],
  ['uint8', 'UINT8', [0, 255, 128, 1]],
  ['bool', 'BOOL', [true, false, false, true]],
];

describe('KServe v2 tensors', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
    const uploads = await Promise.all([
      ...cases.map(([dtype]) => upload(s.app, `id-${dtype}`, identityModel(dtype))),
      upload(s.app, 'addsub', addSubModel()),
      upload(s.app, 'lin', linearModel(4, 3).bytes),
    ]);
    for (const u of uploads) expect(u.statusCode, JSON.stringify(u.body)).toBe(201);
  });
  afterAll(async () => {
    await s.close();
  });

  const infer = (model: string, payload: unknown) =>
    s.app.inject({
      method: 'POST',
      url: `/v2/models/${model}/infer`,
      headers: auth,
      payload: payload as object,
    });

  it.each(cases)('round-trips %s (%s) exactly', async (dtype, datatype, data) => {
    const res = await infer(`id-${dtype}`, { inputs: [{ name: 'x', shape: [4], datatype, data }] });
    expect(res.statusCode, res.body).toBe(200);
    const [y, shape] = res.json().outputs;
    expect(y).toEqual({ name: 'y', datatype, shape: [4], data });
    expect(shape).toEqual({ name: 'shape', datatype: 'INT64', shape: [1], data: [4] });
  });

  it('takes several inputs, returns several outputs, selects outputs, accepts nested data', async () => {
    const both = await infer('addsub', {
      inputs: [
        {
          name: 'a',
          shape: [2, 2],
          datatype: 'FP32',
          data: [
            [1, 2],
            [3, 4],
          ],
        },
        { name: 'b', shape: [2, 2], datatype: 'FP32', data: [10, 20, 30, 40] },
      ],
    });
    expect(both.json().outputs).toEqual([
      { name: 'sum', datatype: 'FP32', shape: [2, 2], data: [11, 22, 33, 44] },
      { name: 'diff', datatype: 'FP32', shape: [2, 2], data: [-9, -18, -27, -36] },
    ]);
    const one = await infer('addsub', {
      inputs: [
        { name: 'a', shape: [1, 2], datatype: 'FP32', data: [1, 2] },
        { name: 'b', shape: [1, 2], datatype: 'FP32', data: [1, 1] },
      ],
      outputs: [{ name: 'diff' }],
    });
    expect(one.json().outputs).toEqual([{ name: 'diff', datatype: 'FP32', shape: [1, 2], data: [0, 1] }]);
  });

  it.each([
    [
      'wrong datatype',
      { inputs: [{ name: 'x', shape: [1, 4], datatype: 'INT32', data: [1, 2, 3, 4] }] },
      /must be float32/,
    ],
    [
      'wrong shape',
      { inputs: [{ name: 'x', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] },
      /dim 1 must be 4/,
    ],
    ['wrong rank', { inputs: [{ name: 'x', shape: [4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /rank 2/],
    [
      'data length mismatch',
      { inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3] }] },
      /3 values/,
    ],
    [
      'unknown datatype',
      { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP16', data: [1, 2, 3, 4] }] },
      /datatype/,
    ],
    [
      'string values',
      { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: ['1', 2, 3, 4] }] },
      /a number/,
    ],
    [
      'negative dims',
      { inputs: [{ name: 'x', shape: [-1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
      /shape/,
    ],
    [
      'missing input',
      { inputs: [{ name: 'z', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
      /no input 'z'/,
    ],
    [
      'unknown output',
      {
        inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
        outputs: [{ name: 'q' }],
      },
      /no output 'q'/,
    ],
    ['no inputs', { inputs: [] }, /non-empty/],
    [
      'unknown property',
      { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], tenant: 'x' },
      /unknown property/,
    ],
  ])('refuses %s with 400 in the protocol error shape', async (_label, payload, message) => {
    const res = await infer('lin', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: expect.stringMatching(message) });
  });

  it('refuses out-of-range integers and malformed JSON', async () => {
    const res = await infer('id-int8', {
      inputs: [{ name: 'x', shape: [1], datatype: 'INT8', data: [300] }],
    });
    expect(res.statusCode).toBe(400);
    const bad = await s.app.inject({
      method: 'POST',
      url: '/v2/models/lin/infer',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"inputs": [',
    });
    expect(bad.statusCode).toBe(400);
    expect(Object.keys(bad.json())).toEqual(['error']);
    const health = await s.app.inject({ url: '/healthz' });
    expect(health.statusCode).toBe(200);
  });
});
