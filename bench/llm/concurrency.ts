/**
 * Many streams from one served decoder: aggregate decode tokens/s at 1, 4, 8, 16 concurrent
 * streams with continuous batching on (`max_num_seqs` 16) and off (`max_num_seqs` 1: one
 * sequence at a time, the others wait for its slot), and p50/p99 time to first token and
 * inter-token latency at 8 streams, with and without a long prompt arriving meanwhile (chunked
 * prefill: `max_batched_tokens` 256, and unchunked: 4096).
 *
 *   node --import tsx bench/llm/concurrency.ts [--streams 1,4,8,16] [--new-tokens 32]
 *        [--prompt-tokens 64] [--long-prompt 1000] [--hidden 512] [--layers 8] [--vocab N]
 *        [--heads 8] [--kv-heads 4]
 *        [--out bench/results] [--fuse true|false] [--no-latency] [--server-cpu-prof DIR]
 *        [--server-node-args '--max-semi-space-size=64']
 *
 * `--fuse` sets the server's `--fuse-projections` (default true, as maas serves); `--no-latency`
 * skips the latency table; `--server-cpu-prof` writes the server's V8 CPU profiles (its main
 * thread and each worker's, `node --cpu-prof`) into DIR when it stops; `--server-node-args '…'`
 * passes Node/V8 flags to the server (an A/B of, e.g., `--max-semi-space-size=64`).
 *
 * The aggregate rate is end to end (all tokens ÷ first request to last end, the streams' prefills
 * inside). With batching on, each row also gives the steady **decode** rate, as a single stream's
 * decode tokens/s leaves its prefill out: the tokens the server sampled (the count of
 * `maas_llm_inter_token_latency_seconds`, one per token) from the moment the last stream received
 * its first token to the moment the first stream ended, ÷ that time, so all n streams decode
 * throughout it (no prefill, nobody joining or leaving; every stream asks for the same
 * max_tokens with ignore_eos). The JSON also keeps the older estimate, streams ÷ the mean
 * inter-token latency over the whole round, an upper bound when streams join or finish at other
 * times. Each aggregate row also gives the server's CPU time (all its threads,
 * from /proc/<pid>/stat) per generated token: on a loaded machine wall-clock rates drift with the
 * load, CPU per token far less.
 *
 * The model is a random-weight Llama-layout folder (writeRandomLlamaFolder) of the given shape,
 * served by `maas serve` in a child process; each stream is a streamed /v1/completions request
 * with a token-id prompt (greedy). A stream's tokens are its usage.completion_tokens; latencies are
 * the arrival times of its SSE events (an event may hold back bytes of an unfinished character).
 * Writes `<out>/llm-concurrency.md` and `.json`.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderBody } from '../../src/cli/push-folder';
import { writeRandomLlamaFolder } from '../../src/models/language/hf/random';
import { spawnServe } from '../../test/helpers/serve';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const streams = flag('--streams', '1,4,8,16').split(',').map(Number);
const newTokens = Number(flag('--new-tokens', '32'));
const promptTokens = Number(flag('--prompt-tokens', '64'));
const longPrompt = Number(flag('--long-prompt', '1000'));
const shape = {
  hidden: Number(flag('--hidden', '512')),
  layers: Number(flag('--layers', '8')),
  heads: Number(flag('--heads', '8')),
  kvHeads: Number(flag('--kv-heads', '4')),
  intermediate: 2 * Number(flag('--hidden', '512')),
  // Default: the tokenizer's own size, so that every generated id decodes to text (an SSE event).
  modelVocab: flag('--vocab', '') ? Number(flag('--vocab', '')) : undefined,
  context: 2048,
  seed: 7,
};
const outDir = flag('--out', join('bench', 'results'));
const fuse = flag('--fuse', 'true');
const latencyTable = !process.argv.includes('--no-latency');
const serverProfileDir = flag('--server-cpu-prof', '');
const serverNodeArgs = flag('--server-node-args', '').split(' ').filter(Boolean);

/** CPU seconds (user + system, all threads) the process `pid` has used; Linux clock ticks of 10 ms. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const key = 'bench-admin-key-0123456789abcdef';

function ids(length: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return 3 + (s % 300);
  });
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface Stream {
  tokens: number;
  ttftMs: number;
  gapsMs: number[];
  endMs: number;
}

async function stream(
  url: string,
  prompt: number[],
  maxTokens: number,
  t0: number,
  onFirstToken?: () => void,
): Promise<Stream> {
  const start = performance.now();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'bench',
      prompt,
      max_tokens: maxTokens,
      temperature: 0,
      // Every stream generates max_tokens (vLLM's benchmarks do the same): a random model's eos
      // would otherwise end some early.
      ignore_eos: true,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok || !res.body) throw new Error(`completion failed: ${res.status} ${await res.text()}`);
  const times: number[] = [];
  let tokens = 0;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const data = event.replace(/^data: /, '');
      if (data === '[DONE]') continue;
      const body = JSON.parse(data) as { usage?: { completion_tokens: number } | null; choices?: unknown[] };
      if (body.usage) tokens = body.usage.completion_tokens;
      if (body.choices?.length) {
        times.push(performance.now());
        if (times.length === 1) onFirstToken?.();
      }
    }
  }
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  return {
    tokens,
    ttftMs: (times[0] ?? performance.now()) - start,
    gapsMs: gaps,
    endMs: performance.now() - t0,
  };
}

/** Sum and count of the server's inter-token latency histogram for the bench model. */
async function interTokenLatency(url: string): Promise<{ sum: number; count: number }> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  const read = (suffix: string) =>
    text
      .split('\n')
      .filter(
        (l) => l.startsWith(`maas_llm_inter_token_latency_seconds_${suffix}{`) && l.includes('model="bench"'),
      )
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return { sum: read('sum'), count: read('count') };
}

