/**
 * The conformance suites of the training ports: datasets, and training jobs with their lease and
 * events. Written against the PORTS only; every adapter (SQLite, PostgreSQL) runs them with the
 * same factory as the model suite (`./conformance.ts`), whose `openPeer` gives a second store on
 * the same database: the concurrent tests race two connections, as two processes would.
 *
 * Not a `*.test.ts` file itself: adapters' test files import it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaasError } from '../../src/common/errors';
import type { Store } from '../../src/store/ports';
import type { NewJob } from '../../src/store/training-ports';
import type { StoreFactory } from './conformance';

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

let jobCounter = 0;
function job(over: Partial<NewJob> = {}): NewJob {
  jobCounter++;
  return {
    owner: 'acme',
    id: `trn_${jobCounter.toString(16).padStart(24, '0')}`,
    family: 'mlp',
    dataset: 'iris',
    datasetDigest: null,
    target: 'species',
    model: 'iris-mlp',
    hyperparameters: { epochs: 3, hidden: [8, 4], learning_rate: 0.01 },
    ...over,
  };
}

/** Creates jobs one after another, so their `createdAt` order is their creation order. */
async function createJobs(store: Store, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await store.trainings.create(job())).id);
    await new Promise((r) => setTimeout(r, 2)); // createdAt has millisecond resolution
  }
  return ids;
}

function useHarness(factory: StoreFactory) {
  const h = {} as { store: Store; openPeer: () => Promise<Store> };
  let cleanup: () => Promise<void>;
  const peers: Store[] = [];
  beforeEach(async () => {
    const opened = await factory();
    h.store = opened.store;
    h.openPeer = async () => {
      const peer = await opened.openPeer();
      peers.push(peer);
      return peer;
    };
    cleanup = opened.cleanup;
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.close();
    await h.store.close();
    await cleanup();
  });
  return h;
}

