/**
 * The artifact store on its two back-ends: the folder alone (embedded, or a shared volume), and
 * PostgreSQL's blobs with the folder as this process's bounded cache (MAAS_BLOB_STORE=postgres).
 * The same behaviour is asserted on both; then what only the shared store does: a file stored by
 * one process is fetched by another, least recently used copies are evicted past the budget, and
 * the leader's sweep removes unreferenced blobs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMaasError } from '../../src/common/errors';
import { ArtifactStore, type SharedBlobs } from '../../src/platform/artifacts/artifacts';
import { LruBytes } from '../../src/platform/artifacts/lru-bytes';
import type { BlobStore } from '../../src/store/blob-ports';
import { type FreshPostgresStore, postgresAvailable, sharedPostgresSchema } from '../helpers/postgres';
import { tempDir } from '../helpers/tmp';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function store(artifacts: ArtifactStore, bytes: Buffer): Promise<string> {
  const staged = await artifacts.stage(Readable.from([bytes]), 8 << 20);
  await artifacts.commit(staged);
  return staged.digest;
}

interface Backend {
  /** A process's artifact store in its own folder; `shared` when the back-end has blobs. */
  open(dir: string, cacheBytes?: number): Promise<ArtifactStore>;
  blobs: BlobStore | null;
}

function describeArtifactStore(name: string, backend: () => Promise<Backend>): void {
  describe(`artifact store: ${name}`, () => {
    let b: Backend;
    let tmp: Awaited<ReturnType<typeof tempDir>>;
    beforeEach(async () => {
      b = await backend();
      tmp = await tempDir('maas-artifacts-');
    });
    afterEach(() => tmp.remove());

    it('stores bytes under their digest, lists, serves them locally, removes them', async () => {
      const a = await b.open(tmp.dir);
      const bytes = randomBytes(3000);
      const digest = await store(a, bytes);
      expect(digest).toBe(sha(bytes));
      expect(await a.has(digest)).toBe(true);
      expect(await a.list()).toEqual([digest]);
      expect((await readFile(await a.local(digest))).equals(bytes)).toBe(true);
      expect(await a.verify(digest)).toBe(true);
      // The same bytes again keep one copy.
      expect(await store(a, bytes)).toBe(digest);
      expect(await a.list()).toEqual([digest]);
      await a.remove(digest);
      expect(await a.has(digest)).toBe(false);
      expect(await a.list()).toEqual([]);
    });

    it('stages a file of an unpacked upload by moving it, under its digest', async () => {
      const a = await b.open(tmp.dir);
      const bytes = randomBytes(200_000);
      const unpacked = join(await a.tempFolder(), 'model.onnx');
      await writeFile(unpacked, bytes);
      const staged = await a.stageFile(unpacked);
      expect(staged.digest).toBe(sha(bytes));
      expect(staged.sizeBytes).toBe(bytes.length);
      expect(await exists(unpacked)).toBe(false);
      await a.commit(staged);
      expect((await readFile(await a.local(staged.digest))).equals(bytes)).toBe(true);
      expect(await a.verify(staged.digest)).toBe(true);
    });

    it('sweeps files no row references, only past the grace period', async () => {
      const a = await b.open(tmp.dir);
      const kept = await store(a, randomBytes(100));
      const orphan = await store(a, randomBytes(100));
      expect(await a.collectOrphans(new Set([kept]), 60_000)).toEqual([]);
      expect(await a.collectOrphans(new Set([kept]), 0)).toEqual([orphan]);
      expect(await a.has(kept)).toBe(true);
      expect(await a.has(orphan)).toBe(false);
    });
  });
}

describeArtifactStore('a folder', async () => ({ open: (dir) => ArtifactStore.open(dir), blobs: null }));

const available = await postgresAvailable('the artifact store on PostgreSQL blobs');

