/** The built-in MNIST digits through the service: a cnn job reaches ≥ 97% validation accuracy. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auth, type TestServer, testServer } from '../helpers/server';
import { startTraining, waitFor } from './helpers';

let s: TestServer;
beforeAll(async () => {
  s = await testServer();
});
afterAll(async () => {
  await s.close();
});

it('mnist → cnn → ≥ 97% validation accuracy, then labels a digit image', async () => {
  const t0 = Date.now();
  const created = await startTraining(s.app, {
    family: 'cnn',
    dataset: 'mnist',
    model: 'digits',
    hyperparameters: { epochs: 2, batch_size: 32 },
  });
  expect(created.statusCode).toBe(201);
  const job = await waitFor(s.app, created.json().id, undefined, 170_000);
  const seconds = (Date.now() - t0) / 1000;
  expect(job.status, job.error ?? '').toBe('succeeded');
  const metrics = job.result!.metrics as { accuracy: number; macroF1: number };
  console.log(
    `mnist cnn: validation accuracy ${(metrics.accuracy * 100).toFixed(2)}% in ${seconds.toFixed(1)} s`,
  );
  expect(metrics.accuracy).toBeGreaterThanOrEqual(0.97);
  expect(metrics.macroF1).toBeGreaterThan(0.96);
  const v = (
    await s.app.inject({ method: 'GET', url: '/api/v1/models/digits/versions/1', headers: auth })
  ).json();
  expect(v.metadata.metrics.confusion).toHaveLength(10);
  expect(v.signature.inputs[0].shape).toEqual(['batch', 1, 28, 28]);
}, 180_000);
