/**
 * Cross-tenant latency under attack: tenant B calls its small MLP over KServe v2 (one request at a
 * time, keep-alive) while the server is idle, then while tenant A (a manage key of its own tenant)
 * runs every attack of attack-loops.ts at once: slowloris, a gzip CSV bomb, a tar of gzipped IDX,
 * a bracket bomb, oversize bodies, an unauthenticated flood (from a child process, so the
 * attacker's own work never delays B's client). Reports B's p50/p99/max in both
 * phases, the slowest /readyz during the attack, the server's memory and the load average.
 *
 * Memory is read from outside the server: /proc/PID/status (VmRSS sampled every 250 ms, VmHWM the
 * kernel's peak) and the server's own `maas_process_memory_bytes` gauge on /metrics (heap_used,
 * external, array_buffers), scraped every second with the admin key.
 *
 *   node --import tsx bench/serve/attack.ts                  # all attacks, 20 s per phase
 *   SECONDS_PER_PHASE=60 node --import tsx bench/serve/attack.ts
 *   node --import tsx bench/serve/attack.ts --only 2         # one attack (index or name part)
 *   node --import tsx bench/serve/attack.ts --only tar --rounds 5   # growth or retention?
 *   node --import tsx bench/serve/attack.ts --each           # every attack alone, a fresh server each
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mlpModel } from '../../test/helpers/onnx-fixtures';
import { spawnServe } from '../../test/helpers/serve';
import { ATTACK_NAMES, type AttackTally, selectAttacks } from './attack-loops';
import { environment, KEY, percentile, ROOT, writeResults } from './harness';

const SECONDS = Number(process.env.SECONDS_PER_PHASE ?? 20);
const { values: flags } = parseArgs({
  options: {
    /** Attacks to run: indices into attack-loops.ts's list or parts of their names, comma-separated. */
    only: { type: 'string', default: process.env.ATTACKS },
    /** Attack phases in a row (RSS read after each): growth keeps rising, retention plateaus. */
    rounds: { type: 'string', default: '1' },
    /** Each attack alone on a fresh server, one after another (a table row each). */
    each: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(flags.rounds);