describe.skipIf(!available)('PostgreSQL blobs (MAAS_BLOB_STORE=postgres)', () => {
  const schema = sharedPostgresSchema();
  let pg: FreshPostgresStore | null = null;
  const fresh = async (): Promise<Backend> => {
    await pg?.store.close();
    pg = await schema.open();
    const blobs = pg.store.blobs;
    return {
      blobs,
      open: (dir, cacheBytes = 1 << 30) =>
        ArtifactStore.open(dir, { blobs, cacheBytes } satisfies SharedBlobs),
    };
  };
  afterAll(async () => {
    await pg?.store.close();
    await schema.drop();
  });

  describeArtifactStore('PostgreSQL blobs, the folder a cache', fresh);

  describe('what the shared store adds', () => {
    let b: Backend;
    let tmp: Awaited<ReturnType<typeof tempDir>>;
    beforeEach(async () => {
      b = await fresh();
      tmp = await tempDir('maas-artifacts-');
    });
    afterEach(() => tmp.remove());

    it('a file stored by one process is fetched by another into its own folder, checked, once', async () => {
      const one = await b.open(`${tmp.dir}/one`);
      const two = await b.open(`${tmp.dir}/two`);
      const bytes = randomBytes(2 * 1024 * 1024 + 5); // three chunks in the database
      const digest = await store(one, bytes);
      expect(await two.has(digest)).toBe(false);
      const [p1, p2] = await Promise.all([two.local(digest), two.local(digest)]);
      expect(p1).toBe(p2);
      expect(p1.startsWith(`${tmp.dir}/two/`)).toBe(true);
      expect((await readFile(p1)).equals(bytes)).toBe(true);
      expect(await two.has(digest)).toBe(true);
      expect(two.cachedBytes()).toBe(bytes.length);
    });

    it('an unknown digest is not_found', async () => {
      const one = await b.open(tmp.dir);
      const error = await one.local(sha(Buffer.from('never stored'))).catch((e: unknown) => e);
      expect(isMaasError(error) && error.code).toBe('not_found');
    });

    it('evicts the least recently used copies past the budget, and fetches them again on use', async () => {
      const writer = await b.open(`${tmp.dir}/writer`);
      const [d1, d2, d3] = [
        await store(writer, randomBytes(1000)),
        await store(writer, randomBytes(1000)),
        await store(writer, randomBytes(1000)),
      ];
      const cache = await b.open(`${tmp.dir}/reader`, 2500);
      await cache.local(d1);
      await cache.local(d2);
      await cache.local(d1); // d1 used after d2: d2 is now the least recent
      await cache.local(d3);
      expect([await cache.has(d1), await cache.has(d2), await cache.has(d3)]).toEqual([true, false, true]);
      expect(cache.cachedBytes()).toBe(2000);
      // Still in the database: fetched again, and now d1 is the least recently used.
      expect(await exists(await cache.local(d2))).toBe(true);
      expect([await cache.has(d1), await cache.has(d2), await cache.has(d3)]).toEqual([false, true, true]);
      // A restart with a smaller budget counts the copies it finds and keeps the newest.
      const restarted = await b.open(`${tmp.dir}/reader`, 1500);
      expect(restarted.cachedBytes()).toBe(1000);
    });

    it('the sweep removes blobs no row references, past the grace period, and dead uploads', async () => {
      const one = await b.open(tmp.dir);
      const kept = await store(one, randomBytes(100));
      const orphan = await store(one, randomBytes(100));
      expect(await one.collectSharedOrphans(new Set([kept]), 60_000)).toEqual([]);
      expect(await one.collectSharedOrphans(new Set([kept]), 0)).toEqual([orphan]);
      expect(await b.blobs?.list()).toEqual([kept]);
      expect(await one.has(orphan)).toBe(false);
    });
  });
});

describe('LruBytes', () => {
  it('keeps the file just used even when it alone is over the budget', () => {
    const lru = new LruBytes(100);
    expect(lru.use('a', 60)).toEqual([]);
    expect(lru.use('b', 30)).toEqual([]);
    expect(lru.use('c', 500)).toEqual(['a', 'b']);
    expect(lru.bytes).toBe(500);
    lru.forget('c');
    expect(lru.bytes).toBe(0);
  });
});
