/**
 * The conformance suite of the model registry port (models, versions, aliases), written against
 * the PORTS only. Every adapter (SQLite, PostgreSQL) runs it with its own factory:
 *
 *   describeModelStoreConformance('sqlite', async () => { ...; return { store, openPeer, cleanup } });
 *
 * `openPeer` opens a second store on the same database (another connection or pool, as a second
 * process would have), for the tests of concurrent writers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaasError } from '../../src/common/errors';
import { LATEST_ALIAS, type NewVersion, type Store } from '../../src/store/ports';

export interface StoreHarness {
  store: Store;
  /** A second, independent store on the same database (the caller closes it). */
  openPeer: () => Promise<Store>;
  cleanup: () => Promise<void>;
}
export type StoreFactory = () => Promise<StoreHarness>;

const sig = { inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }], outputs: [] };
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const version = (owner: string, model: string, n: number): NewVersion => ({
  owner,
  model,
  digest: digest(n),
  sizeBytes: 100 + n,
  signature: sig,
  metadata: { n },
});

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toSatisfy((e: unknown) => e instanceof MaasError && e.code === code);
}

export function describeModelStoreConformance(adapter: string, factory: StoreFactory): void {
  describe(`store conformance: ${adapter}`, () => {
    let store: Store;
    let openPeer: () => Promise<Store>;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, openPeer, cleanup } = await factory());
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('creates, reads, lists and updates models; duplicates conflict', async () => {
      const m = await store.models.createModel({ owner: 't1', name: 'mnist', task: 'image-classification' });
      expect(m).toMatchObject({
        owner: 't1',
        name: 'mnist',
        task: 'image-classification',
        description: null,
        serving: {},
      });
      await expectCode(store.models.createModel({ owner: 't1', name: 'mnist' }), 'conflict');
      await store.models.createModel({ owner: 't1', name: 'alpha' });
      expect((await store.models.listModels('t1')).map((x) => x.name)).toEqual(['alpha', 'mnist']);
      const u = await store.models.updateModel('t1', 'mnist', {
        description: 'digits',
        serving: { max_batch_size: 4 },
      });
      expect(u).toMatchObject({
        description: 'digits',
        task: 'image-classification',
        serving: { max_batch_size: 4 },
      });
      await expectCode(store.models.updateModel('t1', 'nope', {}), 'not_found');
    });

    it('keeps owners apart', async () => {
      await store.models.addVersion(version('t1', 'm', 1), { owner: 't1', name: 'm' });
      await store.models.addVersion(version('t2', 'm', 2), { owner: 't2', name: 'm' });
      expect(await store.models.getModel('t3', 'm')).toBeNull();
      expect((await store.models.listModels('t2')).length).toBe(1);
      expect((await store.models.getVersion('t2', 'm', 1))?.digest).toBe(digest(2));
      expect(await store.models.deleteModel('t3', 'm')).toBeNull();
      await store.models.deleteModel('t1', 'm');
      expect(await store.models.getModel('t2', 'm')).not.toBeNull();
    });

    it('lists the public models of other owners only', async () => {
      for (const [owner, name] of [
        ['t1', 'own-pub'],
        ['t2', 'b'],
        ['t2', 'a'],
        ['t2', 'hidden'],
        ['t0', 'z'],
      ]) {
        await store.models.createModel({ owner, name });
        if (name !== 'hidden') await store.models.updateModel(owner, name, { public: true });
      }
      const seen = (await store.models.listPublicModels('t1')).map((m) => `${m.owner}/${m.name}`);
      expect(seen).toEqual(['t0/z', 't2/a', 't2/b']);
      await store.models.updateModel('t2', 'a', { public: false });
      expect((await store.models.listPublicModels('t2')).map((m) => m.name)).toEqual(['z', 'own-pub']);
      expect((await store.models.listPublicModels('t1')).map((m) => m.name)).toEqual(['z', 'b']);
    });

    it('numbers versions, never reuses a number, moves latest, round-trips JSON', async () => {
      await expectCode(store.models.addVersion(version('t', 'm', 1)), 'not_found');
      const v1 = await store.models.addVersion(version('t', 'm', 1), { owner: 't', name: 'm' });
      const v2 = await store.models.addVersion(version('t', 'm', 2));
      expect([v1.version, v2.version]).toEqual([1, 2]);
      expect(v2).toMatchObject({ digest: digest(2), sizeBytes: 102, signature: sig, metadata: { n: 2 } });
      expect(await store.models.resolveAlias('t', 'm', LATEST_ALIAS)).toBe(2);
      await store.models.deleteVersion('t', 'm', 2);
      expect(await store.models.resolveAlias('t', 'm', LATEST_ALIAS)).toBe(1);
      const v3 = await store.models.addVersion(version('t', 'm', 3));
      expect(v3.version).toBe(3);
      expect((await store.models.listVersions('t', 'm')).map((v) => v.version)).toEqual([1, 3]);
      expect(await store.models.deleteVersion('t', 'm', 2)).toBeNull();
    });

    it('sets, lists, resolves and deletes aliases; deleting a version drops its aliases', async () => {
      await store.models.addVersion(version('t', 'm', 1), { owner: 't', name: 'm' });
      await store.models.addVersion(version('t', 'm', 2));
      await store.models.setAlias('t', 'm', 'prod', 1);
      await expectCode(store.models.setAlias('t', 'm', 'prod', 9), 'not_found');
      expect(await store.models.listAliases('t', 'm')).toEqual({ latest: 2, prod: 1 });
      await store.models.setAlias('t', 'm', 'prod', 2);
      expect(await store.models.resolveAlias('t', 'm', 'prod')).toBe(2);
      await store.models.deleteVersion('t', 'm', 2);
      expect(await store.models.listAliases('t', 'm')).toEqual({ latest: 1 });
      await store.models.setAlias('t', 'm', 'canary', 1);
      expect(await store.models.deleteAlias('t', 'm', 'canary')).toBe(true);
      expect(await store.models.deleteAlias('t', 'm', 'canary')).toBe(false);
    });

    it('deletes a model with its versions and reports them; tracks referenced digests', async () => {
      await store.models.addVersion(version('t', 'm', 1), { owner: 't', name: 'm' });
      await store.models.addVersion(version('t', 'm', 2));
      await store.models.addVersion(version('t', 'k', 2), { owner: 't', name: 'k' });
      expect(await store.models.referencedDigests()).toEqual(new Set([digest(1), digest(2)]));
      const removed = await store.models.deleteModel('t', 'm');
      expect(removed?.map((v) => v.version)).toEqual([1, 2]);
      expect(await store.models.getModel('t', 'm')).toBeNull();
      expect(await store.models.listVersions('t', 'm')).toEqual([]);
      expect(await store.models.referencedDigests()).toEqual(new Set([digest(2)]));
    });

    it('adds versions concurrently without duplicate numbers', async () => {
      await store.models.createModel({ owner: 't', name: 'm' });
      const vs = await Promise.all(
        [1, 2, 3, 4, 5, 6].map((n) => store.models.addVersion(version('t', 'm', n))),
      );
      expect(vs.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('two connections adding versions together, creating the model, never share a number', async () => {
      const peer = await openPeer();
      try {
        const writers = [store, peer, store, peer, store, peer];
        const vs = await Promise.all(
          writers.map((s, n) => s.models.addVersion(version('t', 'm', n + 1), { owner: 't', name: 'm' })),
        );
        expect(vs.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
        expect(await peer.models.resolveAlias('t', 'm', LATEST_ALIAS)).toBe(6);
        expect((await store.models.listModels('t')).map((m) => m.name)).toEqual(['m']);
      } finally {
        await peer.close();
      }
    });

    it('holds one version per training job: a second one naming the job conflicts, also from another connection', async () => {
      const peer = await openPeer();
      try {
        const ofJob = (n: number, job?: string) => ({ ...version('t', 'm', n), job });
        const results = await Promise.allSettled(
          [store, peer, store, peer].map((s, n) =>
            s.models.addVersion(ofJob(n + 1, 'trn_a'), { owner: 't', name: 'm' }),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results)
          if (r.status === 'rejected') expect((r.reason as MaasError).code).toBe('conflict');
        // Another job, versions of no job, and the same job under another model are all allowed.
        await store.models.addVersion(ofJob(5, 'trn_b'));
        await store.models.addVersion(ofJob(6));
        await store.models.addVersion(ofJob(7));
        await store.models.addVersion({ ...ofJob(8, 'trn_a'), model: 'k' }, { owner: 't', name: 'k' });
        expect((await store.models.listVersions('t', 'm')).map((v) => v.digest)).toHaveLength(4);
      } finally {
        await peer.close();
      }
    });

    it('an alias set while its version is deleted on another connection never points at nothing', async () => {
      const peer = await openPeer();
      try {
        await store.models.addVersion(version('t', 'm', 1), { owner: 't', name: 'm' });
        for (let n = 2; n <= 9; n++) {
          await store.models.addVersion(version('t', 'm', n));
          const [set] = await Promise.allSettled([
            store.models.setAlias('t', 'm', 'prod', n),
            peer.models.deleteVersion('t', 'm', n),
          ]);
          // Either the alias was set and went with its version, or the version was gone first.
          if (set.status === 'rejected') expect((set.reason as MaasError).code).toBe('not_found');
          expect(await store.models.listAliases('t', 'm')).toEqual({ latest: 1 });
        }
      } finally {
        await peer.close();
      }
    });

    it('sorts names byte-wise, as SQLite does', async () => {
      for (const name of ['b', 'B', 'a', '_x', 'A']) await store.models.createModel({ owner: 't', name });
      expect((await store.models.listModels('t')).map((m) => m.name)).toEqual(['A', 'B', '_x', 'a', 'b']);
    });

    it('close is idempotent', async () => {
      await store.close();
      await store.close();
      await cleanup();
      ({ store, openPeer, cleanup } = await factory());
    });
  });
}
