/**
 * Fair scheduling of a model's queue, on a real platform and a real model (ORT in its worker
 * thread): requests of several tenants are queued while the runner is idle, and the order in which
 * they are answered is the order the runner served them in (one row per run), so positions are
 * counted, never times. Batches (several rows per run) are told apart by event-loop turns: every
 * request of one run is answered in the same turn, two runs never are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import {
  anySignal,
  type Caller,
  callerOfSignal,
  scheduleAs,
  withCallerOf,
} from '../../src/platform/serving/caller';
import { Contention } from '../../src/platform/serving/contention';
import { FairQueue } from '../../src/platform/serving/fair-queue';
import type { Runner } from '../../src/platform/serving/runner';
import { linearModel } from '../helpers/onnx-fixtures';
import { type TestServer, testServer, upload } from '../helpers/server';

interface Ask {
  label: string;
  tenant: string;
  weight?: number;
  concurrency?: number;
  priority?: 'interactive' | 'batch';
}

const row = () => ({ x: tensorFrom('float32', [1, 4], [1, 2, 3, 4]) });

describe('fair scheduling of a model queue', () => {
  let s: TestServer;
  let rounds = 0;

  beforeAll(async () => {
    s = await testServer();
    const lin = linearModel(4, 3).bytes;
    expect((await upload(s.app, 'one', lin, '?max_batch_size=1')).statusCode).toBe(201);
    expect((await upload(s.app, 'eight', lin, '?max_batch_size=8')).statusCode).toBe(201);
    expect((await upload(s.app, 'fifo', lin, '?max_batch_size=1')).statusCode).toBe(201);
  }, 180_000);
  afterAll(async () => {
    await s?.close();
  });

  async function runnerOf(model: string): Promise<Runner> {
    const version = await s.platform.registry.resolve('default', model);
    const detail = await s.platform.registry.modelRecord('default', model);
    return s.platform.pool.acquire(version, await s.platform.registry.modelPath(version), detail.serving);
  }

  /** Queue every ask at once (no run starts before the next turn); answer order and turn of each. */
  async function serve(runner: Runner, asks: Ask[]): Promise<{ order: string[]; runs: string[][] }> {
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const order: string[] = [];
    const turns: number[] = [];
    const deadline = Date.now() + 60_000;
    // Each call's tenants are new ones: no turns carried over from an earlier test.
    const round = ++rounds;
    await Promise.all(
      asks.map(({ label, tenant, ...share }) =>
        runner
          .infer({ inputs: row(), deadline, caller: { tenant: `${round}:${tenant}`, ...share } })
          .then(() => {
            order.push(label);
            turns.push(turn);
          }),
      ),
    );
    ticking = false;
    const runs: string[][] = [];
    order.forEach((label, i) => {
      if (i > 0 && turns[i] === turns[i - 1]) runs[runs.length - 1].push(label);
      else runs.push([label]);
    });
    return { order, runs };
  }

  const asks = (tenant: string, n: number, extra: Partial<Ask> = {}): Ask[] =>
    Array.from({ length: n }, (_, i) => ({ label: `${tenant}${i + 1}`, tenant, ...extra }));

  it('serves tenants round-robin, first-in first-out within each', async () => {
    const { order } = await serve(await runnerOf('one'), [...asks('a', 5), ...asks('b', 2), ...asks('c', 1)]);
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4', 'a5']);
  });

  it('serves in arrival order under MAAS_SCHEDULING=fifo (the comparison)', async () => {
    const runner = await runnerOf('fifo');
    runner.settings = { ...runner.settings, scheduling: 'fifo' };
    const { order } = await serve(runner, [...asks('a', 3), ...asks('b', 2)]);
    expect(order).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
  });

  it('gives a tenant of weight 2 two turns for each of a tenant of weight 1', async () => {
    const { order } = await serve(await runnerOf('one'), [
      ...asks('a', 8, { weight: 2 }),
      ...asks('b', 8, { weight: 1 }),
    ]);
    const first9 = order.slice(0, 9);
    expect(first9).toEqual(['a1', 'b1', 'a2', 'a3', 'b2', 'a4', 'a5', 'b3', 'a6']);
    expect(first9.filter((l) => l.startsWith('a'))).toHaveLength(6);
  });

  it('holds a tenant to its concurrency cap in each run, filling the rest with others', async () => {
    const { runs } = await serve(await runnerOf('eight'), [
      ...asks('a', 6, { concurrency: 2 }),
      ...asks('b', 3),
    ]);
    // Without the cap the first run would take all 8 rows it could (6 of a's); with it, 2.
    expect(runs).toEqual([
      ['a1', 'b1', 'a2', 'b2', 'b3'],
      ['a3', 'a4'],
      ['a5', 'a6'],
    ]);
    for (const run of runs) expect(run.filter((l) => l.startsWith('a')).length).toBeLessThanOrEqual(2);
  });

  it('serves every interactive request before any batch one, batch ones fairly among themselves', async () => {
    const { order } = await serve(await runnerOf('one'), [
      ...asks('a', 3, { priority: 'batch' }).map((a) => ({ ...a, label: `${a.label}-batch` })),
      ...asks('b', 2, { priority: 'batch' }).map((a) => ({ ...a, label: `${a.label}-batch` })),
      ...asks('c', 2),
      { label: 'a-now', tenant: 'a' },
    ]);
    // Batch ones round-robin, where a's turn already went to a-now: b first.
    expect(order).toEqual(['c1', 'a-now', 'c2', 'b1-batch', 'a1-batch', 'b2-batch', 'a2-batch', 'a3-batch']);
  });

  it("takes the caller and priority through the inference service (the request signal's, batch on ask)", async () => {
    const infer = s.platform.inference;
    const order: string[] = [];
    const send = (label: string, signal: AbortSignal, priority?: 'batch') =>
      infer
        .infer('default', 'one', undefined, { inputs: row(), signal, priority })
        .then(() => order.push(label));
    const requestSignal = (caller: Caller) => scheduleAs(new AbortController().signal, caller);
    const call = (label: string, tenant: string, priority?: 'batch') =>
      send(label, requestSignal({ tenant }), priority);
    // Batch priority bound with the caller rather than asked on the call (as a background job's).
    const inBatch = (label: string, tenant: string) =>
      send(label, requestSignal({ tenant, priority: 'batch' }));
    // A signal derived from the request's (a family runtime's deadline) keeps its caller.
    const derived = (label: string, tenant: string) =>
      send(label, anySignal([requestSignal({ tenant }), AbortSignal.timeout(60_000)]));
    await Promise.all([
      call('a1-batch', 'a', 'batch'),
      inBatch('a2-batch', 'a'),
      call('a3', 'a'),
      derived('a4', 'a'),
      call('b1', 'b'),
    ]);
    // a1-batch may already be running when the others arrive; every interactive one goes before
    // a2-batch all the same, a3 before a4.
    const rest = order[0] === 'a1-batch' ? order.slice(1) : order;
    expect([...rest.slice(0, 3)].sort()).toEqual(['a3', 'a4', 'b1']);
    expect(rest.indexOf('a3')).toBeLessThan(rest.indexOf('a4'));
    expect(order.indexOf('a2-batch')).toBe(4);
  });
});

