/**
 * A/B of MAAS_INTRA_OP_SPIN_US on the served path: two `maas serve` processes side by side, one
 * with the intra-op threads sleeping between ops (`--intra-op-spin-us 0`) and one
 * spinning up to N µs while a run is in progress, the same random Llama-layout folder pushed to
 * both. Single-stream greedy /v1/completions requests go to each in turn (A B, B A, …), so a load
 * change on a shared machine hits both alike. Per request: the server's CPU time, all its threads
 * (from /proc/<pid>/stat, 10 ms ticks), and wall time, each per generated token (the prompt's
 * prefill included). Both must answer the same text.
 *
 *   node --import tsx bench/llm/served-spin-ab.ts [--spin-us 20] [--rounds 6] [--new-tokens 48]
 *        [--prompt-tokens 64] [--hidden 768] [--layers 8]
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderBody } from '../../src/cli/push-folder';
import { writeRandomLlamaFolder } from '../../src/models/language/hf/random';
import { type ServeProcess, spawnServe } from '../../test/helpers/serve';
import { promptIds } from './contenders';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const spinUs = flag('--spin-us', 20);
const rounds = flag('--rounds', 6);
const newTokens = flag('--new-tokens', 48);
const promptTokens = flag('--prompt-tokens', 64);
const hidden = flag('--hidden', 768);
const shape = {
  hidden,
  layers: flag('--layers', 8),
  heads: 12,
  kvHeads: 4,
  intermediate: 2 * hidden,
  modelVocab: 32_000,
  context: 2048,
  seed: 11,
};
const key = 'bench-admin-key-0123456789abcdef';

/** CPU seconds (user + system, all threads) of process `pid`. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function start(root: string, name: string, spin: number, folder: string): Promise<ServeProcess> {
  const dataDir = join(root, name);
  await mkdir(dataDir);
  const server = await spawnServe({
    dataDir,
    adminKey: key,
    flags: [
      '--intra-op-threads',
      '2',
      '--max-upload-bytes',
      String(2 * 1024 ** 3),
      '--intra-op-spin-us',
      String(spin),
    ],
    env: { MAAS_VALIDATE_TIMEOUT_MS: '600000', MAAS_VALIDATE_MEMORY_MB: '4096' },
  });
  const pushed = await fetch(`${server.url}/api/v1/models/bench/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-tar' },
    body: await folderBody(folder, undefined),
    duplex: 'half',
  } as RequestInit);
  if (!pushed.ok) throw new Error(`push failed: ${pushed.status} ${await pushed.text()}`);
  return server;
}

async function complete(url: string, prompt: number[], maxTokens: number) {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bench', prompt, max_tokens: maxTokens, temperature: 0 }),
  });
  const out = (await res.json()) as { choices?: { text: string }[]; usage?: { completion_tokens: number } };
  if (!res.ok || !out.usage || !out.choices)
    throw new Error(`completion failed: ${JSON.stringify(out).slice(0, 300)}`);
  return { text: out.choices[0].text, tokens: out.usage.completion_tokens };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const root = await mkdtemp(join(tmpdir(), 'maas-bench-spin-'));
  const folder = join(root, 'model');
  await writeRandomLlamaFolder(folder, shape);
  const servers: Record<string, ServeProcess> = {};
  try {
    servers.sleep = await start(root, 'sleep', 0, folder);
    servers[`spin-${spinUs}`] = await start(root, 'spin', spinUs, folder);
    const names = Object.keys(servers);
    const prompt = promptIds(promptTokens);
    for (const name of names) await complete(servers[name].url, prompt, 4); // loads the session
    const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const wall: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const texts = new Set<string>();
    for (let r = 0; r < rounds; r++) {
      for (const name of r % 2 === 0 ? names : [...names].reverse()) {
        const pid = servers[name].child.pid!;
        const c0 = cpuSeconds(pid);
        const t0 = performance.now();
        const out = await complete(servers[name].url, prompt, newTokens);
        wall[name].push((performance.now() - t0) / out.tokens);
        cpu[name].push(((cpuSeconds(pid) - c0) * 1000) / out.tokens);
        texts.add(out.text);
      }
      console.error(`round ${r + 1}: load ${os.loadavg()[0].toFixed(2)}`);
    }
    for (const name of names) {
      console.log(
        `${name.padEnd(9)} server CPU ms/token median ${median(cpu[name]).toFixed(1)} (${cpu[name].map((x) => x.toFixed(1)).join(' ')}); wall ms/token median ${median(wall[name]).toFixed(1)} (${wall[name].map((x) => x.toFixed(1)).join(' ')})`,
      );
    }
    const [a, b] = names;
    const ratio = (xs: number[], ys: number[]) => median(xs.map((x, i) => ys[i] / x));
    console.log(
      `${b} / ${a}, median of per-round ratios: CPU ${ratio(cpu[a], cpu[b]).toFixed(2)}×, wall ${ratio(wall[a], wall[b]).toFixed(2)}×; same text: ${texts.size === 1}; load ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    for (const s of Object.values(servers)) await s.stop();
    await rm(root, { recursive: true, force: true });
  }
}

void main();
