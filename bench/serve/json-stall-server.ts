/**
 * What a hostile JSON body costs everyone else, on a real listening server: the costliest 32 MiB
 * bodies (MAAS_MAX_JSON_BYTES) are posted to data routes while a separate process asks /readyz
 * every 10 ms; measured with every body parsed on the event loop (before json-threads.ts) and
 * with large bodies parsed in worker threads (now), side by side in one run, with the load
 * average. Reported: the worst and 99th-percentile /readyz latency, the event loop's worst stall
 * (perf_hooks), and how long the poster waited for its answer. Poster and prober are processes of
 * their own, so the server's event loop carries only the server. The first large body also starts
 * the threads (off the loop).
 *
 *   node --import tsx bench/serve/json-stall-server.ts            # each body twice per mode
 *   node --import tsx bench/serve/json-stall-server.ts 1          # once
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { inThreadJsonParser, type JsonParser, JsonThreads } from '../../src/api/json-threads';
import { buildServer } from '../../src/api/server';
import { loadConfig } from '../../src/platform/config';
import { openPlatform } from '../../src/platform/platform';
import { tempDir } from '../../test/helpers/tmp';
import { environment, writeResults } from './harness';

const MiB = 1024 * 1024;
const KEY = 'bench-admin-key-0123456789';
const BYTES = 32 * MiB - 1024;

const integers = (n: number) => `${'0,'.repeat(Math.floor(n / 2) - 1)}0`;

/** The bodies that cost JSON.parse most per byte (json-stall.ts), each on a data route. */
const bodies: { name: string; url: string; make: () => string }[] = [
  {
    name: 'v2 infer: data of 16M integers',
    url: '/v2/models/nope/infer',
    make: () => `{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":[${integers(BYTES - 80)}]}]}`,
  },
  {
    name: 'predict: one row of 16M integers',
    url: '/api/v1/models/nope/predict',
    make: () => `{"inputs":[[${integers(BYTES - 16)}]]}`,
  },
  {
    name: 'predict: 8M short strings',
    url: '/api/v1/models/nope/predict',
    make: () => `{"inputs":[[${'"a",'.repeat(Math.floor((BYTES - 20) / 4))}"a"]]}`,
  },
  {
    name: 'predict: 100,000 {} then integers',
    url: '/api/v1/models/nope/predict',
    make: () => {
      const objects = '{},'.repeat(99_990);
      return `{"inputs":[[${objects}${integers(BYTES - objects.length - 20)}]]}`;
    },
  },
];

/**
 * A separate process that posts one body (a file) `rounds` times, then prints how long the
 * longest took: the client's own work (copying and sending 32 MiB) stays out of the server's loop.
 */
const POSTER = `
const [url, file, rounds, key] = process.argv.slice(1); const body = require('node:fs').readFileSync(file);
(async () => {
  let worst = 0; let status = 0;
  for (let i = 0; i < Number(rounds); i++) {
    const t = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
    status = res.status; worst = Math.max(worst, performance.now() - t);
  }
  process.stdout.write(JSON.stringify({ worst, status }));
})();`;

async function post(url: string, file: string, rounds: number): Promise<{ worst: number; status: number }> {
  const child = spawn(process.execPath, ['-e', POSTER, url, file, String(rounds), KEY], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise<void>((r) => child.once('exit', () => r()));
  return JSON.parse(out) as { worst: number; status: number };
}

/** A separate process that asks /readyz every 10 ms until its stdin closes, then prints latencies. */
const PROBE = `
const url = process.argv[1]; const times = []; let open = true;
process.stdin.on('data', () => {}).on('end', () => { open = false; });
(async () => {
  while (open) {
    const t = performance.now();
    await (await fetch(url + '/readyz')).arrayBuffer();
    times.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 10));
  }
  process.stdout.write(JSON.stringify(times));
})();`;

function startProbe(url: string): { stop(): Promise<number[]> } {
  const child = spawn(process.execPath, ['-e', PROBE, url], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    stop: async () => {
      child.stdin.end();
      await exited;
      return JSON.parse(out) as number[];
    },
  };
}

interface Row {
  mode: string;
  body: string;
  readyzMaxMs: number;
  readyzP99Ms: number;
  loopMaxMs: number;
  postMs: number;
  status: number;
}

async function measure(mode: string, parser: JsonParser, rounds: number): Promise<Row[]> {
  const tmp = await tempDir();
  const config = loadConfig(
    {},
    {},
    { dataDir: tmp.dir, adminKey: KEY, logLevel: 'silent', port: 0, zoo: 'off' },
  );
  const platform = await openPlatform(config);
  const { app } = buildServer(platform, undefined, { jsonParser: parser });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const rows: Row[] = [];
  try {
    for (const body of bodies) {
      const file = join(tmp.dir, 'body.json');
      await writeFile(file, body.make());
      const probe = startProbe(url);
      await new Promise((r) => setTimeout(r, 300));
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const { worst: postMs, status } = await post(url + body.url, file, rounds);
      await new Promise((r) => setTimeout(r, 300));
      loop.disable();
      const times = (await probe.stop()).sort((a, b) => a - b);
      rows.push({
        mode,
        body: body.name,
        readyzMaxMs: times[times.length - 1],
        readyzP99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))],
        loopMaxMs: loop.max / 1e6,
        postMs,
        status,
      });
      process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
    }
  } finally {
    await app.close();
    await platform.close();
    await tmp.remove();
  }
  return rows;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 2);
  const load = [loadavg()[0]];
  const before = await measure('in place', inThreadJsonParser, rounds);
  const after = await measure('worker threads', new JsonThreads(), rounds);
  load.push(loadavg()[0]);
  const ms = (x: number) => x.toFixed(0);
  const lines = bodies.map((b, i) => {
    const [x, y] = [before[i], after[i]];
    return `| ${b.name} | ${ms(x.readyzMaxMs)} / ${ms(y.readyzMaxMs)} | ${(x.readyzMaxMs / y.readyzMaxMs).toFixed(1)}× | ${ms(x.readyzP99Ms)} / ${ms(y.readyzP99Ms)} | ${ms(x.loopMaxMs)} / ${ms(y.loopMaxMs)} | ${ms(x.postMs)} / ${ms(y.postMs)} | ${x.status} / ${y.status} |`;
  });
  const md = [
    '# /readyz while 32 MiB JSON bodies are posted: parsed in place / in worker threads',
    '',
    `Load average (1 min) before / after: ${load.map((l) => l.toFixed(2)).join(' / ')}; ${rounds} posts of each body per mode.`,
    '',
    '| body | /readyz worst ms | ratio | /readyz p99 ms | event-loop worst stall ms | post answered in ms | status |',
    '|---|---|---|---|---|---|---|',
    ...lines,
    '',
  ].join('\n');
  await writeResults('json-stall-server', md, { env: environment(), load, rounds, before, after });
}

await main();
