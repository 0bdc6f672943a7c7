/**
 * Shared pieces of the serving benchmarks: start `maas serve` as a child process (so client and
 * server do not share an event loop), upload a model, summarise samples, write results.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServe } from '../../test/helpers/serve';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const KEY = 'bench-admin-key-0123456789';

export interface BenchServer {
  url: string;
  stop(): Promise<void>;
}

/** The server the benchmarks run: the built one users start (`BENCH_SERVER_ENTRY=source`: src/ through tsx). */
const ENTRY = process.env.BENCH_SERVER_ENTRY === 'source' ? 'source' : 'built';
let built = false;

/** Builds dist/ from this checkout's sources, once per benchmark process (≈ 1 s), so it is current. */
function buildOnce(): void {
  if (built || ENTRY !== 'built') return;
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { cwd: ROOT, stdio: 'ignore' });
  built = true;
}

/** Starts `maas serve` on a fresh temp data folder, or on `prepared` when given (a folder prepared
 * with models already registered); either folder is removed by stop(). */
export async function startServer(extraFlags: string[] = [], prepared?: string): Promise<BenchServer> {
  const dataDir = prepared ?? (await mkdtemp(join(tmpdir(), 'maas-bench-')));
  buildOnce();
  // The zoo's background training stays off: it would compete with what is measured.
  // BENCH_SERVER_NODE_ARGS: more Node flags for the server (after the usual ones), for A/B runs.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = await spawnServe({
    dataDir,
    adminKey: KEY,
    flags: extraFlags,
    zoo: 'off',
    nodeArgs,
    entry: ENTRY,
  });
  return {
    url: server.url,
    stop: async () => {
      await server.stop('SIGTERM');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function uploadModel(url: string, name: string, bytes: Uint8Array, query = ''): Promise<void> {
  const res = await fetch(`${url}/api/v1/models/${name}/versions${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (res.status !== 201) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
}

/** A KServe v2 request for one FP32 input `x`, with its headers. `binary`: a JSON header with
 * `binary_data_size`, then the raw values, and the answer asked for in binary too (the binary
 * tensor extension, as Triton's perf_analyzer sends it by default); otherwise JSON both ways. */
export function v2Request(
  shape: number[],
  values: Float32Array,
  binary: boolean,
): { body: Buffer; headers: Record<string, string> } {
  const input = { name: 'x', shape, datatype: 'FP32' };
  if (!binary) {
    const json = JSON.stringify({ inputs: [{ ...input, data: [...values] }] });
    return { body: Buffer.from(json), headers: { 'content-type': 'application/json' } };
  }
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ ...input, parameters: { binary_data_size: values.byteLength } }],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    body: Buffer.concat([header, Buffer.from(values.buffer, values.byteOffset, values.byteLength)]),
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const median = (xs: readonly number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

export function environment(): Record<string, string | number> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    /** `built`: dist/maas.js, as `npm start` runs it; `source`: src/ through tsx. */
    server: ENTRY,
    date: new Date().toISOString(),
  };
}

export async function writeResults(name: string, markdown: string, json: unknown): Promise<void> {
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.md`), markdown);
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`${markdown}\nwrote bench/results/${name}.md and .json\n`);
}
