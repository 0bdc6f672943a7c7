/**
 * Dynamic batching: a small CNN (28×28 input, conv32 → pool → conv64 → pool → dense HIDDEN (default
 * 2048) → dense 10) under 64 concurrent keep-alive clients (autocannon), the same server and model
 * file uploaded twice: `cnn-batched` (max_batch_size 32) and `cnn-single` (max_batch_size 1).
 * Interleaved A B A B ..., REPS runs of SECONDS each; medians with min/max. FORMAT=binary sends the
 * image as a KServe v2 binary tensor and asks for the answer in binary (as Triton's perf_analyzer
 * does by default); the default is JSON both ways. First, the model alone in this process at batch
 * 1 and 32 (no server, no HTTP): the gain that batching this model could give at most here.
 *
 *   node --import tsx bench/serve/batching.ts
 *   FORMAT=binary node --import tsx bench/serve/batching.ts
 */
import { createRequire } from 'node:module';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { cnnModel } from '../../test/helpers/onnx-fixtures';
import { environment, KEY, median, startServer, uploadModel, v2Request, writeResults } from './harness';

/** The subset of autocannon's API used here (it ships no types). */
interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
}
type Autocannon = (
  options: Record<string, unknown>,
  done: (err: Error | null, result: AutocannonResult) => void,
) => unknown;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const SECONDS = Number(process.env.SECONDS_PER_RUN ?? 8);
const REPS = Number(process.env.REPS ?? 5);
const CONNECTIONS = 64;
/** Width of the dense head (see cnnModel); 0 = convolutions + a 10-way dense layer only. */
const HIDDEN = Number(process.env.HIDDEN ?? 2048);
const FORMAT = process.env.FORMAT === 'binary' ? 'binary' : 'json';

interface Run {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

/**
 * Images per second of the model alone in this process (ORT intra-op 2, as the server runs it),
 * `rows` images a run, for `seconds` after a warm-up.
 */
async function modelAlone(session: EngineSession, image: Float32Array, rows: number, seconds: number) {
  const data = new Float32Array(rows * image.length);
  for (let r = 0; r < rows; r++) data.set(image, r * image.length);
  const feed = { x: tensorFrom('float32', [rows, 1, 28, 28], data) };
  for (let i = 0; i < 5; i++) await session.run(feed);
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await session.run(feed);
    runs++;
  }
  return (runs * rows) / ((performance.now() - start) / 1000);
}

/** Batch 32 over batch 1 in-process, `reps` interleaved pairs of 2 s: the ceiling of the ratio. */
async function aloneCeiling(model: Uint8Array, image: Float32Array, reps: number) {
  const session = await EngineSession.create(model);
  try {
    const single: number[] = [];
    const batched: number[] = [];
    for (let r = 0; r < reps; r++) {
      single.push(await modelAlone(session, image, 1, 2));
      batched.push(await modelAlone(session, image, 32, 2));
    }
    return { single: median(single), batched: median(batched), ratio: median(batched) / median(single) };
  } finally {
    await session.release();
  }
}

function load(url: string, request: ReturnType<typeof v2Request>): Promise<Run> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        connections: CONNECTIONS,
        duration: SECONDS,
        headers: { authorization: `Bearer ${KEY}`, ...request.headers },
        body: request.body,
      },
      (err, r) => {
        if (err) reject(err);
        else resolve({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx });
      },
    );
  });
}