describe('the caller on a request signal', () => {
  it('is kept by the signals derived from it, and by nothing else', () => {
    const caller = { tenant: 'a', weight: 2 };
    const request = scheduleAs(new AbortController().signal, caller);
    expect(callerOfSignal(request)).toBe(caller);
    expect(callerOfSignal(anySignal([AbortSignal.timeout(60_000), request]))).toBe(caller);
    expect(callerOfSignal(withCallerOf(request, new AbortController().signal))).toBe(caller);
    expect(callerOfSignal(new AbortController().signal)).toBeUndefined();
    expect(callerOfSignal(anySignal([AbortSignal.timeout(60_000)]))).toBeUndefined();
    expect(callerOfSignal(undefined)).toBeUndefined();
  });
});

describe('FairQueue charges', () => {
  it('does not save up credit: a tenant back after idling waits one turn, not until the others catch up', () => {
    const q = new FairQueue<string>();
    for (let i = 1; i <= 20; i++) q.push('a', `a${i}`);
    for (let i = 1; i <= 10; i++) expect(q.shift()).toBe(`a${i}`);
    q.push('b', 'b1');
    q.push('b', 'b2');
    // b was idle while a was served ten times: it gets alternate turns, not ten in a row.
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual(['b1', 'a11', 'b2', 'a12']);
  });

  it('charges by cost: a tenant whose waiters cost 4 rows gets a quarter of the turns', () => {
    const q = new FairQueue<string>();
    for (let i = 1; i <= 4; i++) q.push('big', `big${i}`, { cost: 4 });
    for (let i = 1; i <= 8; i++) q.push('small', `small${i}`, { cost: 1 });
    const order: string[] = [];
    while (q.size > 0) order.push(q.shift()!);
    expect(order.slice(0, 6)).toEqual(['big1', 'small1', 'small2', 'small3', 'small4', 'big2']);
  });
});

