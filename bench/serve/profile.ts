/**
 * Where a batch-1 `/v2` request's time goes in the server. Runs the server in this process (so
 * `node --cpu-prof` sees it) with a tenant key minted through the key service (the store-backed
 * path a real client takes, not the admin key), uploads the small MLP of latency.ts, and drives
 * N sequential keep-alive requests from a worker thread (its own event loop and profile).
 * Prints requests/s and the mean in-server time, then, with `--cpu-prof`, the profile of this
 * (main) thread can be summarised by `node bench/serve/profile-summary.mjs <file> 30 <window>`,
 * the window printed here (the timed requests only, not the start-up).
 *
 *   N=3000 BODY=json|binary node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/serve/profile.ts
 *   MODEL=cnn BATCH=32|1 N=6000 node --import tsx bench/serve/profile.ts
 *
 * It also prints each thread's CPU time per request over the timed window (from /proc: the API
 * thread, the client, and the others by id: the model's worker thread, ORT's intra-op thread, V8's
 * compiler and GC helpers), the figure a loaded machine does not move much. To see what each
 * thread runs, on CPU only: `perf record -k CLOCK_MONOTONIC -e cpu-clock -F 1999 -- node
 * --perf-basic-prof --import tsx bench/serve/profile.ts`, then `perf script --time FROM,TO` with
 * the window in seconds (docs/benchmarks.md).
 *
 * ALLOC=1 samples what the API thread allocates over the timed window (V8's sampling heap
 * profiler, objects a GC has collected since counted too) and prints the top allocating functions
 * in bytes per request: what young-generation GC pauses are made of (that run's CPU figures
 * then include the profiler's own work).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildServer } from '../../src/api/server';
import { loadConfig } from '../../src/platform/config';
import { openPlatform } from '../../src/platform/platform';
import { cnnModel, mlpModel } from '../../test/helpers/onnx-fixtures';
import { KEY, v2Request } from './harness';

const N = Number(process.env.N ?? 3000);
/** Thread ids of the client workers (their CPU is not the server's). */
const clientThreads = new Set<string>();
const BODY = process.env.BODY ?? 'json';
/** MODEL=cnn: the batching benchmark's CNN (max_batch_size 32) driven by CONC concurrent clients. */
const MODEL = process.env.MODEL === 'cnn' ? 'cnn' : 'mlp';
const CONC = Number(process.env.CONC ?? (MODEL === 'cnn' ? 64 : 1));
/** The CNN's max_batch_size (BATCH=1: the batching benchmark's unbatched row). */
const BATCH = Number(process.env.BATCH ?? 32);
const ALLOC = process.env.ALLOC === '1';

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

/** Start V8's sampling heap profiler on this thread, counting collected objects too. */
async function startAllocationSampling(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return session;
}

/** Stop sampling; the top allocating functions (self bytes, summed by function and file) per request. */
async function allocationReport(session: Session, requests: number): Promise<string> {
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
    profile: { head: SamplingNode };
  };
  session.disconnect();
  const bytes = new Map<string, number>();
  const walk = (node: SamplingNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}`;
    bytes.set(where, (bytes.get(where) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  const total = [...bytes.values()].reduce((a, b) => a + b, 0);
  const top = [...bytes.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.ALLOC_TOP ?? 25));
  return [
    `API thread allocations: ${(total / requests / 1024).toFixed(1)} KB per request (sampled)`,
    ...top.map(([where, n]) => `  ${(n / requests / 1024).toFixed(2).padStart(7)} KB  ${where}`),
  ].join('\n');
}

/** The client: N sequential requests over one keep-alive socket; posts its per-request ms. */
const clientSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { Agent, request } = require('node:http');
const { url, key, body, headers, n, conc } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: conc });
const payload = Buffer.from(body, 'base64');
// This thread's id, so the parent can tell the client's CPU from the server's.
parentPort.postMessage({ tid: require('node:fs').readlinkSync('/proc/thread-self').split('/').pop() });
function post() {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { authorization: 'Bearer ' + key, 'content-length': payload.length, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(payload);
  });
}
async function loop(count, times) {
  for (let i = 0; i < count; i++) {
    const s = performance.now();
    const status = await post();
    times.push(performance.now() - s);
    if (status !== 200) throw new Error('status ' + status);
  }
}
(async () => {
  const times = [];
  await Promise.all(Array.from({ length: conc }, () => loop(Math.ceil(n / conc), times)));
  parentPort.postMessage({ times });
})();
`;

