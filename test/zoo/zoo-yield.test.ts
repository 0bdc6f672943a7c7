/**
 * The zoo yields to user training jobs: while one runs, the zoo's queue waits (no row starts);
 * when none runs, rows train (a real trainer child) and install. `userJobs` is the service's
 * injected view of the training service's running trainers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooService } from '../../src/platform/zoo-training/service';
import { type TestServer, testServer } from '../helpers/server';

describe('zoo background training and user jobs', () => {
  let s: TestServer;
  let zoo: ZooService | undefined;
  beforeAll(async () => {
    s = await testServer();
  });
  afterAll(async () => {
    await zoo?.close();
    await s.close();
  });

  it('waits while a user job runs, then trains gpt first, then cheapest first', async () => {
    let userJobs = 1;
    zoo = new ZooService(s.platform, () => userJobs, {
      mode: 'quick',
      dir: join(s.dataDir, 'zoo-training'),
      nice: 1,
      logEveryMs: 0,
      pollMs: 50,
    });
    const lines: string[] = [];
    await zoo.start((l) => lines.push(l));
    // (Rows whose data package is missing here are logged as skipped first.)
    expect(lines.find((l) => l.startsWith('zoo: '))).toMatch(
      /^zoo: \d+ model\(s\) to train at quick scale .*cheapest first\): gpt, cppn, /,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(lines).toContain('zoo: waiting for user training jobs to finish');
    const waiting = await zoo.status();
    expect(waiting.filter((r) => r.state !== 'unavailable').every((r) => r.state === 'queued')).toBe(true);

    userJobs = 0;
    const deadline = Date.now() + 120_000;
    let cppn = waiting.find((r) => r.name === 'cppn');
    while (cppn?.state !== 'ready' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      cppn = (await zoo.status()).find((r) => r.name === 'cppn');
    }
    expect(cppn).toMatchObject({ state: 'ready', version: 1, scale: 'quick', model: 'zoo~cppn' });
    expect(lines.some((l) => /^zoo cppn: ready as zoo~cppn version 1/.test(l))).toBe(true);
    // Closing mid-queue stops the trainer, returns, and leaves no scratch files behind.
    await zoo.close();
    expect(existsSync(join(s.dataDir, 'zoo-training'))).toBe(false);
  }, 150_000);
});