async function serving(url: string, settings: Record<string, number>): Promise<void> {
  const res = await fetch(`${url}/api/v1/models/bench`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ serving: settings }),
  });
  if (!res.ok) throw new Error(`settings failed: ${res.status} ${await res.text()}`);
}

interface Mark {
  ms: number;
  sampled: number;
}

/** Now, and how many tokens the server has sampled for the bench model so far (its ITL count). */
async function mark(url: string): Promise<Mark> {
  const ms = performance.now();
  return { ms, sampled: (await interTokenLatency(url)).count };
}

/**
 * n streams at once: aggregate tokens/s from the first request sent to the last stream's end, and
 * the steady decode rate: tokens the server sampled while all n streams were decoding (from the
 * moment the last stream got its first token to the moment the first stream ended, so no prefill
 * and no stream joining or leaving inside) ÷ that time.
 */
async function round(url: string, n: number) {
  const t0 = performance.now();
  let first = 0;
  let allDecoding: Promise<Mark> | null = null;
  const onFirstToken = () => {
    if (++first === n) allDecoding = mark(url);
  };
  let firstEnded: Promise<Mark> | null = null;
  const all = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const s = await stream(url, ids(promptTokens, 1000 + i), newTokens, t0, onFirstToken);
      firstEnded ??= mark(url);
      return s;
    }),
  );
  const seconds = Math.max(...all.map((s) => s.endMs)) / 1000;
  const tokens = all.reduce((sum, s) => sum + s.tokens, 0);
  const short = all.filter((s) => s.tokens !== newTokens).length;
  if (short > 0) console.error(`warning: ${short} of ${n} streams ended before ${newTokens} tokens`);
  const [from, to] = await Promise.all([allDecoding ?? firstEnded!, firstEnded!]);
  // Without batching the streams take turns (the last one starts after the first ended): there
  // is no window with all n decoding, and no steady rate.
  const steady =
    to.ms > from.ms ? { tokens: to.sampled - from.sampled, seconds: (to.ms - from.ms) / 1000 } : null;
  return { all, seconds, tokens, steady };
}

/** 8 streams, and a long prompt sent once the streams have started (after the first's TTFT). */
async function withLongPrompt(url: string, n: number, long: number) {
  const t0 = performance.now();
  const streamsP = Array.from({ length: n }, (_, i) =>
    stream(url, ids(promptTokens, 2000 + i), newTokens, t0),
  );
  // Give the streams their prefill first: the long prompt arrives while they decode.
  await new Promise((r) => setTimeout(r, 300));
  const longP = stream(url, ids(long, 99), 1, t0);
  const all = await Promise.all(streamsP);
  const longS = await longP;
  return { all, longTtftMs: longS.ttftMs };
}

