import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type TestServer, testServer } from '../helpers/server';
import { pollUntil, startTraining, uploadDataset } from '../training/helpers';

describe('hardening: the low items', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer({ trainConcurrency: 1 });
  });
  afterAll(async () => {
    await s.close();
  });

  it('maas.db (and its WAL) is created owner-only, 0600, whatever the umask', async () => {
    for (const file of ['maas.db', 'maas.db-wal']) {
      const path = join(s.dataDir, file);
      if (file === 'maas.db' || existsSync(path))
        expect(((await stat(path)).mode & 0o777).toString(8), file).toBe('600');
    }
  });

  it('a CSV with a stray quote is a 400 naming the line, not silently a text corpus', async () => {
    const cases: [string, string][] = [
      ['name,age,city\nann,31,pa"ris\nbob,40,rome\n', 'line 2, column 10'],
      ['name,"age,city\nann,31,paris\nbob,40,rome\n', 'line 1, column 6'],
    ];
    for (const [i, [csv, where]] of cases.entries()) {
      const res = await uploadDataset(s.app, `quote-${i}`, csv);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_dataset', pointer: where });
    }
    // Prose with commas and quotes stays a text corpus.
    const prose =
      'He said, "well, then" and left.\nShe stayed, quiet.\nAnd the night, long as it was, ended.\n';
    expect((await uploadDataset(s.app, 'prose', prose)).json()).toMatchObject({ format: 'text' });
  });

  it('trainings cancelled while queued (or just claimed) leave no folders behind', async () => {
    const body = { family: 'mlp', dataset: 'xor', hyperparameters: { epochs: 1000, batch_size: 4 } };
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push((await startTraining(s.app, { ...body, model: `q-${i}` })).json().id);
    for (const id of ids.reverse()) {
      await s.app.inject({ method: 'POST', url: `/api/v1/trainings/${id}/cancel`, headers: auth });
    }
    const dir = join(s.dataDir, 'training');
    const listing = async () => (existsSync(dir) ? await readdir(dir) : []);
    await pollUntil(async () => ((await listing()).length === 0 ? true : null), 10_000).catch(() => {});
    // Stays empty: a claim that races the cancel removes what it made.
    await new Promise((r) => setTimeout(r, 500));
    expect(await listing()).toEqual([]);
  });
});
