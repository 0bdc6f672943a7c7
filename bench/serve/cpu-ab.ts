/**
 * CPU time per batch-1 `/v2` request of two server builds, measured side by side so that a
 * loaded machine moves both alike: two servers (bench/serve/cpu-server.ts, each in its own
 * process, from the checkouts A and B) get blocks of sequential keep-alive requests in turns
 * (A B B A …) from a client in this process, and each server's threads' CPU ticks are read from
 * /proc before and after its blocks. Prints CPU µs per request of each server's API (main)
 * thread and of its other threads (the model's worker thread, ORT's and V8's helpers), the
 * ratio B/A, and the load average before and after.
 *
 *   A="$BASELINE" B=. ROUNDS=8 BLOCK=300 node --import tsx bench/serve/cpu-ab.ts
 *
 * With A = B = this checkout and SETTING_A / SETTING_B (space-separated `NAME=value` lists) the
 * same build is compared under two environments instead. VERBOSE=1 prints each round's figures.
 * One run is good to about ±10 % at load 15–25 (the same build on both sides read B/A 0.88 and
 * 1.00): run each comparison twice with A and B swapped and take √(r₁ / r₂) (docs/benchmarks.md).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const here = join(import.meta.dirname, '../..');
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const BLOCK = Number(process.env.BLOCK ?? 300);
// V8 still tiers the path up for thousands of requests: 1,000 left rounds 0.8–2.6 ms apart, 4,000 0.67–1.05.
const WARMUP = Number(process.env.WARMUP ?? 4000);

interface Server {
  label: string;
  child: ChildProcess;
  port: number;
  key: string;
  agent: Agent;
  main: number;
  other: number;
  requests: number;
}

const envOf = (setting: string | undefined): Record<string, string> =>
  Object.fromEntries(
    (setting ?? '')
      .split(' ')
      .filter(Boolean)
      .map((kv) => kv.split('=', 2) as [string, string]),
  );

async function start(label: string, root: string, setting: string | undefined): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'bench/serve/cpu-server.ts')], {
    cwd: root,
    env: { ...process.env, ...envOf(setting), MAAS_ROOT: root },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  if (child.stdout === null) throw new Error('no stdout');
  // The server's first line: where it listens and the key to call it with.
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const { port, key } = JSON.parse(line) as { port: number; key: string };
  return {
    label,
    child,
    port,
    key,
    agent: new Agent({ keepAlive: true, maxSockets: 1 }),
    main: 0,
    other: 0,
    requests: 0,
  };
}

/** CPU ticks (user + system, 10 ms) of a process's main thread and of all its other threads. */
function ticks(pid: number): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const t = Number(f[11]) + Number(f[12]);
      if (tid === String(pid)) main += t;
      else other += t;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { main, other };
}

const x = Array.from({ length: 64 }, (_, i) => Math.sin(i));
const body = Buffer.from(
  JSON.stringify({ inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: x }] }),
);

function post(s: Server): Promise<void> {
  return new Promise((done, reject) => {
    const req = request(
      `http://127.0.0.1:${s.port}/v2/models/mlp/infer`,
      {
        method: 'POST',
        agent: s.agent,
        headers: {
          authorization: `Bearer ${s.key}`,
          'content-type': 'application/json',
          'content-length': body.length,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? done() : reject(new Error(`status ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function block(s: Server, n: number, count: boolean): Promise<void> {
  const pid = s.child.pid as number;
  const before = ticks(pid);
  for (let i = 0; i < n; i++) await post(s);
  if (!count) return;
  const after = ticks(pid);
  s.main += after.main - before.main;
  s.other += after.other - before.other;
  s.requests += n;
}

const perRequest = (ticks: number, n: number) => ((ticks * 10_000) / n).toFixed(0);
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main(): Promise<void> {
  const a = await start('A', resolve(process.env.A ?? here), process.env.SETTING_A);
  const b = await start('B', resolve(process.env.B ?? here), process.env.SETTING_B);
  const loadBefore = loadavg();
  try {
    for (const s of [a, b]) await block(s, WARMUP, false);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? [a, b, b, a] : [b, a, a, b];
      const before = [a.main, b.main];
      for (const s of order) await block(s, BLOCK, true);
      if (process.env.VERBOSE)
        process.stdout.write(
          `round ${r + 1}: A ${perRequest(a.main - before[0], 2 * BLOCK)}, B ${perRequest(b.main - before[1], 2 * BLOCK)} µs/request\n`,
        );
    }
    const line = (s: Server) =>
      `${s.label}: API thread ${perRequest(s.main, s.requests)} µs/request, other threads ${perRequest(s.other, s.requests)} µs/request (${s.requests} requests)`;
    process.stdout.write(
      `${line(a)}\n${line(b)}\nB/A API thread ${(b.main / b.requests / (a.main / a.requests)).toFixed(3)}, ` +
        `all server threads ${((b.main + b.other) / b.requests / ((a.main + a.other) / a.requests)).toFixed(3)}; ` +
        `load average ${loadBefore} before, ${loadavg()} after\n`,
    );
  } finally {
    for (const s of [a, b]) {
      s.agent.destroy();
      s.child.stdin?.end();
    }
  }
}

await main();