/** The request: the model's input as JSON, or (BODY=binary) as a KServe v2 binary tensor. */
function requestBody(): { body: Buffer; headers: Record<string, string> } {
  return MODEL === 'cnn'
    ? v2Request(
        [1, 1, 28, 28],
        Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255),
        BODY === 'binary',
      )
    : v2Request(
        [1, 64],
        Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
        BODY === 'binary',
      );
}

/** CPU clock ticks (user + system) of each of this process's threads, by thread id, with its name. */
function threadTicks(): Map<string, { name: string; ticks: number }> {
  const out = new Map<string, { name: string; ticks: number }>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
      const label =
        tid === String(process.pid) ? 'main (API)' : clientThreads.has(tid) ? 'client' : `${name}:${tid}`;
      out.set(tid, { name: label, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** Per-thread CPU ms per request over the window, threads of one name summed, busiest first. */
function threadCpu(
  before: Map<string, { name: string; ticks: number }>,
  after: Map<string, { name: string; ticks: number }>,
  n: number,
): string {
  const byName = new Map<string, number>();
  for (const [tid, t] of after) {
    const spent = t.ticks - (before.get(tid)?.ticks ?? 0);
    byName.set(t.name, (byName.get(t.name) ?? 0) + spent);
  }
  return [...byName]
    .filter(([, ticks]) => ticks > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ticks]) => `${name} ${((ticks * 10) / n).toFixed(3)}`)
    .join(', ');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'maas-profile-'));
  const config = loadConfig({}, {}, { dataDir: dir, adminKey: KEY, logLevel: 'silent', port: 0, zoo: 'off' });
  const platform = await openPlatform(config);
  const { app } = buildServer(platform);
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    const base = `http://127.0.0.1:${addr.port}`;
    const query = MODEL === 'cnn' ? `?max_batch_size=${BATCH}` : '';
    const up = await fetch(`${base}/api/v1/models/${MODEL}/versions${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/octet-stream' },
      body: MODEL === 'cnn' ? cnnModel(2048) : mlpModel(),
    });
    if (up.status !== 201) throw new Error(`upload: ${up.status}`);
    const admin = await platform.keys.resolve(KEY);
    if (admin === null) throw new Error('admin key');
    const minted = await platform.tenancy.keys.mint(admin, { name: 'bench', scopes: ['infer'], limits: {} });
    const { body, headers } = requestBody();
    const run = (n: number) =>
      new Promise<number[]>((resolve, reject) => {
        const w = new Worker(clientSource, {
          eval: true,
          workerData: {
            url: `${base}/v2/models/${MODEL}/infer`,
            conc: CONC,
            key: minted.key,
            body: body.toString('base64'),
            headers,
            n,
          },
        });
        w.on('message', (m: { tid?: string; times?: number[] }) => {
          if (m.tid) clientThreads.add(m.tid);
          if (m.times) resolve(m.times);
        });
        w.once('error', reject);
      });
    await run(Math.max(200, CONC * 10));
    const threadsBefore = threadTicks();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const fromUs = process.hrtime.bigint() / 1000n;
    const sampling = ALLOC ? await startAllocationSampling() : null;
    const times = (await run(N)).sort((a, b) => a - b);
    const allocations = sampling ? await allocationReport(sampling, N) : '';
    const toUs = process.hrtime.bigint() / 1000n;
    const seconds = (performance.now() - started) / 1000;
    const p = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(3);
    const cpu = process.cpuUsage(cpuBefore);
    const threads = threadCpu(threadsBefore, threadTicks(), N);
    process.stdout.write(
      `${BODY}: ${N} requests, ${(N / seconds).toFixed(0)}/s, client p50 ${p(0.5)} ms, p99 ${p(0.99)} ms\n` +
        `timed window (for profile-summary.mjs): ${fromUs},${toUs}; process CPU (all threads, client included) ${((cpu.user + cpu.system) / 1000 / N).toFixed(3)} ms per request\n` +
        `CPU ms per request by thread (/proc, 10 ms ticks): ${threads}\n`,
    );
    if (allocations) process.stdout.write(`${allocations}\n`);
  } finally {
    await app.close();
    await platform.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
