/**
 * One test per bug the fuzzers found (docs/security.md, "Fuzzing"), each the smallest request
 * that showed it.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type TestServer, testServer, upload } from '../helpers/server';
import { caseOf } from './model-mutations';
import { LIBONNX_TESTDATA, modelSources } from './model-sources';

describe('bugs the fuzzers found', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await s.close();
  });

  it('a multipart file part cut short answers 400 (it threw out of the event loop and ended the server)', async () => {
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/files',
      headers: { ...auth, 'content-type': 'multipart/form-data; boundary=b' },
      payload: '--b\r\nContent-Disposition: form-data; name="file"; filename="x.jsonl"\r\n\r\nabc',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/malformed multipart body/);
    expect((await s.app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it.skipIf(!existsSync(LIBONNX_TESTDATA))(
    'a model whose node fails while running answers 422 model_failed, not 500 (seed 20261202 case 85)',
    async () => {
      const { models } = await modelSources();
      const c = caseOf(models, 20261202, 85);
      expect(c.mutation).toBe('absurd-dim');
      const up = await upload(s.app, 'gru-zero-dim', c.bytes);
      expect(up.statusCode).toBe(201);
      const sig = up.body.signature as { inputs: { name: string; shape: (number | string)[] }[] };
      const inputs = sig.inputs.map((i) => {
        const shape = i.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
        const n = shape.reduce((a, d) => a * d, 1);
        return { name: i.name, shape, datatype: 'FP32', data: new Array(n).fill(0) };
      });
      const res = await s.app.inject({
        method: 'POST',
        url: '/v2/models/gru-zero-dim/infer',
        headers: auth,
        payload: { inputs },
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().error).toMatch(/Non-zero status code returned while running GRU/);
    },
    120_000,
  );

  it('a file the static checks refuse is answered without a child process (400 invalid_model)', async () => {
    const garbage = new Uint8Array(64).fill(0xff);
    const up = await upload(s.app, 'garbage', garbage);
    expect(up.statusCode).toBe(400);
    expect(up.body.code).toBe('invalid_model');
    expect(String(up.body.detail)).toMatch(/not an ONNX model/);
  });
});
