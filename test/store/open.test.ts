/**
 * The store factory: the database URL alone picks the adapter; a bad URL is a clear
 * `invalid_request` that never repeats the URL (it may hold a password). And `maas migrate`, the
 * CLI verb over the same factory, against a real PostgreSQL (skipped with a line without one).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { isMaasError } from '../../src/common/errors';
import { describeDatabase, openStore } from '../../src/store/open';
import { dropPostgresSchema } from '../../src/store/postgres/admin';
import { loadMigrations } from '../../src/store/postgres/migrate';
import { PostgresStore } from '../../src/store/postgres/store';
import { SqliteStore } from '../../src/store/sqlite/store';
import { freshSchemaName, POSTGRES_TEST_URL, postgresAvailable } from '../helpers/postgres';
import { tempDir } from '../helpers/tmp';

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  return isMaasError(e) ? { code: e.code, message: e.message } : { code: 'none', message: String(e) };
}

async function cli(argv: string[], env: Record<string, string>) {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (s) => {
      out += `${s}\n`;
    },
    err: (s) => {
      err += `${s}\n`;
    },
    env,
    stdin: async () => '',
  });
  return { code, out, err };
}

describe('openStore', () => {
  it('opens the embedded SQLite file in the data folder when no database URL is set', async () => {
    const tmp = await tempDir();
    try {
      for (const databaseUrl of [undefined, null, '', '  ']) {
        const store = await openStore({ databaseUrl, dataDir: tmp.dir });
        expect(store).toBeInstanceOf(SqliteStore);
        await store.models.createModel({ owner: 't', name: `m${String(databaseUrl).length}` });
        await store.close();
      }
      const again = await openStore({ dataDir: tmp.dir });
      expect((await again.models.listModels('t')).length).toBe(4);
      await again.close();
      expect(describeDatabase({ dataDir: tmp.dir })).toBe(`sqlite (${tmp.dir}/maas.db)`);
    } finally {
      await tmp.remove();
    }
  });

  it('refuses an unknown scheme or a non-URL without echoing it', async () => {
    const mysql = await failure(openStore({ databaseUrl: 'mysql://root:hunter2@db/maas', dataDir: '.' }));
    expect(mysql.code).toBe('invalid_request');
    expect(mysql.message).toMatch(/scheme 'mysql:' is not supported/);
    expect(mysql.message).not.toContain('hunter2');
    const junk = await failure(openStore({ databaseUrl: 'hunter2 at db', dataDir: '.' }));
    expect(junk).toEqual({
      code: 'invalid_request',
      message: 'MAAS_DATABASE_URL is not a URL: expected postgres://user@host:5432/database',
    });
  });

  it('describes a PostgreSQL URL without its password', () => {
    expect(
      describeDatabase({
        databaseUrl: 'postgresql://maas:hunter2@db.internal:5433/prod',
        dataDir: '.',
        schema: 'eu',
      }),
    ).toBe('postgresql (db.internal:5433/prod, schema eu)');
  });

  it('maas migrate without a database URL says what is missing', async () => {
    const r = await cli(['migrate'], {});
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/maas migrate needs MAAS_DATABASE_URL or --database-url/);
  });
});

const available = await postgresAvailable('openStore and maas migrate');

describe.skipIf(!available)('openStore and maas migrate on postgresql', () => {
  const schema = freshSchemaName();
  afterAll(() => dropPostgresSchema(POSTGRES_TEST_URL, schema));
  const last = loadMigrations().at(-1)!.version;

  it('maas migrate applies the migrations once; openStore then serves from that schema', async () => {
    const env = { MAAS_DATABASE_URL: POSTGRES_TEST_URL, MAAS_DATABASE_SCHEMA: schema };
    const first = await cli(['migrate'], env);
    expect(first).toMatchObject({ code: 0, err: '' });
    const all = loadMigrations().map((m) => m.version);
    const where = `${new URL(POSTGRES_TEST_URL).host}${new URL(POSTGRES_TEST_URL).pathname}`;
    expect(first.out).toBe(
      `postgresql (${where}, schema ${schema}): applied migration${all.length > 1 ? 's' : ''} ${all.join(', ')}; schema version ${last}\n`,
    );
    const second = await cli(['migrate', '--schema', schema, '--database-url', POSTGRES_TEST_URL], {});
    expect(second.out).toMatch(`schema version ${last} is current; nothing to apply`);

    const store = await openStore({ databaseUrl: POSTGRES_TEST_URL, dataDir: '.', schema });
    expect(store).toBeInstanceOf(PostgresStore);
    expect(await (store as PostgresStore).info()).toEqual({ schemaVersion: last, schema });
    await store.models.createModel({ owner: 't', name: 'm' });
    await store.close();
    const peer = await openStore({
      databaseUrl: POSTGRES_TEST_URL.replace(/^postgres:/, 'postgresql:'),
      dataDir: '.',
      schema,
    });
    expect((await peer.models.getModel('t', 'm'))?.name).toBe('m');
    await peer.close();
  });

  it('maas migrate reports an unreachable server as one line', async () => {
    const r = await cli(['migrate', '--database-url', 'postgres://maas:hunter2@127.0.0.1:1/none'], {});
    expect(r.code).toBe(1);
    expect(r.err).toBe('error: connect ECONNREFUSED 127.0.0.1:1\n');
  });
});
