/**
 * CPU per generated token on the API thread: `Generator.step` (penalties, argmax or a draw over
 * the whole vocabulary, the token's log probability, incremental detokenisation with the folder's
 * own tokenizer) fed 32,000-entry logits, greedy and sampled.
 *
 *   node --import tsx bench/llm/sampling-cost.ts
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
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
  for (const temperature of [0, 1]) {
    const gen = new Generator({ maxTokens: 4000, temperature, endTokens: [] }, (ids) =>
      assets.tokenizer.decode(ids),
    );
    for (let i = 0; i < 200; i++) gen.step(logits[i % 64]);
    const n = 2000;
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) gen.step(logits[i % 64]);
    const c = process.cpuUsage(c0);
    console.log(
      `temperature ${temperature}: ${((c.user + c.system) / 1000 / n).toFixed(3)} CPU ms per token (load ${os.loadavg()[0].toFixed(2)})`,
    );
  }
}

void main();
