/**
 * Single-stream generation on a ≈ 110 M-parameter Llama-layout folder (bench/llm/folder.ts):
 * prefill and decode tokens/s, transformers.js in-process vs raw onnxruntime through maas's
 * engine session, with a slot for maas served (bench/llm/contenders.ts).
 *
 *   node --import tsx bench/llm/run.ts [--rounds 5] [--prompt-tokens 128] [--new-tokens 64]
 *        [--only transformers-js,maas-engine,maas-served,transformers-js-q8,maas-engine-q8,
 *                maas-engine-fused,maas-served-unfused,maas-served-nospin,
 *                maas-served-spin-200,maas-served-spin-1000] [--out bench/results]
 *
 * Each contender runs in its own child process, one per round, in rotating order (A B C, B C A,
 * …); the first round is a warm-up and is dropped when there are more than one. Writes
 * `<out>/llm-decode.md` (table + machine) and `llm-decode.json` (every round).
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { closeMachineInfo, machineInfo } from '../lib/machine';
import { pairedRatios, type Summary, summarize } from '../lib/stats';
import type { StreamTiming } from './contenders';
import { BENCH_SHAPE, benchFolder, llamaParams } from './folder';

const LABELS: Record<string, string> = {
  'transformers-js': '@huggingface/transformers 4.3.2 in-process (generate, its KV cache)',
  'maas-engine': 'raw onnxruntime via maas EngineSession (prefill + 1 token/run, KV fed back)',
  'maas-served':
    'maas serve over HTTP (/v1/completions, token-id prompt), the defaults (projections fused, threads spin ≤ 50 µs while running)',
  'maas-engine-fused': 'raw onnxruntime via maas EngineSession, projections fused as maas serves them',
  'maas-served-unfused': 'maas serve over HTTP, --fuse-projections false (the graph as stored)',
  'maas-served-nospin': 'maas serve over HTTP, fused, --intra-op-spin-us 0 (threads sleep between ops)',
  'maas-served-spin-200': 'maas serve over HTTP, fused, --intra-op-spin-us 200',
  'maas-served-spin-1000': 'maas serve over HTTP, fused, --intra-op-spin-us 1000',
  'transformers-js-q8': 'the same, dtype q8 (model_quantized.onnx, int8 weights)',
  'maas-engine-q8': 'the same on model_quantized.onnx (int8 weights)',
};
/** Each row's decode is compared with transformers.js at the same precision. */
const baselineOf = (name: string) => (name.endsWith('-q8') ? 'transformers-js-q8' : 'transformers-js');

type Outcome = StreamTiming | { unsupported: string } | { failed: string };

function flag(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
}

/** One contender, one round: bench/lib/child.ts prints run(args) as the last stdout line. */
function runChild(args: Record<string, string | number>, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/lib/child.ts', 'bench/llm/contenders.ts', JSON.stringify(args)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) resolve({ failed: `exit ${code}: ${stderr.slice(-600)}` });
      else resolve(JSON.parse(last) as Outcome);
    });
  });
}

