/**
 * CPU per generated token on the API thread: `Generator.step` (penalties, argmax or a draw over
 * the whole vocabulary, the token's log probability, incremental detokenisation with the folder's
 * own tokenizer) fed 32,000-entry logits, greedy and sampled, each with and without reading the
 * token's log probability (computed lazily: only a request with `logprobs` reads it).
 *
 *   node --import tsx bench/llm/sampling-cost.ts
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { int64Ones, tensorFrom } from '../../src/engine/runtime/tensor';
import { Generator } from '../../src/models/common/generator';
import { loadTextAssets } from '../../src/models/hf/assets';
import { BENCH_SHAPE, benchFolder } from './folder';

async function main() {
  const dir = await benchFolder((m) => console.error(m));
  const assets = await loadTextAssets(async (p) => {
    try {
      return new Uint8Array(await readFile(join(dir, p)));
    } catch {
      return null;
    }
  });
  const v = BENCH_SHAPE.modelVocab;
  const logits = Array.from({ length: 64 }, (_, k) =>
    Float32Array.from({ length: v }, (_, i) => Math.sin(i * 7.1 + k)),
  );
  // Each way in turn, 5 rounds; `+ logprob read`: the token's log probability is read each step,
  // as a request with `logprobs` does (and as every step paid for before it was made lazy).
  const ways = [0, 1].flatMap((temperature) => [
    { temperature, readLogprob: false },
    { temperature, readLogprob: true },
  ]);
  const ms = ways.map(() => [] as number[]);
  const n = 1000;
  for (let round = 0; round < 5; round++) {
    for (const [w, way] of ways.entries()) {
      const gen = new Generator({ maxTokens: 4000, temperature: way.temperature, endTokens: [] }, (ids) =>
        assets.tokenizer.decode(ids),
      );
      let sink = 0;
      for (let i = 0; i < 100; i++) gen.step(logits[i % 64]);
      const c0 = process.cpuUsage();
      for (let i = 0; i < n; i++) {
        const step = gen.step(logits[i % 64]);
        if (way.readLogprob) sink += step.logprob;
      }
      const c = process.cpuUsage(c0);
      if (Number.isNaN(sink)) console.error('NaN log probability');
      ms[w].push((c.user + c.system) / 1000 / n);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [w, way] of ways.entries()) {
    console.log(
      `temperature ${way.temperature}${way.readLogprob ? ' + logprob read' : ''}: ${median(ms[w]).toFixed(3)} CPU ms per token, median of 5 (${ms[w].map((x) => x.toFixed(3)).join(' ')})`,
    );
  }
  // The attention mask a decoder builds per token (and the batch step again in the model thread):
  // number array through tensorFrom (one BigInt per position) against a native fill.
  for (const positions of [128, 2048]) {
    const mask = { tensorFrom: [] as number[], int64Ones: [] as number[] };
    for (let round = 0; round < 5; round++) {
      let c0 = process.cpuUsage();
      for (let i = 0; i < 500; i++) tensorFrom('int64', [1, positions], new Array(positions).fill(1));
      let c = process.cpuUsage(c0);
      mask.tensorFrom.push((c.user + c.system) / 1000 / 500);
      c0 = process.cpuUsage();
      for (let i = 0; i < 500; i++) int64Ones([1, positions]);
      c = process.cpuUsage(c0);
      mask.int64Ones.push((c.user + c.system) / 1000 / 500);
    }
    console.log(
      `attention mask of ${positions} positions: tensorFrom ${median(mask.tensorFrom).toFixed(3)} ms, int64Ones ${median(mask.int64Ones).toFixed(3)} ms (CPU, median of 5)`,
    );
  }
  console.log(
    `load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

void main();
