import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePng, makeZip } from '../data/fixtures';
import { ADMIN_KEY, auth, type TestServer, testServer } from '../helpers/server';
import { lineCsv, startTraining, uploadDataset, waitFor } from './helpers';

describe('training jobs (real trainer child processes)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer({ trainLeaseMs: 2000 });
  });
  afterAll(async () => {
    await s.close();
  });

  it('CSV upload → mlp job → succeeded → a registered version that predicts new rows', async () => {
    expect((await uploadDataset(s.app, 'line', lineCsv(600))).statusCode).toBe(201);
    const created = await startTraining(s.app, {
      family: 'mlp',
      dataset: 'line',
      model: 'line-model',
      target: 'label',
      hyperparameters: { epochs: 8, learning_rate: 0.01, hidden: [16] },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ status: 'queued', family: 'mlp' });
    const job = await waitFor(s.app, created.json().id);
    expect(job.status, job.error ?? '').toBe('succeeded');
    expect(job.result).toMatchObject({ model: 'line-model', version: 1 });
    expect(Number((job.result!.metrics as { accuracy: number }).accuracy)).toBeGreaterThan(0.9);

    // New rows, never seen in training: the label follows 2·x1 − x2.
    const fresh = [
      { x1: 0.8, x2: -0.5, colour: 'red' },
      { x1: -0.7, x2: 0.6, colour: 'blue' },
      { x1: 0.5, x2: 0.1, colour: 'green' },
      { x1: -0.2, x2: 0.9, colour: 'red' },
    ];
    const p = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/line-model/predict',
      headers: auth,
      payload: { inputs: fresh },
    });
    expect(p.statusCode).toBe(200);
    const preds = p.json().predictions as { label: string; probabilities: Record<string, number> }[];
    expect(preds.map((x) => x.label)).toEqual(['pos', 'neg', 'pos', 'neg']);
    for (const x of preds) expect(x.probabilities.pos + x.probabilities.neg).toBeCloseTo(1, 4);
    // Predict is admitted and metered like /v2: one request, billed per input row.
    const usage = await s.app.inject({ url: '/api/v1/usage?group_by=model', headers: auth });
    expect(usage.json().usage).toContainEqual(
      expect.objectContaining({ model: 'line-model', requests: 1, units: fresh.length }),
    );

    const v = (
      await s.app.inject({ method: 'GET', url: '/api/v1/models/line-model/versions/1', headers: auth })
    ).json();
    expect(v.metadata.lineage).toMatchObject({ job: job.id, dataset: 'line', seed: 0 });
    expect(v.metadata.lineage.datasetDigest).toMatch(/^sha256:/);
    expect(v.metadata.featureSpec.kind).toBe('tabular');
    expect(v.metadata.metrics.confusion).toHaveLength(2);
    expect(v.metadata.metrics.lossCurve.length).toBeGreaterThan(0);
    expect(v.metadata.card.family).toBe('mlp');

    // The same version answers KServe v2 at once.
    const width = v.signature.inputs[0].shape[1];
    const infer = await s.app.inject({
      method: 'POST',
      url: '/v2/models/line-model/infer',
      headers: auth,
      payload: {
        inputs: [{ name: 'x', shape: [1, width], datatype: 'FP32', data: new Array(width).fill(0) }],
      },
    });
    expect(infer.statusCode).toBe(200);
    expect(infer.json().outputs[0].shape).toEqual([1, 2]);
  });

  it('text-cnn learns a sentence classifier from a CSV of texts', async () => {
    const good = ['great', 'lovely', 'excellent', 'wonderful', 'superb'];
    const bad = ['awful', 'terrible', 'boring', 'horrible', 'dreadful'];
    const filler = ['the film was', 'i found it', 'what a', 'honestly a', 'all in all'];
    const rows = ['text,label'];
    for (let i = 0; i < 300; i++) {
      const pos = i % 2 === 0;
      const word = (pos ? good : bad)[i % 5];
      rows.push(
        `"${filler[(i * 7) % 5]} ${word} movie number ${i} ${filler[(i * 3) % 5]}",${pos ? 'pos' : 'neg'}`,
      );
    }
    expect((await uploadDataset(s.app, 'reviews', rows.join('\n'))).json().kind).toBe('text');
    const created = await startTraining(s.app, {
      family: 'text-cnn',
      dataset: 'reviews',
      model: 'sentiment',
      hyperparameters: { epochs: 4, max_length: 16, embed_dim: 16, filters: 8, learning_rate: 0.01 },
    });
    const job = await waitFor(s.app, created.json().id);
    expect(job.status, job.error ?? '').toBe('succeeded');
    const p = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/sentiment/predict',
      headers: auth,
      payload: { inputs: ['what a superb movie', 'i found it dreadful'] },
    });
    expect(p.json().predictions.map((x: { label: string }) => x.label)).toEqual(['pos', 'neg']);
  });

  it('an image archive (one folder per label) trains a cnn that labels a data-URL image', async () => {
    const stripes = (vertical: boolean, phase: number) =>
      makePng(8, 8, (x, y) => (((vertical ? x : y) + phase) % 2 === 0 ? [255, 255, 255] : [0, 0, 0]));
    const items = [];
    for (let i = 0; i < 40; i++) {
      items.push({ name: `vertical/${i}.png`, data: stripes(true, i % 2) });
      items.push({ name: `horizontal/${i}.png`, data: stripes(false, i % 2) });
    }
    const up = await uploadDataset(s.app, 'stripes', makeZip(items));
    expect(up.statusCode).toBe(201);
    expect(up.json()).toMatchObject({ kind: 'image', format: 'zip', rows: 80 });
    const created = await startTraining(s.app, {
      family: 'cnn',
      dataset: 'stripes',
      model: 'stripes',
      hyperparameters: { epochs: 6, batch_size: 8, channels: [4], kernel: 3, learning_rate: 0.01 },
    });
    const job = await waitFor(s.app, created.json().id);
    expect(job.status, job.error ?? '').toBe('succeeded');
    const url = `data:image/png;base64,${stripes(true, 1).toString('base64')}`;
    const p = await s.app.inject({
      method: 'POST',
      url: '/api/v1/models/stripes/predict',
      headers: auth,
      payload: { inputs: [url, stripes(false, 0).toString('base64')] },
    });
    expect(p.statusCode).toBe(200);
    expect(p.json().predictions.map((x: { label: string }) => x.label)).toEqual(['vertical', 'horizontal']);
  });

  it('refuses bad requests at once, naming the field', async () => {
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [
        { family: 'mlp', dataset: 'xor', model: 'm', hyperparameters: { learning_rate: -1 } },
        400,
        /hyperparameters\.learning_rate/,
      ],
      [
        { family: 'mlp', dataset: 'xor', model: 'm', hyperparameters: { epochs: 1.5 } },
        400,
        /hyperparameters\.epochs/,
      ],
      [
        { family: 'mlp', dataset: 'xor', model: 'm', hyperparameters: { momentum: 0.9 } },
        400,
        /hyperparameters\.momentum/,
      ],
      [
        { family: 'mlp', dataset: 'xor', model: 'm', hyperparameters: { hidden: [] } },
        400,
        /hyperparameters\.hidden/,
      ],
      [{ family: 'gpt-9', dataset: 'xor', model: 'm' }, 400, /unknown family/],
      [{ family: 'cnn', dataset: 'xor', model: 'm' }, 422, /cnn trains image/],
      [{ family: 'mlp', dataset: 'nope', model: 'm' }, 404, /dataset 'nope'/],
      [{ family: 'mlp', dataset: 'xor', model: '../m' }, 400, /model/],
      [{ family: 'mlp', dataset: 'xor', model: 'm', owner: 'x' }, 400, /unknown property 'owner'/],
    ];
    for (const [body, status, detail] of cases) {
      const r = await startTraining(s.app, body);
      expect(r.statusCode, JSON.stringify(body)).toBe(status);
      expect(r.json().detail).toMatch(detail);
    }
    const list = (await s.app.inject({ method: 'GET', url: '/api/v1/trainings', headers: auth })).json();
    expect(list.trainings.some((t: { model: string }) => t.model === 'm')).toBe(false);
  });

  it('runs one job at a time (others wait queued) and cancels a running one within a second', async () => {
    const long = { family: 'mlp', dataset: 'xor', hyperparameters: { epochs: 1000, batch_size: 4 } };
    const a = (await startTraining(s.app, { ...long, model: 'long-a' })).json();
    const b = (await startTraining(s.app, { ...long, model: 'long-b' })).json();
    await waitFor(s.app, a.id, (j) => j.status === 'running');
    const ev = await s.app.inject({ method: 'GET', url: `/api/v1/trainings/${a.id}/events`, headers: auth });
    expect(ev.statusCode).toBe(200);
    expect((await waitFor(s.app, b.id, () => true)).status).toBe('queued');
    // Wait for real steps, so the cancel hits a trainer mid-run.
    await waitFor(s.app, a.id, () => true);
    for (let i = 0; i < 100; i++) {
      const events = (
        await s.app.inject({ method: 'GET', url: `/api/v1/trainings/${a.id}/events`, headers: auth })
      ).json().events;
      if (events.some((e: { type: string }) => e.type === 'progress')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = Date.now();
    const c = await s.app.inject({ method: 'POST', url: `/api/v1/trainings/${a.id}/cancel`, headers: auth });
    expect(c.json().status).toBe('cancelled');
    // The trainer is gone: no event after the cancellation, and the next job starts.
    await waitFor(s.app, b.id, (j) => j.status === 'running', 10_000);
    expect(Date.now() - t0).toBeLessThan(1000 + 2000);
    const events = (
      await s.app.inject({ method: 'GET', url: `/api/v1/trainings/${a.id}/events`, headers: auth })
    ).json().events;
    expect(events.at(-1)).toMatchObject({ type: 'status', data: { status: 'cancelled' } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(0);
    const cb = await s.app.inject({ method: 'POST', url: `/api/v1/trainings/${b.id}/cancel`, headers: auth });
    expect(cb.json().status).toBe('cancelled');
    expect(
      (await s.app.inject({ method: 'POST', url: `/api/v1/trainings/${b.id}/cancel`, headers: auth }))
        .statusCode,
    ).toBe(409);
    expect(
      (await s.app.inject({ method: 'GET', url: '/api/v1/models/long-a', headers: auth })).statusCode,
    ).toBe(404);
  });

  it('another tenant id reads as 404 (records are looked up by owner and id)', async () => {
    const job = (
      await startTraining(s.app, {
        family: 'mlp',
        dataset: 'xor',
        model: 'x',
        hyperparameters: { epochs: 1 },
      })
    ).json();
    expect(await s.platform.store.trainings.get('someone-else', job.id)).toBeNull();
    const me = (await s.platform.keys.resolve(ADMIN_KEY))!.tenantId;
    expect(await s.platform.store.trainings.get(me, job.id)).not.toBeNull();
    expect(
      (
        await s.app.inject({
          method: 'GET',
          url: '/api/v1/trainings/trn_000000000000000000000000',
          headers: auth,
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (await s.app.inject({ method: 'GET', url: '/api/v1/trainings/..%2f..%2fetc', headers: auth }))
        .statusCode,
    ).toBe(404);
    await waitFor(s.app, job.id);
  });
});