const fmt = (s: Summary, digits = 1) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const rounds = Number(flag(argv, '--rounds', '5'));
  const promptTokens = Number(flag(argv, '--prompt-tokens', '128'));
  const newTokens = Number(flag(argv, '--new-tokens', '64'));
  const names = flag(argv, '--only', Object.keys(LABELS).join(',')).split(',');
  const out = flag(argv, '--out', join('bench', 'results'));
  for (const n of names) if (!LABELS[n]) throw new Error(`unknown contender '${n}'`);
  await benchFolder((s) => console.error(s));

  const machine = machineInfo();
  const results: Record<string, Outcome[]> = Object.fromEntries(names.map((n) => [n, []]));
  const loads: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const name of order) {
      const unsupported = results[name].find((o) => 'unsupported' in o);
      if (unsupported) continue; // asked once, not again
      const o = await runChild(
        { contender: name, prompt_tokens: promptTokens, new_tokens: newTokens },
        600_000,
      );
      results[name].push(o);
      console.error(`round ${r + 1} ${name}: ${JSON.stringify(o).slice(0, 300)}`);
    }
    loads.push(Number(os.loadavg()[0].toFixed(2)));
  }
  const closed = closeMachineInfo(machine);

  const measured = (name: string) =>
    results[name].filter((o): o is StreamTiming => 'decode_tokens_per_s' in o).slice(rounds > 1 ? 1 : 0);
  const rows = names.map((name) => {
    const m = measured(name);
    const base = names.includes(baselineOf(name)) ? measured(baselineOf(name)) : [];
    const other = results[name].find((o) => !('decode_tokens_per_s' in o));
    if (m.length === 0) {
      const why = !other
        ? 'no run'
        : 'unsupported' in other
          ? other.unsupported
          : 'failed' in other
            ? `FAILED: ${other.failed.slice(0, 120)}`
            : '';
      return `| ${name} | ${LABELS[name]} | – | – | – | ${why.replace(/\|/g, '/').replace(/\n/g, ' ')} |`;
    }
    const prefill = summarize(m.map((t) => t.prefill_tokens_per_s));
    const decode = summarize(m.map((t) => t.decode_tokens_per_s));
    const paired =
      base.length && name !== baselineOf(name)
        ? summarize(
            pairedRatios(
              m.map((t) => t.decode_tokens_per_s),
              base.map((t) => t.decode_tokens_per_s),
            ),
          )
        : null;
    const rss = Math.max(...m.map((t) => t.rss_mb));
    const versus = paired ? `${fmt(paired, 2)}×` : name === baselineOf(name) ? '1 (baseline)' : '–';
    return `| ${name} | ${LABELS[name]} | ${fmt(prefill)} | ${fmt(decode)} | ${versus} | n=${m.length}, RSS ${rss} MB |`;
  });
  const command = `node --import tsx bench/llm/run.ts --rounds ${rounds} --prompt-tokens ${promptTokens} --new-tokens ${newTokens}`;
  const md = [
    '# llm-decode: one stream on a random Llama-layout folder',
    '',
    `Model: ${(llamaParams(BENCH_SHAPE) / 1e6).toFixed(1)} M parameters, float32 (hidden ${BENCH_SHAPE.hidden}, ${BENCH_SHAPE.layers} layers, ${BENCH_SHAPE.heads}/${BENCH_SHAPE.kvHeads} query/key-value heads, SwiGLU ${BENCH_SHAPE.intermediate}, vocab ${BENCH_SHAPE.modelVocab}), built by maas's engine (bench/llm/folder.ts).`,
    `Prompt ${promptTokens} tokens, ${newTokens} new tokens, greedy, batch 1, ORT 2 intra-op / 1 inter-op threads. Prefill tokens/s = prompt tokens ÷ time to the first new token; decode tokens/s = (new tokens − 1) ÷ the time after it. Median (min–max) over ${Math.max(1, rounds - (rounds > 1 ? 1 : 0))} measured round(s)${rounds > 1 ? ' after one warm-up round' : ''}; decode ratio = median of per-round ratios against transformers.js.`,
    '',
    '| row | what | prefill tok/s | decode tok/s | decode vs transformers.js (same precision) | notes |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Command: \`${command}\``,
    '',
    `Machine: ${closed.cpu}, ${closed.logicalCores} cores, ${closed.memoryGiB} GiB, node ${closed.node}; load average at start ${closed.loadAverageStart.join(' ')}, per round ${loads.join(', ')}, at end ${closed.loadAverageEnd?.join(' ')}; ${closed.started} – ${closed.finished}.`,
    '',
  ].join('\n');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'llm-decode.md'), md);
  await writeFile(
    join(out, 'llm-decode.json'),
    `${JSON.stringify({ machine: closed, loads, results }, null, 2)}\n`,
  );
  console.log(md);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
