/**
 * Store operations, SQLite vs PostgreSQL, through the store ports (what the platform pays per
 * call): the serving path's reads (key lookup, alias resolution), its writes (usage record, quota
 * debit), an upload's `addVersion`, and a quota debit with 8 in flight (8 API requests at once:
 * SQLite serializes them on its one writer, PostgreSQL runs them on 8 pooled connections).
 *
 *   node --import tsx bench/store/ops.ts [--rounds 5] [--ops 200] [--out bench/results]
 *
 * Both adapters in this one process, interleaved (SQLite then PostgreSQL, then the other way
 * round), one warm-up round discarded, then `--rounds` measured rounds; each op row reports the
 * median µs per call with min and max, and the per-round ratio PostgreSQL / SQLite. SQLite: a file
 * in a temp folder (WAL, synchronous=NORMAL, as `maas serve`). PostgreSQL: MAAS_BENCH_DATABASE_URL
 * (default the local server), a fresh schema dropped at the end, fsync and synchronous_commit as
 * the server is configured (printed). Writes `<out>/store-ops.{md,json}`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/store/ports';
import { dropPostgresSchema, postgresSettings, probePostgres } from '../../src/store/postgres/admin';
import { openPostgresStore } from '../../src/store/postgres/store';
import { SqliteStore } from '../../src/store/sqlite/store';
import { closeMachineInfo, machineInfo } from '../lib/machine';
import { median, pairedRatios, summarize } from '../lib/stats';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!, process.argv[i + 1] ?? '');
const ROUNDS = Math.max(5, Number(args.get('--rounds') ?? 5));
const OPS = Math.max(20, Number(args.get('--ops') ?? 200));
const OUT = args.get('--out') ?? 'bench/results';
const URL = process.env.MAAS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const sig = { inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }], outputs: [] };
const MONTH = '2026-12';
let serial = 0;

/** One operation of the platform, called `OPS` times per round. */
interface Op {
  name: string;
  /** Calls issued at once (1: one after another). */
  inFlight: number;
  call(store: Store): Promise<unknown>;
}

const ops: Op[] = [
  {
    name: 'keys.findByPrefix (auth, every request)',
    inFlight: 1,
    call: (s) => s.tenancy.keys.findByPrefix('Bench00001'),
  },
  {
    name: 'models.resolveAlias (serving)',
    inFlight: 1,
    call: (s) => s.models.resolveAlias('bench', 'm', 'latest'),
  },
  {
    name: 'usage.append (every served request)',
    inFlight: 1,
    call: (s) =>
      s.tenancy.usage.append([
        {
          tenantId: 'bench',
          keyId: 'key_bench',
          model: 'm',
          version: '1',
          units: 3,
          latencyMs: 1.5,
          status: 200,
          at: Date.now(),
        },
      ]),
  },
  {
    name: 'quotas.debit (a request with a monthly quota)',
    inFlight: 1,
    call: (s) => s.tenancy.quotas.debit('bench', 'key_bench', 1, MONTH, { tenant: 1e12, key: 1e12 }),
  },
  {
    name: 'quotas.debit, 8 in flight',
    inFlight: 8,
    call: (s) => s.tenancy.quotas.debit('bench', 'key_bench', 1, MONTH, { tenant: 1e12, key: 1e12 }),
  },
  {
    name: 'models.addVersion (an upload, one transaction)',
    inFlight: 1,
    call: (s) =>
      s.models.addVersion({
        owner: 'bench',
        model: 'm',
        digest: `sha256:${(++serial).toString(16).padStart(64, '0')}`,
        sizeBytes: 1234,
        signature: sig,
      }),
  },
];

async function seed(store: Store): Promise<void> {
  await store.tenancy.keys.insert({
    id: 'key_bench',
    tenantId: 'bench',
    name: 'bench',
    prefix: 'Bench00001',
    hash: 'a'.repeat(64),
    scopes: ['infer'],
    limits: {},
    createdAt: Date.now(),
    createdBy: 'bootstrap',
    revokedAt: null,
  });
  await store.models.addVersion(
    { owner: 'bench', model: 'm', digest: `sha256:${'0'.repeat(64)}`, sizeBytes: 1, signature: sig },
    { owner: 'bench', name: 'm' },
  );
}