export function describeDatasetStoreConformance(adapter: string, factory: StoreFactory): void {
  describe(`dataset store conformance: ${adapter}`, () => {
    const h = useHarness(factory);
    const dataset = (owner: string, name: string, n: number) => ({
      owner,
      name,
      digest: digest(n),
      sizeBytes: 1000 + n,
      format: 'csv',
      kind: 'tabular' as const,
      description: { rows: 150, columns: [{ name: 'species', type: 'categorical' }], z: 1, a: 2 },
    });

    it('creates, reads, lists by name and deletes; duplicates conflict; owners stay apart', async () => {
      const { store } = h;
      const created = await store.datasets.create(dataset('acme', 'iris', 1));
      expect(created).toMatchObject({ ...dataset('acme', 'iris', 1) });
      expect(Object.keys(created.description)).toEqual(['rows', 'columns', 'z', 'a']);
      expect(created.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      await expect(store.datasets.create(dataset('acme', 'iris', 2))).rejects.toSatisfy(
        (e: unknown) => e instanceof MaasError && e.code === 'conflict',
      );
      await store.datasets.create(dataset('acme', 'Adult', 2));
      await store.datasets.create(dataset('beta', 'iris', 3));
      expect((await store.datasets.list('acme')).map((d) => d.name)).toEqual(['Adult', 'iris']);
      expect(await store.datasets.get('gamma', 'iris')).toBeNull();
      expect((await store.datasets.get('beta', 'iris'))?.digest).toBe(digest(3));
      expect(await store.datasets.referencedDigests()).toEqual(new Set([digest(1), digest(2), digest(3)]));
      expect((await store.datasets.delete('acme', 'iris'))?.digest).toBe(digest(1));
      expect(await store.datasets.delete('acme', 'iris')).toBeNull();
      expect(await store.datasets.get('beta', 'iris')).not.toBeNull();
      expect(await store.datasets.referencedDigests()).toEqual(new Set([digest(2), digest(3)]));
    });
  });
}

export function describeTrainingStoreConformance(adapter: string, factory: StoreFactory): void {
  describe(`training store conformance: ${adapter}`, () => {
    const h = useHarness(factory);

    it('creates a queued job; reads it only as its owner; lists newest first', async () => {
      const { store } = h;
      const j = job({ datasetDigest: digest(7) });
      const created = await store.trainings.create(j);
      expect(created).toMatchObject({
        ...j,
        status: 'queued',
        error: null,
        attempts: 0,
        leaseUntil: 0,
        checkpointStep: 0,
        result: null,
        startedAt: null,
        finishedAt: null,
      });
      expect(await store.trainings.get('acme', j.id)).toEqual(created);
      expect(await store.trainings.get('beta', j.id)).toBeNull();
      await new Promise((r) => setTimeout(r, 2));
      const later = await store.trainings.create(job());
      expect((await store.trainings.list('acme')).map((x) => x.id)).toEqual([later.id, j.id]);
      expect(await store.trainings.list('beta')).toEqual([]);
    });

    it('claims the oldest queued job, skips excluded ones, and reclaims an expired lease', async () => {
      const { store } = h;
      const [first, second] = await createJobs(store, 2);
      const claimed = await store.trainings.claimNext(1000, 5000, { exclude: [first!] });
      expect(claimed).toMatchObject({ id: second, status: 'running', attempts: 1, leaseUntil: 5000 });
      expect(claimed?.startedAt).not.toBeNull();
      expect((await store.trainings.claimNext(1000, 5000, { exclude: [] }))?.id).toBe(first);
      // Both leases run until 5000: nothing to claim before then.
      expect(await store.trainings.claimNext(4999, 9000, { exclude: [] })).toBeNull();
      // The trainer of `second` died: after its lease it is claimed again, start time kept.
      expect(await store.trainings.heartbeat(first!, 1, 20_000)).toBe(true);
      const again = await store.trainings.claimNext(5001, 9000, { exclude: [] });
      expect(again).toMatchObject({
        id: second,
        attempts: 2,
        leaseUntil: 9000,
        startedAt: claimed?.startedAt,
      });
      expect((await store.trainings.byStatus('running')).map((x) => x.id).sort()).toEqual(
        [first, second].sort(),
      );
      expect(await store.trainings.byStatus('queued')).toEqual([]);
    });

    it('two concurrent claimers never get the same job', async () => {
      const { store } = h;
      const peer = await h.openPeer();
      const ids = await createJobs(store, 6);
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? peer : store).trainings.claimNext(1000, 60_000, { exclude: [] }),
        ),
      );
      const got = claims.filter((c) => c !== null).map((c) => c.id);
      expect(new Set(got).size).toBe(got.length);
      // Every job is claimed exactly once in the end (a claimer may lose a race and find none).
      for (;;) {
        const next = await (got.length % 2 ? peer : store).trainings.claimNext(1000, 60_000, { exclude: [] });
        if (!next) break;
        expect(got).not.toContain(next.id);
        got.push(next.id);
      }
      expect(got.sort()).toEqual([...ids].sort());
      for (const id of ids) expect((await store.trainings.get('acme', id))?.attempts).toBe(1);
    });

    it('fences a claim taken over after its lease ran out: the old trainer renews, checkpoints and settles nothing', async () => {
      const { store } = h;
      const peer = await h.openPeer();
      const [id] = await createJobs(store, 1);
      const first = await store.trainings.claimNext(1000, 5000, { exclude: [] });
      expect(first?.attempts).toBe(1);
      // Its trainer was too slow to renew: another worker takes the job over.
      const second = await peer.trainings.claimNext(5001, 9000, { exclude: [] });
      expect(second).toMatchObject({ id, attempts: 2, leaseUntil: 9000 });
      expect(await store.trainings.heartbeat(id!, 1, 20_000)).toBe(false);
      expect(await store.trainings.setCheckpoint(id!, 1, 80)).toBe(false);
      expect(await store.trainings.finish(id!, 'succeeded', { result: { version: 1 } }, 1)).toBe(false);
      expect(await peer.trainings.get('acme', id!)).toMatchObject({
        status: 'running',
        leaseUntil: 9000,
        checkpointStep: 0,
        result: null,
      });
      // The holder's writes go through.
      expect(await peer.trainings.heartbeat(id!, 2, 12_000)).toBe(true);
      expect(await peer.trainings.setCheckpoint(id!, 2, 40)).toBe(true);
      expect(await peer.trainings.finish(id!, 'succeeded', { result: { version: 1 } }, 2)).toBe(true);
      expect(await store.trainings.get('acme', id!)).toMatchObject({
        status: 'succeeded',
        checkpointStep: 40,
      });
      // A cancel names no claim: it always ends a job not yet ended.
      const [other] = await createJobs(store, 1);
      await store.trainings.claimNext(20_000, 30_000, { exclude: [] });
      expect(await peer.trainings.finish(other!, 'cancelled', {})).toBe(true);
    });

    it('is fair across tenants: the tenant served longest ago goes first, FIFO within a tenant', async () => {
      const { store } = h;
      const jobsOf = async (owner: string, n: number) => {
        const ids: string[] = [];
        for (let i = 0; i < n; i++) {
          ids.push((await store.trainings.create(job({ owner }))).id);
          await new Promise((r) => setTimeout(r, 2));
        }
        return ids;
      };
      const a = await jobsOf('a', 4);
      const b = await jobsOf('b', 2);
      const claimed: string[] = [];
      for (let i = 0; i < 3; i++)
        claimed.push((await store.trainings.claimNext(1000, 60_000, { exclude: [] }))!.id);
      // A tenant queueing now, having never been served, goes before both.
      const [c] = await jobsOf('c', 1);
      for (;;) {
        const next = await store.trainings.claimNext(1000, 60_000, { exclude: [] });
        if (!next) break;
        claimed.push(next.id);
      }
      expect(claimed).toEqual([a[0], b[0], a[1], c, b[1], a[2], a[3]]);
    });

    it('caps the jobs one tenant runs at once under live leases, across connections', async () => {
      const { store } = h;
      const peer = await h.openPeer();
      const a: string[] = [];
      for (let i = 0; i < 4; i++) a.push((await store.trainings.create(job({ owner: 'a' }))).id);
      const [b] = [(await store.trainings.create(job({ owner: 'b' }))).id];
      const limit = { exclude: [], perTenantLimit: 2 };
      const claims = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? peer : store).trainings.claimNext(1000, 5000, limit)),
      );
      const got = claims.filter((c) => c !== null).map((c) => c.id);
      expect(got.filter((id) => a.includes(id))).toHaveLength(2);
      expect(got).toContain(b);
      expect(await store.trainings.claimNext(1000, 5000, limit)).toBeNull();
      // An ended job frees its place; so does a lease that ran out (its job is claimable again).
      const [doneA] = got.filter((id) => a.includes(id));
      await store.trainings.finish(doneA!, 'succeeded', {});
      expect(a).toContain((await peer.trainings.claimNext(1000, 5000, limit))?.id);
      expect(await peer.trainings.claimNext(1000, 5000, limit)).toBeNull();
      expect((await store.trainings.claimNext(6000, 9000, limit))?.attempts).toBe(2);
    });

    it('createOnce creates a job once, even from two connections at once; requeue from the listed statuses only', async () => {
      const { store } = h;
      const peer = await h.openPeer();
      const j = job({ owner: 'zoo', family: 'zoo' });
      const made = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? peer : store).trainings.createOnce(j)),
      );
      expect(made.filter(Boolean)).toHaveLength(1);
      expect(await store.trainings.list('zoo')).toHaveLength(1);
      // Not terminal: nothing to requeue.
      expect(await store.trainings.requeue(j.id, ['failed', 'cancelled'])).toBe(false);
      const claimed = await store.trainings.claimNext(1000, 5000, { exclude: [] });
      expect(await store.trainings.finish(j.id, 'failed', { error: 'boom' }, claimed!.attempts)).toBe(true);
      expect(await store.trainings.requeue(j.id, ['cancelled'])).toBe(false);
      const racing = await Promise.all([
        store.trainings.requeue(j.id, ['failed']),
        peer.trainings.requeue(j.id, ['failed']),
      ]);
      expect(racing.filter(Boolean)).toHaveLength(1);
      expect(await store.trainings.get('zoo', j.id)).toMatchObject({
        status: 'queued',
        error: null,
        result: null,
        leaseUntil: 0,
        finishedAt: null,
        attempts: 1,
      });
      // Claimed again: the claim counter goes on (fencing tokens never repeat).
      expect((await store.trainings.claimNext(1000, 5000, { exclude: [] }))?.attempts).toBe(2);
    });

    it('claims only the families asked for, and never the excluded ones', async () => {
      const { store } = h;
      const user = (await store.trainings.create(job())).id;
      await new Promise((r) => setTimeout(r, 2));
      const zoo = (await store.trainings.create(job({ owner: 'zoo', family: 'zoo' }))).id;
      expect(await store.trainings.claimNext(1000, 5000, { exclude: [], families: ['cnn'] })).toBeNull();
      expect((await store.trainings.claimNext(1000, 5000, { exclude: [], families: ['zoo'] }))?.id).toBe(zoo);
      const [other] = [(await store.trainings.create(job({ owner: 'zoo', family: 'zoo' }))).id];
      expect(
        (await store.trainings.claimNext(1000, 5000, { exclude: [], excludeFamilies: ['zoo'] }))?.id,
      ).toBe(user);
      expect(
        await store.trainings.claimNext(1000, 5000, { exclude: [], excludeFamilies: ['zoo'] }),
      ).toBeNull();
      expect((await store.trainings.claimNext(1000, 5000, { exclude: [] }))?.id).toBe(other);
    });

    it('heartbeat extends a running lease and fails after a cancel', async () => {
      const { store } = h;
      const [id] = await createJobs(store, 1);
      expect(await store.trainings.heartbeat(id!, 1, 9000)).toBe(false); // queued, not running
      await store.trainings.claimNext(1000, 5000, { exclude: [] });
      expect(await store.trainings.heartbeat(id!, 1, 9000)).toBe(true);
      expect((await store.trainings.get('acme', id!))?.leaseUntil).toBe(9000);
      expect(await store.trainings.setCheckpoint(id!, 1, 40)).toBe(true);
      expect(await store.trainings.finish(id!, 'cancelled', {})).toBe(true);
      expect(await store.trainings.heartbeat(id!, 1, 12_000)).toBe(false);
      const cancelled = await store.trainings.get('acme', id!);
      expect(cancelled).toMatchObject({
        status: 'cancelled',
        leaseUntil: 0,
        checkpointStep: 40,
        error: null,
      });
      expect(cancelled?.finishedAt).not.toBeNull();
      // A terminal job is never claimed again, however old its lease.
      expect(await store.trainings.claimNext(Number.MAX_SAFE_INTEGER, 1, { exclude: [] })).toBeNull();
    });

    it('finish settles once: of a success racing a cancel on two connections, one wins', async () => {
      const { store } = h;
      const peer = await h.openPeer();
      const ids = await createJobs(store, 5);
      for (const id of ids) {
        await store.trainings.claimNext(1000, 60_000, { exclude: [] });
        const result = { version: 1, metrics: { accuracy: 0.97 } };
        const [succeeded, cancelled] = await Promise.all([
          store.trainings.finish(id, 'succeeded', { result }),
          peer.trainings.finish(id, 'cancelled', { error: 'cancelled by the user' }),
        ]);
        expect(Number(succeeded) + Number(cancelled)).toBe(1);
        const settled = await peer.trainings.get('acme', id);
        if (succeeded) expect(settled).toMatchObject({ status: 'succeeded', result, error: null });
        else
          expect(settled).toMatchObject({
            status: 'cancelled',
            result: null,
            error: 'cancelled by the user',
          });
        expect(await store.trainings.finish(id, 'failed', { error: 'late' })).toBe(false);
        expect((await store.trainings.get('acme', id))?.status).toBe(settled?.status);
      }
    });

    it('numbers events 1, 2, 3 ... per job; reads after a seq with a limit; counts by type', async () => {
      const { store } = h;
      const [a, b] = await createJobs(store, 2);
      const first = await store.trainings.addEvent(a!, 'status', { status: 'running' });
      expect(first).toMatchObject({ seq: 1, type: 'status', data: { status: 'running' } });
      for (let i = 1; i <= 4; i++) await store.trainings.addEvent(a!, 'epoch', { epoch: i, loss: 1 / i });
      await store.trainings.addEvent(b!, 'retrying', { attempt: 1 });
      await store.trainings.addEvent(a!, 'retrying', { attempt: 1 });
      expect((await store.trainings.events(a!, 0)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      const page = await store.trainings.events(a!, 2, 2);
      expect(page.map((e) => [e.seq, e.type, e.data.epoch])).toEqual([
        [3, 'epoch', 2],
        [4, 'epoch', 3],
      ]);
      expect((await store.trainings.events(b!, 0)).map((e) => e.seq)).toEqual([1]);
      expect(await store.trainings.countEvents(a!, 'epoch')).toBe(4);
      expect(await store.trainings.countEvents(a!, 'retrying')).toBe(1);
      expect(await store.trainings.countEvents(a!, 'log')).toBe(0);
      expect(await store.trainings.events('trn_absent', 0)).toEqual([]);
    });

    it('concurrent event writers on two connections: gapless seqs, each writer in order, no gap seen by a reader', async () => {
      const { store } = h;
      const peer = await h.openPeer();
      const [id] = await createJobs(store, 1);
      const PER_WRITER = 25;
      const write = async (s: Store, writer: string) => {
        for (let i = 0; i < PER_WRITER; i++) await s.trainings.addEvent(id!, 'progress', { writer, i });
      };
      // A follower (as the SSE stream is) that reads `seq > last` while the writers run: it must
      // see 1, 2, 3 ... with no hole, or it would skip an event forever.
      let done = false;
      const seen: number[] = [];
      const follow = async () => {
        while (!done || seen.length < 3 * PER_WRITER) {
          const batch = await store.trainings.events(id!, seen.at(-1) ?? 0);
          seen.push(...batch.map((e) => e.seq));
          if (batch.length === 0) await new Promise((r) => setTimeout(r, 1));
        }
      };
      const follower = follow();
      await Promise.all([write(store, 'a'), write(peer, 'b'), write(store, 'c')]);
      done = true;
      await follower;
      const all = await peer.trainings.events(id!, 0);
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 3 * PER_WRITER }, (_, i) => i + 1));
      expect(seen).toEqual(all.map((e) => e.seq));
      for (const writer of ['a', 'b', 'c']) {
        const mine = all.filter((e) => e.data.writer === writer).map((e) => e.data.i);
        expect(mine).toEqual(Array.from({ length: PER_WRITER }, (_, i) => i));
      }
    });
  });
}
