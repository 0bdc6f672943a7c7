/**
 * Per-request cost of the rate limit: the in-process sliding window against the shared one in
 * Redis (one Lua script per decision), as one request's key + tenant buckets are charged.
 * Interleaved rounds (in-process, Redis sequential, Redis 64 in flight), medians of 5, and the
 * load average, since the machine is shared. Writes bench/results/cluster-rate-limit.{md,json}.
 *
 *   node --import tsx bench/cluster/rate-limit.ts [--redis redis://127.0.0.1:6379] [--out bench/results]
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { Redis } from 'ioredis';
import { type RateLimitSpec, SlidingWindowRateLimiter, systemClock } from '../../src/platform/tenancy/index';
import { openSharedRedis } from '../../src/store/redis/index';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const url = arg('--redis', 'redis://127.0.0.1:6379');
const out = arg('--out', 'bench/results');
const ROUNDS = 5;
const CALLS = 2000;

// A generous limit (never refused): the cost measured is the decision, not a 429.
const specs = (i: number): RateLimitSpec[] => [
  {
    bucket: `key:k${i % 50}:requests`,
    policy: 'key-requests',
    dimension: 'requests',
    limit: 1e9,
    windowMs: 60_000,
    cost: 1,
  },
  {
    bucket: 'tenant:t:requests',
    policy: 'tenant-requests',
    dimension: 'requests',
    limit: 1e9,
    windowMs: 60_000,
    cost: 1,
  },
];

type Limiter = { consume(s: readonly RateLimitSpec[]): Promise<unknown> };

/** µs per decision, `inFlight` decisions outstanding at a time. */
async function timeIt(limiter: Limiter, inFlight: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < CALLS) await limiter.consume(specs(next++));
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return ((performance.now() - started) * 1000) / CALLS;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const prefix = `maas-bench-${randomBytes(4).toString('hex')}:`;
  const shared = openSharedRedis({ url, prefix }, systemClock);
  const local = new SlidingWindowRateLimiter(systemClock);
  const rows: Record<string, number[]> = {
    'in-process': [],
    'Redis, 1 in flight': [],
    'Redis, 64 in flight': [],
  };
  const loadStart = os.loadavg();
  await timeIt(shared.limiter, 1); // warm-up: connection, script load
  for (let r = 0; r < ROUNDS; r++) {
    rows['in-process'].push(await timeIt(local, 1));
    rows['Redis, 1 in flight'].push(await timeIt(shared.limiter, 1));
    rows['Redis, 64 in flight'].push(await timeIt(shared.limiter, 64));
  }
  const loadEnd = os.loadavg();
  const admin = new Redis(url);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length) await admin.del(...keys);
  await admin.quit();
  await shared.close();

  const fmt = (x: number) => x.toFixed(1);
  const lines = [
    '# Rate limit decision cost: in-process vs Redis',
    '',
    `${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}, Redis on the same machine;`,
    `load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadEnd.map((x) => x.toFixed(2)).join(' ')} at end.`,
    `${CALLS} decisions per round (key + tenant buckets), ${ROUNDS} interleaved rounds.`,
    '',
    '| limiter | µs per decision (median) | min | max | decisions/s |',
    '|---|---|---|---|---|',
    ...Object.entries(rows).map(
      ([name, xs]) =>
        `| ${name} | ${fmt(median(xs))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} | ${Math.round(1e6 / median(xs))} |`,
    ),
  ];
  await mkdir(out, { recursive: true });
  await writeFile(`${out}/cluster-rate-limit.md`, `${lines.join('\n')}\n`);
  await writeFile(
    `${out}/cluster-rate-limit.json`,
    `${JSON.stringify({ rows, calls: CALLS, loadStart, loadEnd, at: new Date().toISOString() }, null, 2)}\n`,
  );
  console.log(lines.join('\n'));
}

await main();
