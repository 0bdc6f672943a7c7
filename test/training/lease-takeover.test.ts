/**
 * A worker whose lease ran out while it still worked (under load its heartbeats came late) and
 * another worker that took the job over must not both complete it. The windows are forced, not
 * waited for: the takeover is a claim with a clock past the lease (the store's `now` is a
 * parameter), and the "both register" window is a registry whose first lookup answers what it
 * read before the other trainer registered.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../src/platform/registry/registry';
import type { TrainingOutcome } from '../../src/platform/training/protocol';
import { registerOnce } from '../../src/platform/training/results';
import type { JobRecord } from '../../src/store/training-ports';
import { linearModel } from '../helpers/onnx-fixtures';
import { auth, type TestServer, testServer } from '../helpers/server';
import { lineCsv, pollUntil, startTraining, uploadDataset, waitFor } from './helpers';

type Event = { seq: number; type: string; data: Record<string, unknown> };
const LEASE_MS = 3000;

describe('a lease taken over by another worker', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer({ trainLeaseMs: LEASE_MS, trainThreads: 1, trainRetryBackoffMs: 0 });
    expect((await uploadDataset(s.app, 'line', lineCsv(2000))).statusCode).toBe(201);
  });
  afterAll(async () => {
    await s.close();
  });

  const events = async (id: string): Promise<Event[]> =>
    (await s.app.inject({ url: `/api/v1/trainings/${id}/events`, headers: auth })).json().events;
  const versions = async (model: string) =>
    (await s.app.inject({ url: `/api/v1/models/${model}/versions`, headers: auth })).json().versions as {
      metadata: { lineage: { job: string; resumedFrom: number } };
    }[];

  it('the old holder stops its trainer at its next heartbeat and settles nothing; the job ends once', async () => {
    const { id } = (
      await startTraining(s.app, {
        family: 'mlp',
        dataset: 'line',
        model: 'taken',
        hyperparameters: { epochs: 10, batch_size: 8, checkpoint_every: 40, hidden: [32] },
      })
    ).json();
    await pollUntil(async () => (await events(id)).find((e) => e.type === 'checkpoint'));
    const trainer = s.platform.trainings.trainerPid(id);
    expect(trainer).not.toBeNull();
    // Another worker's claim, at a time past this worker's lease (as if its heartbeats had stalled).
    const later = Date.now() + 100 * LEASE_MS;
    const thief = await s.platform.store.trainings.claimNext(later, later + LEASE_MS, { exclude: [] });
    expect(thief).toMatchObject({ id, attempts: 2 });
    // The first holder's next heartbeat (every LEASE_MS / 3) finds the job taken: its trainer goes.
    await pollUntil(() => (s.platform.trainings.trainerPid(id) === null ? true : null));
    const job = await s.platform.store.trainings.get('default', id);
    expect(job).toMatchObject({ status: 'running', attempts: 2, result: null });
    expect((await s.app.inject({ url: '/api/v1/models/taken', headers: auth })).statusCode).toBe(404);

    // The thief gives the job back (as a dying worker's lease would end): this worker resumes it.
    expect(await s.platform.store.trainings.heartbeat(id, 2, 0)).toBe(true);
    const done = await waitFor(s.app, id, undefined, 180_000);
    expect(done.status).toBe('succeeded');
    const all = await versions('taken');
    expect(all).toHaveLength(1);
    expect(all[0]!.metadata.lineage.job).toBe(id);
    expect(all[0]!.metadata.lineage.resumedFrom).toBeGreaterThan(0);
    expect((await s.platform.store.trainings.get('default', id))?.attempts).toBe(3);
  }, 240_000);

  it('two trainers registering one job together: one version, both get its number', async () => {
    const dir = join(s.dataDir, 'both-finished');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'model.onnx'), linearModel(4, 3).bytes);
    const job = {
      owner: 'default',
      id: 'trn_00000000000000000000beef',
      family: 'mlp',
      dataset: 'line',
      datasetDigest: null,
      target: 'label',
      model: 'raced',
      hyperparameters: { seed: 1 },
    } as unknown as JobRecord;
    const outcome = {
      task: 'regression',
      onnxFile: 'model.onnx',
      spec: {},
      metrics: {},
      lossCurve: [],
      validationCurve: [],
      steps: 1,
      epochs: 1,
      paramCount: 15,
      trainSeconds: 1,
      resumedFrom: 0,
      timing: {},
    } as unknown as TrainingOutcome;
    // Trainer A looks for the job's version first and is answered "none"; trainer B then
    // registers; only then does A go on (to upload). Before the fix A added a second version.
    let release!: () => void;
    const bRegistered = new Promise<void>((r) => {
      release = r;
    });
    let first = true;
    const registry = s.platform.registry;
    const staleForA = new Proxy(registry, {
      get(target, prop, receiver) {
        if (prop !== 'getModel') return Reflect.get(target, prop, receiver);
        return async (owner: string, name: string) => {
          const answer = target.getModel(owner, name);
          if (first) {
            first = false;
            await answer.catch(() => {});
            await bRegistered;
          }
          return answer;
        };
      },
    }) as Registry;
    const a = registerOnce(staleForA, job, dir, outcome);
    await pollUntil(() => (first ? null : true));
    const b = await registerOnce(registry, job, dir, outcome);
    release();
    expect(await a).toBe(b);
    expect(await versions('raced')).toHaveLength(1);
  }, 60_000);
});