async function api(
  url: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, string>> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

async function tenantKey(url: string, tenant: string): Promise<string> {
  await api(url, KEY, 'POST', '/api/v1/tenants', { name: tenant });
  const minted = await api(url, KEY, 'POST', '/api/v1/keys', {
    tenant,
    name: `${tenant}-ops`,
    scopes: ['manage'],
  });
  return minted.key;
}

async function upload(url: string, key: string, name: string, bytes: Uint8Array): Promise<void> {
  const res = await fetch(`${url}/api/v1/models/${name}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
}

function post(agent: Agent, url: string, key: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface Phase {
  requests: number;
  failures: number;
  p50: number;
  p99: number;
  max: number;
}

/** Tenant B's traffic for `seconds`: sequential infers; latencies in ms. */
async function tenantB(url: string, key: string, seconds: number): Promise<Phase> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const x = Array.from({ length: 64 }, (_, i) => Math.sin(i));
  const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: x }] });
  const times: number[] = [];
  let failures = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    const status = await post(agent, `${url}/v2/models/b-mlp/infer`, key, body).catch(() => 0);
    times.push(performance.now() - t);
    if (status !== 200) failures++;
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return {
    requests: times.length,
    failures,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    max: times[times.length - 1],
  };
}

/** Slowest /readyz (ms) polled every 200 ms until `stop`. */
async function slowestReadyz(url: string, stop: AbortSignal): Promise<number> {
  let slowest = 0;
  while (!stop.aborted) {
    const t = performance.now();
    await fetch(`${url}/readyz`).then((r) => r.arrayBuffer());
    slowest = Math.max(slowest, performance.now() - t);
    await new Promise((r) => setTimeout(r, 200));
  }
  return slowest;
}

/** Tenant A's attacks in a child process (attack-loops.ts), so its work never delays B's client. */
async function startAttacker(
  url: string,
  key: string,
  only: number[],
): Promise<{ stop(): Promise<AttackTally[]> }> {
  const args = [
    '--import',
    'tsx',
    join(ROOT, 'bench/serve/attack-loops.ts'),
    url,
    key,
    'a-mlp',
    only.join(','),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('ready\n') && resolve());
    child.once('exit', (code) => reject(new Error(`attacker exited (${code})`)));
  });
  return {
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(out.slice(out.indexOf('ready\n') + 6)) as AttackTally[];
    },
  };
}

/** The server's memory in MB: the kernel's view (VmRSS now, VmHWM peak) and V8's (its gauge). */
interface Memory {
  rss: number;
  hwm: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

const MB = 1024 * 1024;

async function procStatus(pid: number): Promise<{ rss: number; hwm: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** `maas_process_memory_bytes{kind}` from /metrics (the admin key may read it), in MB. */
async function v8Memory(url: string): Promise<Pick<Memory, 'heapUsed' | 'external' | 'arrayBuffers'>> {
  const text = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } }).then((r) =>
    r.text(),
  );
  const gauge = (kind: string) =>
    Number(new RegExp(`maas_process_memory_bytes\\{kind="${kind}"\\} (\\S+)`).exec(text)?.[1] ?? 0) / MB;
  return { heapUsed: gauge('heap_used'), external: gauge('external'), arrayBuffers: gauge('array_buffers') };
}

async function memoryNow(url: string, pid: number): Promise<Memory> {
  return { ...(await procStatus(pid)), ...(await v8Memory(url)) };
}

/** The largest of each figure seen until `stop`: /proc every 250 ms, /metrics every second. */
async function sampleMemory(url: string, pid: number, stop: AbortSignal): Promise<Memory> {
  const max: Memory = { rss: 0, hwm: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  for (let tick = 0; !stop.aborted; tick++) {
    const m = tick % 4 === 0 ? await memoryNow(url, pid) : { ...max, ...(await procStatus(pid)) };
    for (const k of Object.keys(max) as (keyof Memory)[]) max[k] = Math.max(max[k], m[k]);
    await new Promise((r) => setTimeout(r, 250));
  }
  return max;
}

interface Round {
  attacked: Phase;
  slowest: number;
  tallies: AttackTally[];
  /** Peak of each figure during the round. */
  peak: Memory;
  /** Right after the round's attacks stopped. */
  after: Memory;
  load: number;
}

/** One attack phase: B's traffic, /readyz and memory watched while the chosen attacks run. */
async function attackRound(
  url: string,
  pid: number,
  aKey: string,
  bKey: string,
  only: number[],
): Promise<Round> {
  const stop = new AbortController();
  const attacker = await startAttacker(url, aKey, only);
  const readyz = slowestReadyz(url, stop.signal);
  const memory = sampleMemory(url, pid, stop.signal);
  const attacked = await tenantB(url, bKey, SECONDS);
  stop.abort();
  const tallies = await attacker.stop();
  const [slowest, peak] = [await readyz, await memory];
  return { attacked, slowest, tallies, peak, after: await memoryNow(url, pid), load: loadavg()[0] };
}

interface Run {
  only: number[];
  load: number[];
  idle: Phase;
  /** After the warm-up and the idle phase, before any attack. */
  baseline: Memory;
  rounds: Round[];
  alive: boolean;
}

/** A fresh server: two tenants with a model each, B idle then B beside A's attacks, `ROUNDS` times. */
async function runOnce(only: number[]): Promise<Run> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maas-attack-'));
  const server = await spawnServe({ dataDir, adminKey: KEY, zoo: 'off', logLevel: 'error' });
  const load: number[] = [loadavg()[0]];
  try {
    const { url } = server;
    const pid = server.child.pid ?? 0;
    const [aKey, bKey] = [await tenantKey(url, 'tenant-a'), await tenantKey(url, 'tenant-b')];
    await upload(url, aKey, 'a-mlp', mlpModel());
    await upload(url, bKey, 'b-mlp', mlpModel());
    await tenantB(url, bKey, 3); // warm-up: the model loads, the JIT settles

    const idle = await tenantB(url, bKey, SECONDS);
    load.push(loadavg()[0]);
    const baseline = await memoryNow(url, pid);
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await attackRound(url, pid, aKey, bKey, only));
    load.push(loadavg()[0]);
    const alive = (await fetch(`${url}/readyz`)).status === 200 && server.child.exitCode === null;
    return { only, load, idle, baseline, rounds, alive };
  } finally {
    await server.stop('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  }
}

const f0 = (n: number) => n.toFixed(0);
const row = (name: string, p: Phase) =>
  `| ${name} | ${p.requests} | ${p.failures} | ${p.p50.toFixed(1)} | ${p.p99.toFixed(1)} | ${p.max.toFixed(1)} |`;
const memRow = (name: string, m: Memory) =>
  `| ${name} | ${f0(m.rss)} | ${f0(m.hwm)} | ${f0(m.heapUsed)} | ${f0(m.external)} | ${f0(m.arrayBuffers)} |`;
const names = (only: number[]) => only.map((i) => ATTACK_NAMES[i]).join(' + ');

/** One run in full: B's latency, memory per round, what each attack got. */
function runReport(run: Run): string[] {
  const last = run.rounds[run.rounds.length - 1];
  return [
    `Attacks: ${run.only.length === ATTACK_NAMES.length ? 'all at once' : names(run.only)}`,
    '',
    `Load average (1 min) before / after idle / after the attack: ${run.load.map((l) => l.toFixed(2)).join(' / ')}`,
    '',
    '| tenant B | requests | failed | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|',
    row('idle', run.idle),
    ...run.rounds.map((r, i) =>
      row(`under attack${run.rounds.length > 1 ? `, round ${i + 1}` : ''}`, r.attacked),
    ),
    '',
    `Slowest /readyz during the attack: ${f0(Math.max(...run.rounds.map((r) => r.slowest)))} ms; still serving after: ${run.alive}`,
    '',
    '| server memory MB | RSS | peak RSS (VmHWM) | V8 heap used | external | array buffers |',
    '|---|---|---|---|---|---|',
    memRow('before the attack', run.baseline),
    ...run.rounds.flatMap((r, i) => {
      const n = run.rounds.length > 1 ? ` ${i + 1}` : '';
      return [memRow(`highest during round${n}`, r.peak), memRow(`after round${n}`, r.after)];
    }),
    '',
    '| tenant A attack | attempts | answers |',
    '|---|---|---|',
    ...last.tallies.map((t) => `| ${t.name} | ${t.attempts} | ${JSON.stringify(t.statuses)} |`),
  ];
}

/** `--each`: one line per attack, each on its own server. */
function eachReport(runs: Run[]): string[] {
  return [
    '| attack | answers | B idle p50 / p99 ms | B attacked p50 / p99 ms | slowest /readyz ms | RSS before MB | peak RSS MB | RSS after MB | peak heap / external / array buffers MB | load before / after idle / after |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map((run) => {
      const r = run.rounds[run.rounds.length - 1];
      const hwm = Math.max(...run.rounds.map((x) => x.peak.hwm));
      return `| ${names(run.only)} | ${r.tallies.map((t) => JSON.stringify(t.statuses)).join(' ')} | ${run.idle.p50.toFixed(1)} / ${run.idle.p99.toFixed(1)} | ${r.attacked.p50.toFixed(1)} / ${r.attacked.p99.toFixed(1)} | ${f0(r.slowest)} | ${f0(run.baseline.rss)} | ${f0(hwm)} | ${f0(r.after.rss)} | ${f0(r.peak.heapUsed)} / ${f0(r.peak.external)} / ${f0(r.peak.arrayBuffers)} | ${run.load.map((l) => l.toFixed(2)).join(' / ')} |`;
    }),
  ];
}

async function main(): Promise<void> {
  const only = selectAttacks(flags.only);
  const title = `# Tenant B's latency while tenant A attacks (${SECONDS} s per phase${ROUNDS > 1 ? `, ${ROUNDS} attack rounds` : ''})`;
  if (flags.each) {
    const runs: Run[] = [];
    for (const i of only) runs.push(await runOnce([i]));
    const md = [title.replace('attacks', 'attacks, each attack alone'), '', ...eachReport(runs), ''].join(
      '\n',
    );
    await writeResults('serve-attack-each', md, {
      env: environment(),
      seconds: SECONDS,
      rounds: ROUNDS,
      runs,
    });
    return;
  }
  const run = await runOnce(only);
  const name = only.length === ATTACK_NAMES.length ? 'serve-attack' : `serve-attack-${only.join('-')}`;
  await writeResults(name, [title, '', ...runReport(run), ''].join('\n'), {
    env: environment(),
    seconds: SECONDS,
    roundsAsked: ROUNDS,
    ...run,
  });
}

await main();