/** p50/p99 TTFT and inter-token latency at 8 streams, with and without a long prompt arriving. */
async function latencies(url: string, lines: string[], json: Record<string, unknown>) {
  const latency: Record<string, unknown> = {};
  lines.push(
    '| 8 streams, batching on | TTFT p50 (ms) | TTFT p99 (ms) | inter-token p50 (ms) | inter-token p99 (ms) | inter-token max (ms) | long prompt TTFT (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const [label, chunk, long] of [
    ['no long prompt', 256, 0],
    [`a ${longPrompt}-token prompt arrives, chunked (max_batched_tokens 256)`, 256, longPrompt],
    [`a ${longPrompt}-token prompt arrives, unchunked (max_batched_tokens 4096)`, 4096, longPrompt],
  ] as const) {
    await serving(url, { max_num_seqs: 16, max_batched_tokens: chunk });
    const r = long ? await withLongPrompt(url, 8, long) : { ...(await round(url, 8)), longTtftMs: NaN };
    const ttft = r.all.map((s) => s.ttftMs);
    const gaps = r.all.flatMap((s) => s.gapsMs);
    const row = {
      ttftP50: percentile(ttft, 50),
      ttftP99: percentile(ttft, 99),
      itlP50: percentile(gaps, 50),
      itlP99: percentile(gaps, 99),
      // The stall a long prompt causes hits each stream once: with many tokens per stream it can
      // sit above the 99th percentile, so the longest gap is reported too.
      itlMax: Math.max(...gaps),
      longTtft: r.longTtftMs,
    };
    latency[label] = row;
    lines.push(
      `| ${label} | ${row.ttftP50.toFixed(0)} | ${row.ttftP99.toFixed(0)} | ${row.itlP50.toFixed(1)} | ${row.itlP99.toFixed(1)} | ${row.itlMax.toFixed(1)} | ${Number.isNaN(row.longTtft) ? '–' : row.longTtft.toFixed(0)} |`,
    );
    console.error(label, JSON.stringify(row));
  }
  json.latency = latency;
}

