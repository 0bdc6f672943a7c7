/**
 * Requests/s with 1 and with 2 API processes (`maas serve --role api`) on one PostgreSQL schema and
 * one Redis prefix: a tiny model (y = x·W + b, 4 → 3) on `/v2`, so the figure is the per-request
 * platform cost (auth, shared rate limit, registry, batching, HTTP) rather than model compute.
 * The key used has a rate limit (never reached), so every request pays the Redis decision.
 * Rounds alternate 1 and 2 processes, 32 keep-alive connections in all (autocannon), medians.
 * Writes bench/results/cluster-api-scale.{md,json}.
 *
 *   node --import tsx bench/cluster/api-scale.ts [--seconds 5] [--rounds 3] [--out bench/results]
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Redis } from 'ioredis';
import { dropPostgresSchema } from '../../src/store/postgres/admin';
import { CLUSTER_KEY, clusterSettings, startMember } from '../../test/cluster/helpers';
import { linearModel } from '../../test/helpers/onnx-fixtures';
import { POSTGRES_TEST_URL } from '../../test/helpers/postgres';
import { spawnServe } from '../../test/helpers/serve';
import { TEST_REDIS_URL } from '../../test/helpers/services';
import { tempDir } from '../../test/helpers/tmp';

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number };
  non2xx: number;
}
type Autocannon = (
  o: Record<string, unknown>,
  done: (e: Error | null, r: AutocannonResult) => void,
) => unknown;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const SECONDS = Number(arg('--seconds', '5'));
const ROUNDS = Number(arg('--rounds', '3'));
const out = arg('--out', 'bench/results');
const CONNECTIONS = 32;
const ADMIN = { authorization: `Bearer ${CLUSTER_KEY}` };
const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] });

function load(url: string, key: string, connections: number): Promise<AutocannonResult> {
  return new Promise((resolve, reject) =>
    autocannon(
      {
        url: `${url}/v2/models/lin/infer`,
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
        connections,
        duration: SECONDS,
      },
      (e, r) => (e ? reject(e) : resolve(r)),
    ),
  );
}

/** Total requests/s over `urls` at once (connections split evenly), and the worst p50 (ms). */
async function round(urls: string[], key: string): Promise<{ rps: number; p50: number; non2xx: number }> {
  const results = await Promise.all(urls.map((u) => load(u, key, CONNECTIONS / urls.length)));
  return {
    rps: results.reduce((s, r) => s + r.requests.total, 0) / SECONDS,
    p50: Math.max(...results.map((r) => r.latency.p50)),
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
  };
}

/** Upload the model and mint a key with a (never reached) rate limit; returns the key. */
async function prepare(url: string): Promise<string> {
  const up = await fetch(`${url}/api/v1/models/lin/versions`, {
    method: 'POST',
    headers: { ...ADMIN, 'content-type': 'application/octet-stream' },
    body: linearModel(4, 3).bytes,
  });
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${await up.text()}`);
  const minted = await fetch(`${url}/api/v1/keys`, {
    method: 'POST',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', scopes: ['infer'], limits: { requestsPerMinute: 100_000_000 } }),
  });
  return ((await minted.json()) as { key: string }).key;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const tmp = await tempDir('maas-bench-cluster-');
  const s = clusterSettings(tmp.dir);
  const apis = await Promise.all([startMember(s, 'api1', 'api'), startMember(s, 'api2', 'api')]);
  // The embedded default beside them: one process, SQLite, in-process limits.
  const embedded = await spawnServe({ dataDir: `${tmp.dir}/embedded`, adminKey: CLUSTER_KEY });
  try {
    const key = await prepare(apis[0].url);
    const embeddedKey = await prepare(embedded.url);
    const urls = apis.map((a) => a.url);
    await round(urls, key); // warm-up: sessions loaded, caches filled, JIT
    await round([embedded.url], embeddedKey);
    const loadStart = os.loadavg();
    const one = '1 API (PostgreSQL + Redis)';
    const two = '2 APIs (PostgreSQL + Redis)';
    const alone = '1 process, embedded (SQLite, in-process limits)';
    const rows: Record<string, { rps: number; p50: number; non2xx: number }[]> = {
      [one]: [],
      [two]: [],
      [alone]: [],
    };
    for (let r = 0; r < ROUNDS; r++) {
      rows[one].push(await round(urls.slice(0, 1), key));
      rows[two].push(await round(urls, key));
      rows[alone].push(await round([embedded.url], embeddedKey));
    }
    const loadEnd = os.loadavg();
    const lines = [
      '# Requests/s with 1 and 2 API processes (PostgreSQL + Redis), and the embedded default',
      '',
      `${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}; PostgreSQL, Redis, autocannon and the APIs share the machine;`,
      `load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at end.`,
      `/v2 infer of a 4 → 3 linear model, ${CONNECTIONS} keep-alive connections in all, ${SECONDS} s per round, ${ROUNDS} interleaved rounds.`,
      '',
      '| processes | requests/s (median) | min | max | p50 ms (median) | non-2xx |',
      '|---|---|---|---|---|---|',
      ...Object.entries(rows).map(([name, rs]) => {
        const rps = rs.map((r) => r.rps);
        return `| ${name} | ${Math.round(median(rps))} | ${Math.round(Math.min(...rps))} | ${Math.round(Math.max(...rps))} | ${median(rs.map((r) => r.p50))} | ${rs.reduce((x, r) => x + r.non2xx, 0)} |`;
      }),
    ];
    await mkdir(out, { recursive: true });
    await writeFile(`${out}/cluster-api-scale.md`, `${lines.join('\n')}\n`);
    await writeFile(
      `${out}/cluster-api-scale.json`,
      `${JSON.stringify({ rows, loadStart, loadEnd, at: new Date().toISOString() }, null, 2)}\n`,
    );
    console.log(lines.join('\n'));
  } finally {
    await Promise.all([...apis, embedded].map((a) => a.stop()));
    await dropPostgresSchema(POSTGRES_TEST_URL, s.schema);
    const redis = new Redis(TEST_REDIS_URL);
    const keys = await redis.keys(`${s.redisPrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await tmp.remove();
  }
}

await main();
