/**
 * The compiled build (what `npm start` and `bin/maas.js` run): the bundle in a fresh out folder
 * starts a server with plain `node` (no tsx), and every child entry it needs is found next to
 * it: a trainer child (train), the upload validator (models push), a model thread (predict), the
 * dataset reader's worker thread (datasets push).
 */
import { execFile, spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropPostgresSchema } from '../../src/store/postgres/admin';
import { linearModel } from '../helpers/onnx-fixtures';
import { freshSchemaName, POSTGRES_TEST_URL, postgresAvailable } from '../helpers/postgres';
import { REPO_ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

const run = promisify(execFile);
const withPostgres = await postgresAvailable('the compiled build on PostgreSQL');
const KEY = 'mk_compiled_test_admin_key_0123456789';
// Inside the checkout, so the bundle resolves its packages from node_modules like dist/ does.
const OUT = `.vitest/compiled-${process.pid}`;

describe('compiled build', () => {
  let data: Awaited<ReturnType<typeof tempDir>>;
  let server: ReturnType<typeof spawn>;
  let url = '';
  const maas = (...args: string[]) =>
    run(process.execPath, [join(OUT, 'maas.js'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', MAAS_URL: url, MAAS_KEY: KEY },
    });

  beforeAll(async () => {
    data = await tempDir();
    await run(process.execPath, ['scripts/build.mjs', '--outdir', OUT], { cwd: REPO_ROOT });
    server = spawn(process.execPath, [join(OUT, 'maas.js'), 'serve', '--port', '0', '--data-dir', data.dir], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', MAAS_ADMIN_KEY: KEY, MAAS_ZOO: 'off', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    url = await new Promise<string>((resolve, reject) => {
      server.stdout?.on('data', (d) => {
        out += d;
        const m = /maas listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
    });
  });
  afterAll(async () => {
    server?.kill('SIGKILL');
    await rm(join(REPO_ROOT, OUT), { recursive: true, force: true });
    await data?.remove();
  });

  it('runs without TypeScript sources: train, push and predict through compiled child entries', async () => {
    const trained = await maas(
      'train',
      '--family',
      'mlp',
      '--dataset',
      'xor',
      '--model',
      'x',
      '--epochs',
      '1',
      '--follow',
    );
    expect(trained.stdout).toContain('registered x version 1');

    const file = join(data.dir, 'linear.onnx');
    await writeFile(file, linearModel(4, 3).bytes);
    const pushed = await maas('models', 'push', 'lin', file);
    expect(pushed.stdout).toContain('pushed lin version 1');

    const predicted = await maas('predict', 'x', '--input', '{"x1": 0.1, "x2": 0.9}');
    expect(predicted.stdout).toMatch(/^[01]\t\(/);

    const csv = join(data.dir, 'rows.csv');
    await writeFile(csv, 'a,b,label\n1,2,x\n3,4,y\n');
    const dataset = await maas('datasets', 'push', 'rows', csv);
    expect(dataset.stdout).toContain('rows');
    expect(dataset.stdout).toMatch(/tabular|csv/);
  });

  // The migrations are SQL files the bundle reads beside itself: the build must ship them.
  it.skipIf(!withPostgres)(
    'migrates a PostgreSQL schema with the SQL files shipped beside the bundle',
    async () => {
      const schema = freshSchemaName();
      try {
        const migrated = await maas('migrate', '--database-url', POSTGRES_TEST_URL, '--schema', schema);
        expect(migrated.stdout).toMatch(/applied migrations 1, 2, 3; schema version 3/);
      } finally {
        await dropPostgresSchema(POSTGRES_TEST_URL, schema);
      }
    },
  );
});