async function main() {
  const root = await mkdtemp(join(tmpdir(), 'maas-bench-conc-'));
  const dataDir = join(root, 'data');
  await mkdir(dataDir);
  const folder = join(root, 'model');
  await writeRandomLlamaFolder(folder, shape);
  const server = await spawnServe({
    dataDir,
    adminKey: key,
    flags: [
      '--intra-op-threads',
      '2',
      '--max-upload-bytes',
      String(2 * 1024 ** 3),
      '--fuse-projections',
      fuse,
    ],
    // Without batching, the 16th stream waits for 15 others to finish (≈ 35 s at 128 tokens each):
    // longer than the default 30 s request deadline, which would cut it off.
    env: {
      MAAS_VALIDATE_TIMEOUT_MS: '600000',
      MAAS_VALIDATE_MEMORY_MB: '4096',
      MAAS_REQUEST_TIMEOUT_MS: '300000',
    },
    nodeArgs: [
      ...(serverProfileDir ? ['--cpu-prof', '--cpu-prof-dir', serverProfileDir] : []),
      ...serverNodeArgs,
    ],
  });
  const lines: string[] = [];
  const json: Record<string, unknown> = { shape, newTokens, promptTokens, longPrompt, fuse };
  const pid = server.child.pid!;
  try {
    const body = await folderBody(folder, undefined);
    const pushed = await fetch(`${server.url}/api/v1/models/bench/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-tar' },
      body,
      duplex: 'half',
    } as RequestInit);
    if (!pushed.ok) throw new Error(`push failed: ${pushed.status} ${await pushed.text()}`);
    await stream(server.url, ids(8, 1), 4, performance.now()); // loads the session
    await round(server.url, Math.max(...streams)); // warm-up: ORT's first runs of each shape are slow
    const rows: Record<string, Record<number, number>> = { on: {}, off: {} };
    const decodeOn: Record<number, number> = {};
    const itlDecodeOn: Record<number, number> = {};
    // The streams' client (this process) shares the machine's cores with the server.
    const clientCpuPerToken: Record<string, Record<number, number>> = { on: {}, off: {} };
    const cpuPerToken: Record<string, Record<number, number>> = { on: {}, off: {} };
    // Interleaved (off, on at each count) so that the machine's drifting load hits both alike.
    for (const n of streams) {
      for (const [mode, seqs] of [
        ['off', 1],
        ['on', 16],
      ] as const) {
        await serving(server.url, { max_num_seqs: seqs, max_batched_tokens: 256 });
        const itl0 = mode === 'on' ? await interTokenLatency(server.url) : null;
        const cpu0 = cpuSeconds(pid);
        const client0 = process.cpuUsage();
        const r = await round(server.url, n);
        const client = process.cpuUsage(client0);
        cpuPerToken[mode][n] = ((cpuSeconds(pid) - cpu0) * 1000) / r.tokens;
        clientCpuPerToken[mode][n] = (client.user + client.system) / 1000 / r.tokens;
        rows[mode][n] = r.tokens / r.seconds;
        if (itl0) {
          const itl1 = await interTokenLatency(server.url);
          itlDecodeOn[n] = (n * (itl1.count - itl0.count)) / (itl1.sum - itl0.sum);
          if (!r.steady) throw new Error(`no moment with all ${n} streams decoding: use more --new-tokens`);
          decodeOn[n] = r.steady.tokens / r.steady.seconds;
        }
        const decode =
          mode === 'on'
            ? `, decode ${decodeOn[n].toFixed(1)} tok/s (${r.steady!.tokens} tokens in ${r.steady!.seconds.toFixed(2)} s with all ${n} decoding; from the mean ITL ${itlDecodeOn[n].toFixed(1)})`
            : '';
        console.error(
          `${mode} ${n} streams: ${(r.tokens / r.seconds).toFixed(1)} tok/s (${r.tokens} tokens)${decode}, server CPU ${cpuPerToken[mode][n].toFixed(1)} ms/token, client CPU ${clientCpuPerToken[mode][n].toFixed(2)} ms/token, load ${os.loadavg()[0].toFixed(1)}`,
        );
      }
    }
    json.aggregate = rows;
    json.decodeOn = decodeOn;
    json.itlDecodeOn = itlDecodeOn;
    json.clientCpuMsPerToken = clientCpuPerToken;
    json.cpuMsPerToken = cpuPerToken;
    const one = rows.on[1];
    lines.push(
      '| concurrent streams | batching on, decode (tok/s) | × one stream | batching on, end to end (tok/s) | × one stream | server CPU ms/token, on | batching off, end to end (tok/s) | on / off | server CPU ms/token, off |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...streams.map(
        (n) =>
          `| ${n} | ${decodeOn[n].toFixed(1)} | ${(decodeOn[n] / decodeOn[1]).toFixed(2)}× | ${rows.on[n].toFixed(1)} | ${(rows.on[n] / one).toFixed(2)}× | ${cpuPerToken.on[n].toFixed(1)} | ${rows.off[n].toFixed(1)} | ${(rows.on[n] / rows.off[n]).toFixed(2)}× | ${cpuPerToken.off[n].toFixed(1)} |`,
      ),
      '',
    );
    if (latencyTable) await latencies(server.url, lines, json);
  } finally {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
  const vocab = shape.modelVocab ?? 384;
  const params =
    2 * vocab * shape.hidden +
    shape.layers *
      // q and o are hidden²; k and v hidden × (hidden · kvHeads / heads)
      (2 * shape.hidden * shape.hidden +
        (2 * shape.hidden * shape.hidden * shape.kvHeads) / shape.heads +
        3 * shape.hidden * shape.intermediate);
  const header = [
    `Random Llama-layout decoder, hidden ${shape.hidden}, ${shape.layers} layers, ${shape.heads} query / ${shape.kvHeads} key-value heads, MLP ${shape.intermediate}, vocab ${shape.modelVocab ?? 'of its tokenizer (≈ 384)'} (≈ ${(params / 1e6).toFixed(0)} M parameters), ${promptTokens}-token prompts, ${newTokens} new tokens per stream, greedy.`,
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end.`,
    '',
  ];
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'llm-concurrency.md'), `${[...header, ...lines].join('\n')}\n`);
  await writeFile(join(outDir, 'llm-concurrency.json'), `${JSON.stringify(json, null, 2)}\n`);
  console.log([...header, ...lines].join('\n'));
}

await main();