async function main(): Promise<void> {
  const server = await startServer(['--queue-size', '1024']);
  try {
    const model = cnnModel(HIDDEN);
    await uploadModel(server.url, 'cnn-batched', model, '?max_batch_size=32');
    await uploadModel(server.url, 'cnn-single', model, '?max_batch_size=1');
    const image = Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255);
    const alone = await aloneCeiling(model, image, 3);
    const body = v2Request([1, 1, 28, 28], image, FORMAT === 'binary');
    const urls = {
      batched: `${server.url}/v2/models/cnn-batched/infer`,
      single: `${server.url}/v2/models/cnn-single/infer`,
    };
    const runs: Record<'batched' | 'single', Run[]> = { batched: [], single: [] };
    for (const kind of ['batched', 'single'] as const) {
      await load(urls[kind], body); // warm-up (loads the model)
    }
    for (let r = 0; r < REPS; r++) {
      for (const kind of ['batched', 'single'] as const) runs[kind].push(await load(urls[kind], body));
    }
    const metrics = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })
    ).text();
    const grab = (m: string, stat: string) =>
      Number(new RegExp(`maas_batch_size_${stat}\\{model="${m}",version="1"\\} (\\S+)`).exec(metrics)?.[1]);
    const meanBatch = grab('cnn-batched', 'sum') / grab('cnn-batched', 'count');
    const s = (kind: 'batched' | 'single', k: keyof Run) => {
      const xs = runs[kind].map((x) => x[k]);
      return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
    };
    const ratio = runs.batched.map((b, i) => b.rps / runs.single[i].rps);
    const result = {
      benchmark: 'serve-batching',
      model: `CNN 1×28×28 → conv3×3(32) → pool → conv3×3(64) → pool → ${HIDDEN ? `dense ${HIDDEN} → ReLU → ` : ''}dense 10, float32`,
      connections: CONNECTIONS,
      format: FORMAT,
      secondsPerRun: SECONDS,
      reps: REPS,
      batched: {
        rps: s('batched', 'rps'),
        p50_ms: s('batched', 'p50'),
        p99_ms: s('batched', 'p99'),
        meanBatchSize: meanBatch,
      },
      single: { rps: s('single', 'rps'), p50_ms: s('single', 'p50'), p99_ms: s('single', 'p99') },
      throughputRatio: { median: median(ratio), min: Math.min(...ratio), max: Math.max(...ratio) },
      modelAlone: alone,
      errors: {
        batched: runs.batched.reduce((n, x) => n + x.non2xx, 0),
        single: runs.single.reduce((n, x) => n + x.non2xx, 0),
      },
      environment: environment(),
    };
    const f = (v: number) => v.toFixed(1);
    const row = (name: string, k: 'batched' | 'single') =>
      `| ${name} | ${f(s(k, 'rps').median)} (${f(s(k, 'rps').min)}–${f(s(k, 'rps').max)}) | ${f(s(k, 'p50').median)} | ${f(s(k, 'p99').median)} |`;
    const md = `# Dynamic batching: small CNN, ${CONNECTIONS} concurrent clients

Model: ${result.model}.

Command: \`${FORMAT === 'binary' ? 'FORMAT=binary ' : ''}node --import tsx bench/serve/batching.ts\` (${FORMAT === 'binary' ? 'KServe v2 binary tensors both ways' : 'JSON bodies both ways'}; autocannon, ${CONNECTIONS} keep-alive connections, ${REPS} interleaved runs × ${SECONDS} s; one server, the same model uploaded with two serving settings; ORT intra-op 2 / inter-op 1; ${result.environment.node}, ${result.environment.cpus} CPUs).

| serving setting | requests/s median (min–max) | p50 ms | p99 ms |
|---|---|---|---|
${row('dynamic batching (max_batch_size 32, max_delay_ms 0)', 'batched')}
${row('no batching (max_batch_size 1)', 'single')}

Throughput ratio batched / single: **${median(ratio).toFixed(2)}×** (min ${Math.min(...ratio).toFixed(2)}, max ${Math.max(...ratio).toFixed(2)}); mean batch size ${meanBatch.toFixed(1)} requests; non-2xx: ${result.errors.batched} / ${result.errors.single}. Target ≥ 5× — ${median(ratio) >= 5 ? 'met' : 'NOT met'}.

The model alone in the benchmark's process, no server (ORT intra-op 2; 3 interleaved pairs of 2 s, medians): batch 1 ${f(alone.single)} images/s, batch 32 ${f(alone.batched)} images/s: **${alone.ratio.toFixed(2)}×**, the most batching this model can gain on this machine (the server's rows also pay HTTP, and share the cores with the load generator).
`;
    await writeResults(FORMAT === 'binary' ? 'serve-batching-binary' : 'serve-batching', md, result);
  } finally {
    await server.stop();
  }
}

await main();
