/**
 * Fair scheduling between tenants on one model: tenant A keeps 64 requests in flight (a worker
 * thread with its own event loop, every answer followed by a new request), tenant B sends one
 * request at a time. B's p99 latency with A flooding ÷ B's p99 on the idle server (target ≤ 2×),
 * and A's throughput while B runs beside it (its share of what was served, and against A alone),
 * once per mode, each on its own `maas serve` child process: `fair` with `--express-lane on` (B's
 * requests take the model's express lane, A's runs stay full), `fair-no-lane` (`--express-lane
 * off`: every run shrinks to one row while both are active, `auto` on a 2-core machine) and
 * `fifo` (the comparison).
 *
 *   node --import tsx bench/serve/fairness.ts [--requests 300] [--inflight 64] [--batch 16] [--steps 8]
 *     [--seconds 20] [--reps 3]
 *
 * The model: x [batch, 16, 256] through `--steps` (default 8) MatMuls, a few ms per run, batched
 * up to `--batch` rows (the server's dynamic batching); both tenants call the admin's public copy.
 */
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { slowModel } from '../../test/helpers/onnx-fixtures';
import { environment, KEY, median, percentile, startServer, uploadModel, writeResults } from './harness';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    inflight: { type: 'string', default: '64' },
    batch: { type: 'string', default: '16' },
    steps: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '20' },
    reps: { type: 'string', default: '3' },
    /** Tenant A's `limits.concurrency` (its most rows in one run); absent: no cap. */
    cap: { type: 'string' },
  },
});
const REQUESTS = Number(args.requests);
const INFLIGHT = Number(args.inflight);
const BATCH = Number(args.batch);
const STEPS = Number(args.steps);
/** B's loaded phase stops after this long (FIFO makes each of its requests wait behind A's 64). */
const SECONDS = Number(args.seconds);
const REPS = Number(args.reps);
const CAP = args.cap === undefined ? undefined : Number(args.cap);
/** How long the warm-up keeps both tenants busy before measuring (ms). */
const WARM_CONTENDED_MS = 8000;

/** x [batch, 16, 256] through `steps` MatMuls with the identity: a few ms per run. */
function busyModel(steps: number): Uint8Array {
  return slowModel(steps, 16);
}

const BODY = JSON.stringify({
  inputs: [{ name: 'x', shape: [1, 16, 256], datatype: 'FP32', data: new Array(16 * 256).fill(0.5) }],
});

