/**
 * The work-item port (src/store/work-ports.ts): predictions, webhook deliveries, batches and
 * webhook secrets. Every adapter passes these cases (SQLite in sqlite.test.ts, PostgreSQL in
 * postgres.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BATCH_WINDOW_MS, purgeFinishedWork } from '../../src/platform/retention';
import type { WorkItem } from '../../src/store/work-ports';
import type { StoreFactory } from './conformance';

const uniq = () => randomBytes(6).toString('hex');

function item(over: Partial<WorkItem> & Pick<WorkItem, 'id' | 'owner'>): WorkItem {
  return {
    kind: 'prediction',
    status: 'starting',
    parent: null,
    dueAt: 0,
    createdAt: 1_000,
    updatedAt: 1_000,
    data: { model: 'bigram', input: { prompt: 'the ' } },
    ...over,
  };
}

export function describeWorkItemConformance(name: string, open: StoreFactory): void {
  describe(`${name}: work items`, () => {
    it('stores, reads back under its owner only, and refuses a duplicate id', async () => {
      const h = await open();
      try {
        const id = `p_${uniq()}`;
        const owner = `t${uniq()}`;
        await h.store.workItems.insert(item({ id, owner }));
        expect(await h.store.workItems.get('prediction', owner, id)).toEqual(item({ id, owner }));
        expect(await h.store.workItems.get('prediction', 'someone-else', id)).toBeNull();
        expect(await h.store.workItems.get('batch', owner, id)).toBeNull();
        await expect(h.store.workItems.insert(item({ id, owner }))).rejects.toMatchObject({
          code: 'conflict',
        });
      } finally {
        await h.cleanup();
      }
    });

    it('a conditional update writes once: of two claims of a starting item, one wins', async () => {
      const h = await open();
      const peer = await h.openPeer();
      try {
        const owner = `t${uniq()}`;
        const base = item({ id: `p_${uniq()}`, owner });
        await h.store.workItems.insert(base);
        const claim = { ...base, status: 'processing', updatedAt: 2_000 };
        const wins = await Promise.all([
          h.store.workItems.update(claim, ['starting']),
          peer.workItems.update(claim, ['starting']),
        ]);
        expect(wins.filter(Boolean)).toHaveLength(1);
        const done = { ...claim, status: 'succeeded', data: { output: [1, 2] } };
        expect(await h.store.workItems.update(done)).toBe(true);
        expect(await h.store.workItems.get('prediction', owner, base.id)).toMatchObject({
          status: 'succeeded',
          data: { output: [1, 2] },
          createdAt: 1_000,
        });
      } finally {
        await peer.close();
        await h.cleanup();
      }
    });

    it('lists newest first with a cursor, by status oldest first, and children of a parent', async () => {
      const h = await open();
      try {
        const owner = `t${uniq()}`;
        const ids = ['a', 'b', 'c', 'd'].map((s) => `p_${uniq()}${s}`);
        for (const [i, id] of ids.entries())
          await h.store.workItems.insert(
            item({ id, owner, createdAt: 10 + i, status: i % 2 ? 'succeeded' : 'starting' }),
          );
        await h.store.workItems.insert(item({ id: `p_${uniq()}`, owner: `o${uniq()}`, createdAt: 5 }));
        const first = await h.store.workItems.list('prediction', owner, { limit: 2 });
        expect(first.map((p) => p.id)).toEqual([ids[3], ids[2]]);
        const last = first[1];
        const next = await h.store.workItems.list('prediction', owner, {
          limit: 5,
          before: { createdAt: last.createdAt, id: last.id },
        });
        expect(next.map((p) => p.id)).toEqual([ids[1], ids[0]]);
        const starting = (await h.store.workItems.byStatus('prediction', ['starting'], 1000)).filter(
          (p) => p.owner === owner,
        );
        expect(starting.map((p) => p.id)).toEqual([ids[0], ids[2]]);
        for (const n of [2, 1])
          await h.store.workItems.insert(
            item({ kind: 'delivery', id: `d_${uniq()}${n}`, owner, parent: ids[0], createdAt: 20 + n }),
          );
        const kids = await h.store.workItems.children('delivery', ids[0]);
        expect(kids.map((k) => k.createdAt)).toEqual([21, 22]);
      } finally {
        await h.cleanup();
      }
    });

    it('due items by time, and purge removes old finished items with their children', async () => {
      const h = await open();
      try {
        const owner = `t${uniq()}`;
        const tag = uniq();
        const soon = item({ kind: 'delivery', id: `d_${tag}1`, owner, status: 'pending', dueAt: 50 });
        const later = item({ kind: 'delivery', id: `d_${tag}2`, owner, status: 'pending', dueAt: 500 });
        const unscheduled = item({ kind: 'delivery', id: `d_${tag}3`, owner, status: 'pending' });
        for (const d of [later, soon, unscheduled]) await h.store.workItems.insert(d);
        const due = (await h.store.workItems.due('delivery', 'pending', 100, 100)).filter((d) =>
          d.id.includes(tag),
        );
        expect(due.map((d) => d.id)).toEqual([soon.id]);

        const old = item({ id: `p_${tag}old`, owner, status: 'succeeded', createdAt: 1 });
        const young = item({ id: `p_${tag}young`, owner, status: 'succeeded', createdAt: 9_000 });
        const running = item({ id: `p_${tag}run`, owner, status: 'processing', createdAt: 1 });
        for (const p of [old, young, running]) await h.store.workItems.insert(p);
        await h.store.workItems.insert(
          item({ kind: 'delivery', id: `d_${tag}old`, owner, parent: old.id, status: 'delivered' }),
        );
        expect(
          await h.store.workItems.purge('prediction', ['succeeded', 'failed'], 100),
        ).toBeGreaterThanOrEqual(1);
        expect(await h.store.workItems.get('prediction', owner, old.id)).toBeNull();
        expect(await h.store.workItems.children('delivery', old.id)).toEqual([]);
        expect(await h.store.workItems.get('prediction', owner, young.id)).not.toBeNull();
        expect(await h.store.workItems.get('prediction', owner, running.id)).not.toBeNull();
      } finally {
        await h.cleanup();
      }
    });
    it('retention: finished batches past window + TTL go with their rows, running ones and pending deliveries stay', async () => {
      const h = await open();
      try {
        const owner = `t${uniq()}`;
        const tag = uniq();
        const ttl = 60_000;
        // Tiny epoch times: the cutoffs reach no row another test wrote with the real clock.
        const now = BATCH_WINDOW_MS + ttl + 5_000;
        const batch = (id: string, status: string, createdAt: number) =>
          item({ kind: 'batch', id: `batch_${tag}${id}`, owner, status, createdAt, data: {} });
        const done = batch('done', 'completed', 1_000);
        const cancelled = batch('cancelled', 'cancelled', 1_000);
        const running = batch('run', 'in_progress', 1_000);
        const recent = batch('recent', 'failed', 9_000);
        for (const b of [done, cancelled, running, recent]) await h.store.workItems.insert(b);
        const delivery = (id: string, parent: string, status: string, createdAt: number) =>
          item({ kind: 'delivery', id: `d_${tag}${id}`, owner, parent, status, createdAt, data: {} });
        const job = `job_${tag}`;
        const rows = [
          delivery('batch', done.id, 'delivered', 1_000),
          delivery('sent', job, 'delivered', 1_000),
          delivery('gaveup', job, 'failed', 1_000),
          delivery('retrying', job, 'pending', 1_000),
          delivery('fresh', job, 'delivered', now - 1_000),
        ];
        for (const d of rows) await h.store.workItems.insert(d);

        const purged = await purgeFinishedWork(h.store.workItems, ttl, now);
        expect(purged.batches).toBeGreaterThanOrEqual(2);
        expect(purged.deliveries).toBeGreaterThanOrEqual(2);
        expect(await h.store.workItems.get('batch', owner, done.id)).toBeNull();
        expect(await h.store.workItems.get('batch', owner, cancelled.id)).toBeNull();
        expect(await h.store.workItems.children('delivery', done.id)).toEqual([]);
        expect(await h.store.workItems.get('batch', owner, running.id)).not.toBeNull();
        expect(await h.store.workItems.get('batch', owner, recent.id)).not.toBeNull();
        const listed = await h.store.workItems.list('batch', owner, { limit: 10 });
        expect(listed.map((b) => b.id)).toEqual([recent.id, running.id]);
        const left = await h.store.workItems.children('delivery', job);
        expect(left.map((d) => d.id).sort()).toEqual([`d_${tag}fresh`, `d_${tag}retrying`]);
      } finally {
        await h.cleanup();
      }
    });
  });
}
