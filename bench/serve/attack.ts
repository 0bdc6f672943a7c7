/**
 * Cross-tenant latency under attack: tenant B calls its small MLP over KServe v2 (one request at a
 * time, keep-alive) while the server is idle, then while tenant A (a manage key of its own tenant)
 * runs every attack of attack-loops.ts at once: slowloris, a gzip CSV bomb, a tar of gzipped IDX,
 * a bracket bomb, oversize bodies, an unauthenticated flood (from a child process, so the
 * attacker's own work never delays B's client). Reports B's p50/p99/max in both
 * phases, the slowest /readyz during the attack, the server's peak RSS and the load average.
 *
 *   node --import tsx bench/serve/attack.ts            # 20 s per phase
 *   SECONDS_PER_PHASE=60 node --import tsx bench/serve/attack.ts
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mlpModel } from '../../test/helpers/onnx-fixtures';
import { spawnServe } from '../../test/helpers/serve';
import type { AttackTally } from './attack-loops';
import { environment, KEY, percentile, ROOT, writeResults } from './harness';

const SECONDS = Number(process.env.SECONDS_PER_PHASE ?? 20);
/** ATTACKS=0,3 runs only those attacks (indices into attack-loops.ts's list), to find a culprit. */
const ONLY = process.env.ATTACKS?.split(',').map(Number);

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
async function startAttacker(url: string, key: string): Promise<{ stop(): Promise<AttackTally[]> }> {
  const args = ['--import', 'tsx', join(ROOT, 'bench/serve/attack-loops.ts'), url, key, 'a-mlp'];
  const child = spawn(process.execPath, ONLY ? [...args, ONLY.join(',')] : args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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

const peakRssMb = async (pid: number) =>
  Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maas-attack-'));
  const server = await spawnServe({ dataDir, adminKey: KEY, zoo: 'off', logLevel: 'error' });
  const load: number[] = [loadavg()[0]];
  try {
    const { url } = server;
    const [aKey, bKey] = [await tenantKey(url, 'tenant-a'), await tenantKey(url, 'tenant-b')];
    await upload(url, aKey, 'a-mlp', mlpModel());
    await upload(url, bKey, 'b-mlp', mlpModel());
    await tenantB(url, bKey, 3); // warm-up: the model loads, the JIT settles

    const idle = await tenantB(url, bKey, SECONDS);
    load.push(loadavg()[0]);

    const stop = new AbortController();
    const attacker = await startAttacker(url, aKey);
    const readyz = slowestReadyz(url, stop.signal);
    const attacked = await tenantB(url, bKey, SECONDS);
    stop.abort();
    const tallies = await attacker.stop();
    const slowest = await readyz;
    load.push(loadavg()[0]);
    const alive = (await fetch(`${url}/readyz`)).status === 200 && server.child.exitCode === null;
    const rss = await peakRssMb(server.child.pid ?? 0);

    const row = (name: string, p: Phase) =>
      `| ${name} | ${p.requests} | ${p.failures} | ${p.p50.toFixed(1)} | ${p.p99.toFixed(1)} | ${p.max.toFixed(1)} |`;
    const md = [
      `# Tenant B's latency while tenant A attacks (${SECONDS} s per phase)`,
      '',
      `Load average (1 min) before / after idle / after attack: ${load.map((l) => l.toFixed(2)).join(' / ')}`,
      '',
      '| tenant B | requests | failed | p50 ms | p99 ms | max ms |',
      '|---|---|---|---|---|---|',
      row('idle', idle),
      row('under attack', attacked),
      '',
      `Slowest /readyz during the attack: ${slowest.toFixed(0)} ms; server peak RSS ${rss.toFixed(0)} MB; still serving after: ${alive}`,
      '',
      '| tenant A attack | attempts | answers |',
      '|---|---|---|',
      ...tallies.map((t) => `| ${t.name} | ${t.attempts} | ${JSON.stringify(t.statuses)} |`),
      '',
    ].join('\n');
    await writeResults('serve-attack', md, {
      env: environment(),
      load,
      idle,
      attacked,
      slowest,
      rss,
      alive,
      tallies,
    });
  } finally {
    await server.stop('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
