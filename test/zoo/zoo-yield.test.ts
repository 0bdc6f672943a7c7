/**
 * The zoo's rows as jobs of the `zoo` tenant, with a real trainer child on real SQLite: starting
 * queues each missing row as one job (a second service on the same store, as a second process
 * would, queues nothing more); while a user job runs the runner claims nothing; when none runs,
 * rows are claimed gpt first then cheapest first, trained, and registered once as versions that
 * name their job. `userJobs` is the service's injected view of the training service's trainers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zooJobId } from '../../src/platform/zoo-training/jobs';
import { ZooService, type ZooServiceSettings } from '../../src/platform/zoo-training/service';
import { type TestServer, testServer } from '../helpers/server';

describe('zoo rows as jobs, and user jobs', () => {
  let s: TestServer;
  const services: ZooService[] = [];
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    for (const z of services) await z.close();
    await s.close();
  });

  const settings = (dir: string): ZooServiceSettings => ({
    mode: 'quick',
    dir: join(s.dataDir, dir),
    nice: 1,
    logEveryMs: 0,
    pollMs: 50,
    leaseMs: 10_000,
    maxRetries: 2,
  });
  const host = () => ({
    registry: s.platform.registry,
    tenancy: s.platform.tenancy,
    trainings: s.platform.store.trainings,
  });

  it('queues each row once, waits while a user job runs, then trains gpt first, then cheapest first', async () => {
    let userJobs = 1;
    const zoo = new ZooService(host(), () => userJobs, settings('zoo-training'));
    services.push(zoo);
    const lines: string[] = [];
    await zoo.start((l) => lines.push(l));
    // (Rows whose data package is missing here are logged as skipped first.)
    expect(lines.find((l) => l.startsWith('zoo: '))).toMatch(
      /^zoo: \d+ model\(s\) to train at quick scale .*cheapest first\): gpt, cppn, /,
    );
    const queued = (await s.platform.store.trainings.list('zoo')).filter((j) => j.status === 'queued');
    expect(queued.length).toBeGreaterThanOrEqual(5);
    expect(queued.every((j) => j.family === 'zoo' && j.id === zooJobId(j.model, 'quick'))).toBe(true);

    // A second process on the same store (here: a second service that never trains) queues nothing more.
    const other = new ZooService(host(), () => 1, settings('zoo-training-2'));
    services.push(other);
    await other.start(() => {});
    expect(await s.platform.store.trainings.list('zoo')).toHaveLength(queued.length);

    await new Promise((r) => setTimeout(r, 500));
    expect(lines).toContain('zoo: waiting for user training jobs to finish');
    const waiting = await zoo.status();
    expect(waiting.filter((r) => r.state !== 'unavailable').every((r) => r.state === 'queued')).toBe(true);
    // Queued rows wait for the rows before them: the ETA grows along the queue.
    const gptWait = waiting.find((r) => r.name === 'gpt')?.progress?.etaSeconds ?? 0;
    const cppnWait = waiting.find((r) => r.name === 'cppn')?.progress?.etaSeconds ?? 0;
    expect(cppnWait).toBeGreaterThan(gptWait);

    userJobs = 0;
    const deadline = Date.now() + 120_000;
    let cppn = waiting.find((r) => r.name === 'cppn');
    while (cppn?.state !== 'ready' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      cppn = (await zoo.status()).find((r) => r.name === 'cppn');
    }
    expect(cppn).toMatchObject({ state: 'ready', version: 1, scale: 'quick', model: 'zoo~cppn' });
    expect(lines.some((l) => /^zoo cppn: ready as zoo~cppn version 1/.test(l))).toBe(true);
    // gpt was claimed first; its job succeeded and its version names the job.
    const gpt = await s.platform.store.trainings.get('zoo', zooJobId('gpt', 'quick'));
    expect(gpt).toMatchObject({ status: 'succeeded', attempts: 1, result: { model: 'zoo~gpt', version: 1 } });
    const versions = (await s.platform.registry.getModel('zoo', 'gpt')).versions;
    expect(versions.map((v) => (v.metadata.lineage as { job: string }).job)).toEqual([gpt?.id]);
    const events = await s.platform.store.trainings.events(gpt!.id, 0);
    expect(events.map((e) => e.type)).toContain('progress');
    expect(events.at(-1)).toMatchObject({ type: 'status', data: { status: 'succeeded' } });
    // Closing mid-queue stops the trainer, returns, and leaves no scratch files behind.
    await zoo.close();
    expect(existsSync(join(s.dataDir, 'zoo-training'))).toBe(false);
    // The row it was training went back to the queue at once (no lease to wait out).
    const left = (await s.platform.store.trainings.list('zoo')).filter((j) => j.status !== 'succeeded');
    for (const j of left) expect(j.status === 'queued' || j.leaseUntil === 0).toBe(true);
  }, 150_000);
});