/** µs per call: `OPS` calls, `inFlight` at a time. */
async function time(op: Op, store: Store): Promise<number> {
  const start = process.hrtime.bigint();
  for (let done = 0; done < OPS; done += op.inFlight) {
    await Promise.all(Array.from({ length: Math.min(op.inFlight, OPS - done) }, () => op.call(store)));
  }
  return Number(process.hrtime.bigint() - start) / 1000 / OPS;
}

async function main(): Promise<void> {
  const server = await probePostgres(URL, 3000, (m) => console.error(`PostgreSQL not reachable: ${m}`));
  if (!server) process.exit(1);
  const machine = machineInfo();
  const tmp = await mkdtemp(join(tmpdir(), 'maas-bench-store-'));
  const schema = `maas_bench_${process.pid}`;
  const sqlite = SqliteStore.open({ path: join(tmp, 'maas.db') });
  const postgres = await openPostgresStore(URL, { schema });
  const adapters: Record<'sqlite' | 'postgresql', Store> = { sqlite, postgresql: postgres };
  const settings = Object.entries(
    await postgresSettings(URL, ['fsync', 'synchronous_commit', 'shared_buffers']),
  )
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  try {
    await seed(sqlite);
    await seed(postgres);
    const samples = new Map<string, { sqlite: number[]; postgresql: number[] }>();
    for (let round = 0; round <= ROUNDS; round++) {
      const order =
        round % 2 === 0 ? (['sqlite', 'postgresql'] as const) : (['postgresql', 'sqlite'] as const);
      for (const op of ops) {
        for (const name of order) {
          const us = await time(op, adapters[name]);
          if (round === 0) continue; // warm-up
          const row = samples.get(op.name) ?? { sqlite: [], postgresql: [] };
          row[name].push(us);
          samples.set(op.name, row);
        }
      }
      console.error(`round ${round}/${ROUNDS}${round === 0 ? ' (warm-up)' : ''} done`);
    }
    const done = closeMachineInfo(machine);
    const rows = ops.map((op) => {
      const s = samples.get(op.name)!;
      return {
        op: op.name,
        sqlite: summarize(s.sqlite),
        postgresql: summarize(s.postgresql),
        ratios: pairedRatios(s.postgresql, s.sqlite),
      };
    });
    const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
    const md = [
      '# store-ops: store port calls, SQLite vs PostgreSQL (µs per call, lower is faster)',
      '',
      `\`node --import tsx bench/store/ops.ts --rounds ${ROUNDS} --ops ${OPS}\` — ${ROUNDS} interleaved rounds after a warm-up, ${OPS} calls per op per round; one process, both adapters.`,
      '',
      '| operation | SQLite µs/call median (min–max) | PostgreSQL µs/call median (min–max) | PostgreSQL ÷ SQLite, per-round median (min–max) |',
      '| --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.op} | ${f(r.sqlite.median)} (${f(r.sqlite.min)}–${f(r.sqlite.max)}) | ${f(r.postgresql.median)} (${f(r.postgresql.min)}–${f(r.postgresql.max)}) | ${median(r.ratios).toFixed(1)}× (${Math.min(...r.ratios).toFixed(1)}–${Math.max(...r.ratios).toFixed(1)}) |`,
      ),
      '',
      `SQLite: better-sqlite3 in-process, WAL, synchronous=NORMAL. PostgreSQL: ${server.split(',')[0]} on 127.0.0.1 (${settings}), pool of 10 connections.`,
      `Machine: ${done.cpu}, ${done.logicalCores} logical cores, ${done.node}; load average ${done.loadAverageStart.join(' ')} at start, ${done.loadAverageEnd?.join(' ')} at end (shared machine: compare ratios, not absolute figures).`,
      '',
    ].join('\n');
    await writeFile(join(OUT, 'store-ops.md'), md);
    await writeFile(
      join(OUT, 'store-ops.json'),
      `${JSON.stringify({ machine: done, postgres: { server, settings }, rounds: ROUNDS, ops: OPS, rows, samples: Object.fromEntries(samples) }, null, 2)}\n`,
    );
    console.log(md);
  } finally {
    await sqlite.close();
    await postgres.close();
    await dropPostgresSchema(URL, schema);
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