describe('Contention: the rows of a run while tenants compete', () => {
  /** Costs learned while only `a` is active, then `b` arrives. */
  const learned = (single: number, rows: number, ms: number) => {
    const c = new Contention(1000);
    c.seen('a', 0);
    c.observe(1, single, 0);
    c.observe(rows, ms, 0);
    c.seen('b', 5);
    return c;
  };

  it('batches fully while one tenant is active, and until both run costs are known', () => {
    const c = new Contention(1000);
    c.seen('a', 0);
    c.observe(1, 3, 0);
    c.observe(16, 48, 0);
    expect(c.maxRows(16, 10)).toBe(16);
    const fresh = new Contention(1000);
    fresh.seen('a', 0);
    fresh.observe(16, 48, 0);
    fresh.seen('b', 5);
    expect(fresh.maxRows(16, 10)).toBe(16);
  });

  it('takes one row per run where every row costs a single run (a CPU), all where rows are nearly free', () => {
    expect(learned(3, 16, 48).maxRows(16, 10)).toBe(1);
    expect(learned(4, 16, 4).maxRows(16, 10)).toBe(16); // 16 rows in the time of one
    expect(learned(2, 16, 8).maxRows(16, 10)).toBe(4); // 0.5 ms a row: 4 fit in a single run's 2 ms
  });

  it('does not learn from runs while tenants compete (their times carry the flood event-loop lag)', () => {
    const c = learned(3, 16, 48);
    for (let i = 0; i < 20; i++) c.observe(1, 40, 10 + i);
    expect(c.maxRows(16, 40)).toBe(1);
  });

  it('forgets a tenant after the window: the flooder alone batches fully again', () => {
    const c = learned(3, 16, 48);
    c.seen('a', 900);
    expect(c.maxRows(16, 950)).toBe(1);
    c.seen('a', 1500);
    expect(c.activeTenants(1500)).toBe(1);
    expect(c.maxRows(16, 1500)).toBe(16);
  });
});

describe('Contention on a loaded machine', () => {
  it('a few slow single-row runs (a loaded machine) do not raise the cap: medians, not averages', () => {
    const c = new Contention(1000);
    c.seen('a', 0);
    for (let i = 0; i < 20; i++) c.observe(16, 48, 0);
    for (let i = 0; i < 14; i++) c.observe(1, 3, 0);
    for (let i = 0; i < 6; i++) c.observe(1, 200, 0);
    c.seen('b', 5);
    expect(c.maxRows(16, 10)).toBe(1);
  });
});
