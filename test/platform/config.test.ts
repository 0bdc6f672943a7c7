import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MaasError } from '../../src/common/errors';
import { AdminKeyResolver, ensureAdminKey } from '../../src/platform/auth/auth';
import { configSpec, loadConfig, redactConfig } from '../../src/platform/config';
import { tempDir } from '../helpers/tmp';

describe('config', () => {
  it('has documented defaults, reads env, lets flags win, and freezes', () => {
    const d = loadConfig({});
    expect(d).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: './data',
      adminKey: null,
      idleEvictMs: 300_000,
    });
    for (const spec of Object.values(configSpec)) {
      expect(spec.doc.length).toBeGreaterThan(5);
      expect(spec.env).toMatch(/^MAAS_[A-Z_]+$/);
    }
    const c = loadConfig({ MAAS_PORT: '9000', MAAS_HOST: '0.0.0.0' }, { '--port': '9100' });
    expect([c.port, c.host]).toEqual([9100, '0.0.0.0']);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('refuses invalid values and unknown flags, naming the option', () => {
    expect(() => loadConfig({ MAAS_PORT: 'eighty' })).toThrow(/MAAS_PORT/);
    expect(() => loadConfig({ MAAS_PORT: '70000' })).toThrow(MaasError);
    expect(() => loadConfig({}, { '--prot': '1' })).toThrow(/unknown option --prot/);
    expect(() => loadConfig({ MAAS_ADMIN_KEY: 'short' })).toThrow(/16 characters/);
    expect(() => loadConfig({ MAAS_METRICS_PUBLIC: 'maybe' })).toThrow(/boolean/);
  });

  it('MAAS_INTRA_OP_SPIN_US: auto by default, a number of µs, or a clear refusal', () => {
    expect(loadConfig({}).intraOpSpinUs).toBe('auto');
    expect(loadConfig({ MAAS_INTRA_OP_SPIN_US: '0' }).intraOpSpinUs).toBe(0);
    expect(loadConfig({}, { '--intra-op-spin-us': '20' }).intraOpSpinUs).toBe(20);
    expect(loadConfig({ MAAS_INTRA_OP_SPIN_US: '50' }, { '--intra-op-spin-us': 'auto' }).intraOpSpinUs).toBe(
      'auto',
    );
    expect(() => loadConfig({ MAAS_INTRA_OP_SPIN_US: 'fast' })).toThrow(
      'config MAAS_INTRA_OP_SPIN_US: "fast" is not auto or an integer in [0, 1000000]',
    );
  });

  it('cluster options: URLs by scheme, roles, a pepper required with a shared database', () => {
    const pepper = 'p'.repeat(32);
    const c = loadConfig({
      MAAS_DATABASE_URL: 'postgres://maas:pw@db:5432/maas',
      MAAS_REDIS_URL: 'redis://cache:6379',
      MAAS_KEY_PEPPER: pepper,
      MAAS_BLOB_STORE: 'file:///srv/maas-blobs',
      MAAS_ROLE: 'worker',
    });
    expect([c.role, c.blobStore, c.redisPrefix]).toEqual(['worker', 'file:///srv/maas-blobs', 'maas:']);
    expect(loadConfig({}, { '--role': 'api' }).role).toBe('api');
    expect(loadConfig({}).role).toBe('all');
    expect(() => loadConfig({ MAAS_ROLE: 'trainer' })).toThrow(/MAAS_ROLE.*all, api, worker/);
    expect(() => loadConfig({ MAAS_DATABASE_URL: 'mysql://db/x', MAAS_KEY_PEPPER: pepper })).toThrow(
      /MAAS_DATABASE_URL: the scheme must be postgres: or postgresql:/,
    );
    expect(() => loadConfig({ MAAS_REDIS_URL: 'not a url' })).toThrow(/MAAS_REDIS_URL: not a URL/);
    expect(() => loadConfig({ MAAS_DATABASE_URL: 'postgres://db/x' })).toThrow(/MAAS_KEY_PEPPER: required/);
    expect(() => loadConfig({ MAAS_KEY_PEPPER: 'short' })).toThrow(/32 characters/);
    expect(() => loadConfig({ MAAS_BLOB_STORE: 'postgres' })).toThrow(
      /MAAS_BLOB_STORE: postgres keeps artifacts in the database of MAAS_DATABASE_URL, which is not set/,
    );
    const inDatabase = loadConfig({
      MAAS_BLOB_STORE: 'postgres',
      MAAS_DATABASE_URL: 'postgres://db/x',
      MAAS_KEY_PEPPER: 'p'.repeat(32),
      MAAS_MODEL_CACHE_BYTES: String(64 * 1024 * 1024),
    });
    expect([inDatabase.blobStore, inDatabase.modelCacheBytes]).toEqual(['postgres', 64 * 1024 * 1024]);
    expect(() => loadConfig({ MAAS_MODEL_CACHE_BYTES: '1000' })).toThrow(/MAAS_MODEL_CACHE_BYTES/);
    expect(() => loadConfig({ MAAS_BLOB_STORE: '/srv/blobs' })).toThrow(
      /file:\/\/\/absolute\/path or postgres/,
    );
    expect(loadConfig({ MAAS_BLOB_STORE: 'file:///srv/blobs' }).blobStore).toBe('file:///srv/blobs');
    const shown = JSON.stringify(redactConfig(c));
    for (const secret of ['pw@db', 'cache:6379', pepper]) expect(shown).not.toContain(secret);
  });

  it('redacts secrets', () => {
    const c = loadConfig({ MAAS_ADMIN_KEY: 'super-secret-admin-key' });
    expect(JSON.stringify(redactConfig(c))).not.toContain('super-secret');
    expect(redactConfig(c).adminKey).toBe('[redacted]');
  });
});

describe('admin key', () => {
  it('is generated once, saved with mode 0600, then reused; compared in constant time', async () => {
    const tmp = await tempDir();
    try {
      const first = await ensureAdminKey(tmp.dir, null);
      expect(first.generated).toBe(true);
      expect(first.key).toMatch(/^maas_[A-Za-z0-9_-]{43}$/);
      expect((await stat(join(tmp.dir, 'admin.key'))).mode & 0o777).toBe(0o600);
      const again = await ensureAdminKey(tmp.dir, null);
      expect(again).toEqual({ key: first.key, generated: false });
      const resolver = new AdminKeyResolver(first.key);
      expect((await resolver.resolve(first.key))?.scopes.includes('admin')).toBe(true);
      expect(await resolver.resolve(`${first.key}x`)).toBeNull();
      expect(await resolver.resolve('')).toBeNull();
    } finally {
      await tmp.remove();
    }
  });
});
