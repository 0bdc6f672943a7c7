/**
 * Server overhead: batch-1 latency of a small MLP (64→256→256→10) over HTTP (KServe v2 JSON,
 * keep-alive, one request at a time) vs the same model run in-process by ONNX Runtime, and vs the
 * floor: a bare fastify server running the same model in its thread (floor-server.ts), the part of
 * a request's time that is HTTP over loopback on this machine.
 * Interleaved A B C, 5 repetitions of N requests after a warm-up; medians of the per-rep p50/p99.
 *
 *   node --import tsx bench/serve/latency.ts
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { mlpModel } from '../../test/helpers/onnx-fixtures';
import { environment, KEY, median, percentile, startServer, uploadModel, writeResults } from './harness';

const N = Number(process.env.N ?? 1000);
const REPS = 5;

/** The floor server in a child process (as maas's server is), and its stop. */
async function startFloor(): Promise<{ url: string; stop: () => void }> {
  const child = fork(fileURLToPath(new URL('./floor-server.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve(Number(m)));
    child.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/v2/models/mlp/infer`, stop: () => child.kill() };
}

function post(agent: Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${KEY}`,
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

async function main(): Promise<void> {
  const model = mlpModel();
  const server = await startServer();
  let floor: { url: string; stop: () => void } | null = null;
  try {
    floor = await startFloor();
    const floorUrl = floor.url;
    await uploadModel(server.url, 'mlp', model);
    const x = Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 64], datatype: 'FP32', data: x }] });
    const url = `${server.url}/v2/models/mlp/infer`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const session = await EngineSession.create(model);
    const feed = { x: tensorFrom('float32', [1, 64], x) };

    const floorAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const http = async (target = url, via = agent) => {
      const t: number[] = [];
      for (let i = 0; i < N; i++) {
        const s = performance.now();
        const status = await post(via, target, body);
        t.push(performance.now() - s);
        if (status !== 200) throw new Error(`status ${status}`);
      }
      return t.sort((a, b) => a - b);
    };
    const raw = async () => {
      const t: number[] = [];
      for (let i = 0; i < N; i++) {
        const s = performance.now();
        await session.run(feed);
        t.push(performance.now() - s);
      }
      return t.sort((a, b) => a - b);
    };
    const bare = () => http(floorUrl, floorAgent);
    await http();
    await bare();
    await raw();
    const reps: { http: [number, number]; floor: [number, number]; raw: [number, number] }[] = [];
    for (let r = 0; r < REPS; r++) {
      const h = await http();
      const b = await bare();
      const o = await raw();
      reps.push({
        http: [percentile(h, 50), percentile(h, 99)],
        floor: [percentile(b, 50), percentile(b, 99)],
        raw: [percentile(o, 50), percentile(o, 99)],
      });
    }
    const metrics = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })
    ).text();
    const grab = (what: string) =>
      Number(
        new RegExp(
          `maas_request_duration_seconds_${what}\\{[^}]*route="/v2/models/:name/infer",status="200"\\} (\\S+)`,
        ).exec(metrics)?.[1],
      );
    const serverMeanMs = (grab('sum') / grab('count')) * 1000;
    const p50http = median(reps.map((r) => r.http[0]));
    const p50raw = median(reps.map((r) => r.raw[0]));
    const p99http = median(reps.map((r) => r.http[1]));
    const p99raw = median(reps.map((r) => r.raw[1]));
    const added = reps.map((r) => r.http[0] - r.raw[0]);
    const p50floor = median(reps.map((r) => r.floor[0]));
    const p99floor = median(reps.map((r) => r.floor[1]));
    const overFloor = reps.map((r) => r.http[0] - r.floor[0]);
    const result = {
      benchmark: 'serve-latency',
      model: 'MLP 64→256→256→10, float32, batch 1',
      requestsPerRep: N,
      reps: REPS,
      threads: { intraOp: 2, interOp: 1 },
      p50_ms: {
        http: p50http,
        floor: p50floor,
        overFloor: median(overFloor),
        raw: p50raw,
        added: median(added),
        addedMin: Math.min(...added),
        addedMax: Math.max(...added),
      },
      p99_ms: { http: p99http, floor: p99floor, raw: p99raw },
      serverHandlingMeanMs: serverMeanMs,
      perRep: reps,
      environment: environment(),
    };
    const f = (v: number) => v.toFixed(3);
    const md = `# Serving overhead: batch-1 MLP latency, HTTP vs raw ONNX Runtime

Command: \`node --import tsx bench/serve/latency.ts\` (${REPS} interleaved repetitions × ${N} sequential requests, keep-alive, KServe v2 JSON; ORT intra-op 2 / inter-op 1; ${result.environment.node}, ${result.environment.cpus} CPUs).

| path | p50 ms | p99 ms |
|---|---|---|
| HTTP \`POST /v2/models/mlp/infer\` (client in another process) | ${f(p50http)} | ${f(p99http)} |
| floor: bare fastify running the model in its thread (\`bench/serve/floor-server.ts\`, same client) | ${f(p50floor)} | ${f(p99floor)} |
| raw \`EngineSession.run\` in-process | ${f(p50raw)} | ${f(p99raw)} |
| **added by the server at p50** (HTTP − raw) | **${f(median(added))}** (min ${f(Math.min(...added))}, max ${f(Math.max(...added))}) | |
| what the floor adds at p50 (floor − raw): HTTP over loopback here | ${f(p50floor - p50raw)} | |
| **maas over the floor at p50** (HTTP − floor) | **${f(median(overFloor))}** (min ${f(Math.min(...overFloor))}, max ${f(Math.max(...overFloor))}) | |

Mean time inside the server per request (fastify's reply.elapsedTime, from /metrics): ${f(serverMeanMs)} ms (a mean, so it carries the slow tail that p99 shows: the machine is shared by other jobs).

Target: ≤ 0.3 ms added at p50 — ${median(added) <= 0.3 ? 'met' : 'NOT met'}.
`;
    await writeResults('serve-latency', md, result);
    await session.release();
    agent.destroy();
    floorAgent.destroy();
  } finally {
    floor?.stop();
    await server.stop();
  }
}

await main();