function post(agent: Agent, url: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(BODY),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

/** Tenant A's load, in a worker thread: `inflight` loops, each sending again once answered. */
const FLOOD = `
const { parentPort, workerData } = require('node:worker_threads');
const { Agent, request } = require('node:http');
const { url, key, body, inflight } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: inflight });
const counts = { ok: 0, refused: 0, other: 0 };
let stop = false;
parentPort.on('message', () => { stop = true; });
const post = () => new Promise((resolve) => {
  const req = request(url, { method: 'POST', agent, headers: {
    authorization: 'Bearer ' + key, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
    (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
  req.on('error', () => resolve(0));
  req.end(body);
});
const loop = async () => {
  while (!stop) {
    const s = await post();
    if (s === 200) counts.ok++; else if (s === 429) { counts.refused++; await new Promise((r) => setTimeout(r, 5)); } else counts.other++;
  }
};
Promise.all(Array.from({ length: inflight }, loop)).then(() => { parentPort.postMessage(counts); agent.destroy(); });
`;

interface Flood {
  stop(): Promise<{ ok: number; refused: number; other: number; seconds: number }>;
}

function flood(url: string, key: string): Flood {
  const started = performance.now();
  const worker = new Worker(FLOOD, { eval: true, workerData: { url, key, body: BODY, inflight: INFLIGHT } });
  return {
    stop: () =>
      new Promise((resolve) => {
        worker.once('message', (counts) => {
          void worker.terminate();
          resolve({ ...counts, seconds: (performance.now() - started) / 1000 });
        });
        worker.postMessage('stop');
      }),
  };
}

/** B's latencies (ms, sorted) over `n` sequential requests, or as many as fit in SECONDS. */
async function lightLatencies(agent: Agent, url: string, key: string, n: number): Promise<number[]> {
  const t: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  for (let i = 0; i < n && (i < 10 || performance.now() < until); i++) {
    const s = performance.now();
    const status = await post(agent, url, key);
    t.push(performance.now() - s);
    if (status !== 200) throw new Error(`tenant B got ${status}`);
  }
  return t.sort((a, b) => a - b);
}

async function admin(url: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method: path.includes('/models/') ? 'PATCH' : 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

/** The modes compared, each on its own server; `flags` for `maas serve`. */
interface Mode {
  name: 'fair' | 'fair-no-lane' | 'fifo';
  flags: string[];
}

const MODES: Mode[] = [
  { name: 'fair', flags: ['--scheduling', 'fair', '--express-lane', 'on'] },
  { name: 'fair-no-lane', flags: ['--scheduling', 'fair', '--express-lane', 'off'] },
  { name: 'fifo', flags: ['--scheduling', 'fifo'] },
];

interface Served {
  scheduling: Mode['name'];
  url: string;
  keys: Record<string, string>;
  stop(): Promise<void>;
}

/** A `maas serve` child in one mode, with the model (public) and the two tenants' keys. */
async function serve({ name: scheduling, flags }: Mode): Promise<Served> {
  const server = await startServer(flags);
  await uploadModel(server.url, 'shared', busyModel(STEPS), `?max_batch_size=${BATCH}`);
  await admin(server.url, '/api/v1/models/shared', { public: true });
  const keys: Record<string, string> = {};
  for (const name of ['tenant-a', 'tenant-b']) {
    const limits = name === 'tenant-a' && CAP !== undefined ? { concurrency: CAP } : {};
    await admin(server.url, '/api/v1/tenants', { name, limits });
    keys[name] = (await admin(server.url, '/api/v1/keys', { tenant: name, name, scopes: ['infer'] }))
      .key as string;
  }
  const url = `${server.url}/v2/models/default~shared/infer`;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  await lightLatencies(agent, url, keys['tenant-b'], 20); // warm-up: load the model
  // Warm-up under contention: the runner learns its run costs (A alone), then both tenants at
  // once make a fair runner load its express lane (a second session: seconds on a loaded machine).
  const warm = flood(url, keys['tenant-a']);
  await new Promise((r) => setTimeout(r, 1500));
  const until = performance.now() + WARM_CONTENDED_MS;
  while (performance.now() < until) await lightLatencies(agent, url, keys['tenant-b'], 10);
  await warm.stop();
  agent.destroy();
  return { scheduling, url, keys, stop: () => server.stop() };
}

/** One repetition on one server: B idle, A alone, then B beside A's flood. */
async function measure({ scheduling, url, keys }: Served) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const load = [loadavg()[0]];
  const idle = await lightLatencies(agent, url, keys['tenant-b'], REQUESTS);
  const alone = flood(url, keys['tenant-a']);
  await new Promise((r) => setTimeout(r, 3000));
  const aAlone = await alone.stop();
  const a = flood(url, keys['tenant-a']);
  await new Promise((r) => setTimeout(r, 500)); // A's requests are in flight
  const bStarted = performance.now();
  const loaded = await lightLatencies(agent, url, keys['tenant-b'], REQUESTS);
  const bSeconds = (performance.now() - bStarted) / 1000;
  const aLoaded = await a.stop();
  load.push(loadavg()[0]);
  agent.destroy();
  const aRps = aLoaded.ok / aLoaded.seconds;
  const bRps = loaded.length / bSeconds;
  return {
    scheduling,
    load,
    b: {
      idle: { p50: percentile(idle, 50), p99: percentile(idle, 99) },
      loaded: { p50: percentile(loaded, 50), p99: percentile(loaded, 99) },
      p99Ratio: percentile(loaded, 99) / percentile(idle, 99),
      samples: { idle: idle.length, loaded: loaded.length },
      perSecondLoaded: bRps,
    },
    a: {
      aloneRps: aAlone.ok / aAlone.seconds,
      loadedRps: aRps,
      refused: aLoaded.refused,
      shareOfServed: aRps / (aRps + bRps),
    },
  };
}

type Rep = Awaited<ReturnType<typeof measure>>;

const servers: Served[] = [];
for (const mode of MODES) servers.push(await serve(mode));
const reps: Rep[] = [];
try {
  // Interleaved fair, fair-no-lane, fifo, fair …: every mode sees the same drift in the load.
  for (let r = 0; r < REPS; r++) for (const server of servers) reps.push(await measure(server));
} finally {
  for (const server of servers) await server.stop();
}

const f = (v: number, d = 1) => v.toFixed(d);
const rows = reps.map(
  (r, i) =>
    `| ${r.scheduling} | ${Math.floor(i / MODES.length) + 1} | ${r.b.samples.idle} / ${r.b.samples.loaded} | ${f(r.b.idle.p50)} | ${f(r.b.idle.p99)} | ${f(r.b.loaded.p50)} | ${f(r.b.loaded.p99)} | **${f(r.b.p99Ratio, 2)}×** | ${f(r.a.aloneRps)} | ${f(r.a.loadedRps)} | ${f(r.a.loadedRps / r.a.aloneRps, 2)} | ${f(100 * r.a.shareOfServed)} % | ${r.a.refused} | ${r.load.map((l) => l.toFixed(1)).join(' → ')} |`,
);
const of = (mode: string, pick: (r: Rep) => number) =>
  median(reps.filter((r) => r.scheduling === mode).map(pick));
/** Per mode: B's p99 loaded ÷ idle, A beside B ÷ A alone, A's share of what was served (medians). */
const summary = Object.fromEntries(
  MODES.map(({ name }) => [
    name,
    {
      bP99Ratio: of(name, (r) => r.b.p99Ratio),
      aBesideOverAlone: of(name, (r) => r.a.loadedRps / r.a.aloneRps),
      aShare: of(name, (r) => r.a.shareOfServed),
    },
  ]),
);
const line = (name: string) => {
  const m = summary[name];
  return `${name} ${f(m.bP99Ratio, 2)}× / ${f(m.aBesideOverAlone, 2)} / ${f(100 * m.aShare)} %`;
};
const md = `# Fair scheduling: a light tenant beside a flooding one

Command: \`node --import tsx bench/serve/fairness.ts --requests ${REQUESTS} --inflight ${INFLIGHT} --batch ${BATCH} --steps ${STEPS} --seconds ${SECONDS} --reps ${REPS}${CAP === undefined ? '' : ` --cap ${CAP}`}\`
(model x [batch, 16, 256] × ${STEPS} MatMuls, \`max_batch_size\` ${BATCH}; tenant A keeps ${INFLIGHT} requests in flight from a worker thread${CAP === undefined ? '' : ` with \`limits.concurrency\` ${CAP}`}, tenant B sends ${REQUESTS} one at a time (at most ${SECONDS} s of them with A flooding); one \`maas serve\` child per mode (\`fair\` with \`--express-lane on\`; \`fair-no-lane\`: \`--express-lane off\`, runs shrink while both are active; \`fifo\`), each warmed up with both tenants for ${WARM_CONTENDED_MS / 1000} s, repetitions interleaved; ${environment().cpus} CPUs shared with other jobs: load average 1-min before → after each repetition in the last column).

| mode | rep | B requests idle / loaded | B p50 idle ms | B p99 idle ms | B p50 with A flooding ms | B p99 with A flooding ms | B p99 loaded ÷ idle | A alone req/s | A beside B req/s | A beside ÷ alone | A's share of served | A's 429s | load |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Medians, B p99 loaded ÷ idle / A beside B ÷ A alone / A's share of what was served: **${line('fair')}**; ${line('fair-no-lane')}; ${line('fifo')}.
Target B ≤ 2×: fair with the lane ${summary.fair.bP99Ratio <= 2 ? 'met' : 'NOT met'}; fair-no-lane (what \`--express-lane auto\` gives a 2-core machine) ${summary['fair-no-lane'].bP99Ratio <= 2 ? 'met' : 'NOT met'}.
`;
await writeResults(`serve-fairness-batch${BATCH}${CAP === undefined ? '' : `-cap${CAP}`}`, md, {
  summary,
  reps,
  environment: environment(),
});
