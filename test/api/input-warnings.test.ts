/**
 * No silent wrong answers, and errors that name the real problem: a prediction whose input the
 * model would misread says so (warnings; `?strict=true` → 400), and a model that does not exist
 * is "model 'X' not found", with the nearest names, on every surface.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type TestServer, testServer } from '../helpers/server';
import { lineCsv, startTraining, uploadDataset, waitFor } from '../training/helpers';

describe('predict warnings and not-found answers', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer({ trainThreads: 1 });
    expect((await uploadDataset(s.app, 'line', lineCsv(400))).statusCode).toBe(201);
    const job = await startTraining(s.app, {
      family: 'mlp',
      dataset: 'line',
      model: 'fruit',
      target: 'label',
      hyperparameters: { epochs: 1 },
    });
    expect(job.statusCode, job.body).toBe(201);
    expect((await waitFor(s.app, job.json().id)).status).toBe('succeeded');
  });
  afterAll(async () => {
    await s?.close();
  });

  const predict = (inputs: unknown[], query = '', model = 'fruit') =>
    s.app.inject({
      method: 'POST',
      url: `/api/v1/models/${model}/predict${query}`,
      headers: auth,
      payload: { inputs },
    });

  it('a clean row has no warnings', async () => {
    const res = await predict([{ x1: 0.5, x2: -0.2, colour: 'red' }]);
    expect(res.statusCode).toBe(200);
    expect(res.json().predictions[0].label).toMatch(/^(pos|neg)$/);
    expect(res.json()).not.toHaveProperty('warnings');
  });

  it('unknown and missing columns and unseen categories are warnings beside the prediction', async () => {
    const res = await predict([{ x1: 0.5, x22: -0.2, colour: 'purple' }]);
    expect(res.statusCode).toBe(200);
    expect(res.json().predictions).toHaveLength(1);
    expect(res.json().warnings).toEqual([
      {
        pointer: 'inputs[0].x22',
        code: 'unknown_column',
        detail: "inputs[0].x22: the model has no column 'x22' (did you mean 'x2'?); it is ignored",
      },
      {
        pointer: 'inputs[0].x2',
        code: 'missing_column',
        detail: expect.stringMatching(
          /^inputs\[0\]\.x2: column 'x2' is missing; the training mean \(-?[0-9.e-]+\) is used$/,
        ),
      },
      {
        pointer: 'inputs[0].colour',
        code: 'unseen_category',
        detail:
          "inputs[0].colour: 'purple' was not seen in training (known: blue, red); it counts as unknown",
      },
    ]);
  });

  it('?strict=true refuses the same input with a 400 that names each problem', async () => {
    const res = await predict([{ x1: 0.5, x2: 0.1, colour: 'redd' }], '?strict=true');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      code: 'invalid_request',
      pointer: 'inputs[0].colour',
      detail:
        "strict: inputs[0].colour: 'redd' was not seen in training (did you mean 'red'?); it counts as unknown",
    });
    expect((await predict([{ x1: 0.5, x2: 0.1, colour: 'red' }], '?strict=true')).statusCode).toBe(200);
    expect((await predict([{ x1: 0.5 }], '?strict=maybe')).json()).toMatchObject({ pointer: 'strict' });
  });

  it('a model that does not exist is "model \'X\' not found" with the nearest name, on every surface', async () => {
    const native = await predict([{ x1: 1 }], '', 'fruitt');
    expect(native.statusCode).toBe(404);
    expect(native.json().detail).toBe("model 'fruitt' not found (did you mean 'fruit'?)");

    const get = await s.app.inject({ url: '/api/v1/models/fruitt', headers: auth });
    expect(get.json().detail).toBe("model 'fruitt' not found (did you mean 'fruit'?)");

    const v2 = await s.app.inject({
      method: 'POST',
      url: '/v2/models/frut/infer',
      headers: auth,
      payload: { inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }] },
    });
    expect(v2.statusCode).toBe(404);
    expect(v2.json().error).toBe("model 'frut' not found (did you mean 'fruit'?)");

    const openai = await s.app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: auth,
      payload: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(openai.statusCode).toBe(404);
    expect(openai.json().error).toMatchObject({
      message: "model 'gpt-4o-mini' not found",
      code: 'model_not_found',
      param: 'model',
    });

    // A model that exists but lacks the version asked for says that instead.
    const version = await predict([{ x1: 1 }], '?version=9');
    expect(version.json().detail).toBe("model 'fruit' has no version 9");
  });
});
